"""Lazy sliding windows over a [T, C] array (in memory or memory-mapped).

A window is two views into the array — no copy per window — so a
10-million-point series costs its own memory once, whatever the window count.
Every window is produced: ``len`` is the exact count, nothing is dropped (the
``drop_last=True`` test loaders of some reference code skipped up to batch-1
windows; evaluation here must use ``drop_last=False``, which is the default of
``torch.utils.data.DataLoader``).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from tsalign.components.data.splits import window_count

__all__ = [
    "RetrievalWindowDataset",
    "TextWindowDataset",
    "WindowDataset",
    "capped_indices",
    "validation_windows",
    "window_count",
    "with_texts",
]


def capped_indices(n: int, cap: int | None) -> list[int]:
    """``cap`` evenly spaced indices out of ``n`` (all when cap is None or >= n).

    Evenly spaced rather than the first ``cap`` so a small budget still sees
    every season of the split.
    """
    if cap is None or cap >= n:
        return list(range(n))
    return np.linspace(0, n - 1, cap).round().astype(int).tolist()


def validation_windows(
    val: np.ndarray,
    seq_len: int,
    horizon: int,
    cap: int | None,
    text: tuple[np.ndarray, np.ndarray] | None = None,
    neighbours: np.ndarray | None = None,
) -> Subset:
    """The validation windows every candidate is scored on (``train.max_val_windows``).

    One definition for training's early stopping, the choice between candidates and the
    champion gate, so the validation scores they compare are over the same windows.

    Args:
        val: the standardised validation split [T_val, C] (starts seq_len before its border).
        seq_len, horizon: the window protocol.
        cap: evenly spaced windows kept; all when None.
        text: (embeddings, per-window rows) to yield each window's text tokens with it
            (:class:`TextWindowDataset`); None for numbers only.
        neighbours: [W, C, k] indexed training windows each window retrieves
            (:class:`RetrievalWindowDataset`); None for numbers only.
    """
    windows: Dataset = WindowDataset(val, seq_len, horizon, 1)
    if text is not None:
        windows = TextWindowDataset(windows, *text)
    elif neighbours is not None:
        windows = RetrievalWindowDataset(windows, neighbours)
    return Subset(windows, capped_indices(len(windows), cap))


class WindowDataset(Dataset):
    """Sliding (x, y) windows over ``array`` [T, C].

    Multivariate mode yields ``x`` [seq_len, C] and ``y`` [horizon, C]; channel-
    independent mode treats each channel as its own sample (``len`` = windows x C,
    channel-major like the reference code) and yields [seq_len, 1] / [horizon, 1].

    Args:
        array: float32 array [T, C] (np.ndarray or np.memmap); other dtypes are
            converted once up front.
        seq_len: input length L.
        horizon: target length H (the H steps right after the input).
        stride: step between window starts.
        channel_independent: one sample per (channel, window).
    """

    def __init__(
        self,
        array: np.ndarray,
        seq_len: int,
        horizon: int,
        stride: int = 1,
        channel_independent: bool = False,
    ) -> None:
        if array.ndim != 2:
            raise ValueError(f"array must be [time, channels], got shape {array.shape}")
        if array.dtype != np.float32:
            array = np.ascontiguousarray(array, dtype=np.float32)
        self.array = array
        self.seq_len, self.horizon, self.stride = seq_len, horizon, stride
        self.channel_independent = channel_independent
        self.n_windows = window_count(len(array), seq_len, horizon, stride)
        self.n_channels = array.shape[1]

    def __len__(self) -> int:
        return self.n_windows * (self.n_channels if self.channel_independent else 1)

    def _tensor(self, view: np.ndarray) -> torch.Tensor:
        if view.flags.writeable:
            return torch.from_numpy(view)
        # Read-only memmap: torch shares the memory but warns it could be written;
        # windows are never written to, so the warning is noise here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return torch.from_numpy(view)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(f"window {index} out of range for {size} windows")
        if self.channel_independent:
            channel, w = divmod(index, self.n_windows)
            cols = slice(channel, channel + 1)
        else:
            w, cols = index, slice(None)
        start = w * self.stride
        mid = start + self.seq_len
        x = self.array[start:mid, cols]  # [seq_len, C or 1] view
        y = self.array[mid : mid + self.horizon, cols]  # [horizon, C or 1] view
        return self._tensor(x), self._tensor(y)


class TextWindowDataset(Dataset):
    """The windows of ``windows`` with the text each may see: ``(x, y, text, text_mask)``.

    ``text`` [K, E] holds the embeddings of the window's last K aligned texts (zeros for
    padding) and ``text_mask`` [K] marks the real ones. Only arrays travel: the embeddings
    of the distinct texts (computed once, :class:`TextEmbeddingCache`) and each window's
    rows of them (:func:`tsalign.components.data.align.window_text_index`), never the texts.

    Args:
        windows: the numeric windows (multivariate or channel-independent).
        vectors: one embedding per text-table row, [N, E].
        index: [W, K] rows of ``vectors`` per window, ``-1`` padding; W = ``windows.n_windows``.
    """

    def __init__(self, windows: WindowDataset, vectors: np.ndarray, index: np.ndarray) -> None:
        if index.ndim != 2 or len(index) != windows.n_windows:
            raise ValueError(
                f"text index must be [windows={windows.n_windows}, K], got shape {index.shape}"
            )
        if vectors.ndim != 2 or (index.size and index.max() >= len(vectors)):
            raise ValueError(
                f"text index names row {index.max()} of {len(vectors)} embeddings [N, E]"
            )
        self.windows = windows
        self.vectors = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
        self.index = torch.from_numpy(np.asarray(index, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(
        self, index: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        x, y = self.windows[index]
        w = (index % len(self)) % self.windows.n_windows  # channel-major in CI mode
        rows = self.index[w]
        mask = rows >= 0
        text = self.vectors[rows.clamp(min=0)] * mask.unsqueeze(-1)
        return x, y, text, mask


class RetrievalWindowDataset(Dataset):
    """The windows of ``windows`` with the training windows each retrieves: ``(x, y, ids)``.

    ``ids`` [C, k] are rows of the retrieval index
    (:mod:`tsalign.components.data.retrieval_index`), computed once per data version.

    Args:
        windows: the numeric windows (multivariate).
        neighbours: [W, C, k] per window, ``-1`` for windows that were not searched for.
    """

    def __init__(self, windows: WindowDataset, neighbours: np.ndarray) -> None:
        if neighbours.ndim != 3 or len(neighbours) != windows.n_windows:
            raise ValueError(
                f"neighbours must be [windows={windows.n_windows}, C, k], got {neighbours.shape}"
            )
        self.windows = windows
        self.neighbours = torch.from_numpy(np.asarray(neighbours, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, y = self.windows[index]
        ids = self.neighbours[index]
        if (ids < 0).any():
            raise IndexError(
                f"window {index} has no neighbours in the retrieval index (outside the "
                "train.max_*_windows it was built for); rebuild the index"
            )
        return x, y, ids


def with_texts(windows: Dataset, vectors: np.ndarray, index: np.ndarray) -> Dataset:
    """The same windows (a :class:`WindowDataset` or a ``Subset`` of one), each with its text."""
    if isinstance(windows, Subset):
        return Subset(TextWindowDataset(windows.dataset, vectors, index), windows.indices)
    return TextWindowDataset(windows, vectors, index)
