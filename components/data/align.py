"""Which texts a forecast window may see: only those that ended before its forecast starts.

A window whose forecast starts at time t (its origin) sees a text only when the text's
end time plus ``lag`` is strictly before t. A text ending at t or later can describe the
values being forecast, so taking "the text at the first forecast step" (as MM-TSFlib
does) leaks the future; this never does. Of the texts that qualify, a window keeps the
``last`` k (by end time) and/or those that ended ``within`` a span before t.

Because the canonical text table is sorted by end time, each window's texts are one
contiguous slice ``[lo, hi)`` of it, found by binary search: no per-window copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tsalign.components.config import TextConfig
from tsalign.components.data.splits import window_count


@dataclass(frozen=True)
class TextWindows:
    """Per window, the slice ``[lo[i], hi[i])`` of the end-sorted text table it may see."""

    lo: np.ndarray  # [W] int64
    hi: np.ndarray  # [W] int64

    def counts(self) -> np.ndarray:
        """Texts per window, [W]."""
        return self.hi - self.lo

    def rows(self, window: int) -> slice:
        """The text-table rows window ``window`` sees."""
        return slice(int(self.lo[window]), int(self.hi[window]))


def window_origins(
    timestamps: np.ndarray, seq_len: int, horizon: int, stride: int = 1
) -> np.ndarray:
    """Forecast start time of each (input, target) window of a series, [W].

    Window i covers rows ``[i*stride, i*stride + seq_len + horizon)``; its forecast starts
    at row ``i*stride + seq_len``, the same windows as :class:`WindowDataset`.
    """
    ts = np.asarray(timestamps, dtype="datetime64[ns]")
    n = window_count(len(ts), seq_len, horizon, stride)
    return ts[seq_len + stride * np.arange(n)]


def align_texts(
    origins: np.ndarray,
    text_end: np.ndarray,
    lag: str | np.timedelta64 | pd.Timedelta = "0s",
    last: int | None = None,
    within: str | np.timedelta64 | pd.Timedelta | None = None,
) -> TextWindows:
    """The texts each window may see, with no text that ends at or after its origin.

    Args:
        origins: forecast start time of each window, [W] datetime64.
        text_end: end time of each text, [N] datetime64, sorted ascending (the canonical
            text table's order).
        lag: a text is seen only when ``end + lag < origin`` (publication delay), >= 0;
            a pandas Timedelta or its text ("7D", "12h").
        last: keep at most the last ``last`` qualifying texts (None: no limit).
        within: keep only texts with ``end >= origin - lag - within`` (None: no limit).

    Returns:
        TextWindows: window i sees rows ``lo[i]:hi[i]`` of the text table.

    Raises:
        ValueError: ``text_end`` not sorted, a negative lag/within, or ``last`` < 1.
    """
    t = np.asarray(origins, dtype="datetime64[ns]")
    end = np.asarray(text_end, dtype="datetime64[ns]")
    lag_ns = np.timedelta64(pd.Timedelta(lag).value, "ns")
    if lag_ns < np.timedelta64(0, "ns"):
        raise ValueError(f"lag must be >= 0, got {pd.Timedelta(lag)}")
    if last is not None and last < 1:
        raise ValueError(f"last must be >= 1 or None, got {last}")
    if len(end) > 1 and (np.diff(end) < np.timedelta64(0, "ns")).any():
        raise ValueError("text_end must be sorted ascending (the canonical text table is)")
    cutoff = t - lag_ns
    hi = np.searchsorted(end, cutoff, side="left")  # first text with end >= cutoff: excluded
    lo = np.zeros_like(hi)
    if within is not None:
        span = np.timedelta64(pd.Timedelta(within).value, "ns")
        if span < np.timedelta64(0, "ns"):
            raise ValueError(f"within must be >= 0, got {pd.Timedelta(within)}")
        lo = np.searchsorted(end, cutoff - span, side="left")
    if last is not None:
        lo = np.maximum(lo, hi - last)
    lo = np.minimum(lo, hi)
    return TextWindows(lo=lo.astype(np.int64), hi=hi.astype(np.int64))


def pool_windows(
    windows: TextWindows, vectors: np.ndarray, how: str = "mean"
) -> tuple[np.ndarray, np.ndarray]:
    """One text feature per window: the mean or max of the embeddings of the texts it sees.

    Args:
        windows: from :func:`align_texts` over the same end-sorted text table.
        vectors: one embedding per text-table row, [N, D] (e.g. ``TextEmbeddingCache.embed``).
        how: ``mean`` or ``max``.

    Returns:
        (features [W, D] float32, zero where a window sees no text; has_text [W] bool).
    """
    if how not in ("mean", "max"):
        raise ValueError(f"how must be mean or max, got {how!r}")
    vectors = np.asarray(vectors, dtype=np.float32)
    counts = windows.counts()
    has_text = counts > 0
    if how == "mean":
        # Prefix sums: each window's sum is two lookups, whatever its number of texts.
        prefix = np.concatenate(
            [np.zeros((1, vectors.shape[1])), np.cumsum(vectors, 0, np.float64)]
        )
        sums = prefix[windows.hi] - prefix[windows.lo]  # [W, D]
        features = sums / np.maximum(counts, 1)[:, None]
    else:
        features = np.zeros((len(counts), vectors.shape[1]))
        for i in np.flatnonzero(has_text):
            features[i] = vectors[windows.lo[i] : windows.hi[i]].max(0)
    return features.astype(np.float32), has_text


def window_text_index(windows: TextWindows, k: int) -> np.ndarray:
    """The text-table rows of each window's last ``k`` texts, oldest first, ``-1`` padding.

    What a fused model receives as text tokens (:class:`TextWindowDataset` gathers the
    embeddings): the last ``k`` of the rows :func:`align_texts` allows, right-aligned, so
    nothing beyond the alignment rule can enter.

    Returns:
        [W, k] int64; ``-1`` where a window sees fewer than ``k`` texts.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    rows = windows.hi[:, None] + np.arange(-k, 0)[None, :]  # [W, k]
    return np.where(rows >= windows.lo[:, None], rows, -1).astype(np.int64)


def align_for(cfg: TextConfig, origins: np.ndarray, texts: pd.DataFrame) -> TextWindows:
    """:func:`align_texts` with ``data.text``'s lag/last/within over a canonical text table."""
    return align_texts(origins, texts["end"].to_numpy(), cfg.lag, cfg.last, cfg.within)


__all__ = [
    "TextWindows",
    "align_for",
    "align_texts",
    "pool_windows",
    "window_origins",
    "window_text_index",
]
