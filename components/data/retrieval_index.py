"""The retrieval index of a data version: its training windows, embedded once, searchable.

A forecaster with ``model.retrieval`` sees, for every window and channel, the ``k`` training
windows whose histories are nearest to its own, and what followed them. This module builds
what travels to the workers, once per data version, before any worker starts:

- ``series`` [T, C]: the standardised rows of the training split, and nothing else: no
  validation or test row, so no retrieved history or future can reach into them;
- ``starts`` [W]: the indexed windows' first rows (every ``model.retrieval.stride``-th
  training window; a window's history and future both lie in ``series``);
- ``keys`` [W, C, E]: each window's embedding per channel (:func:`summarise` then the
  embedder: the frozen LM over the serialised summary, or the summary itself);
- ``neighbours.train`` / ``neighbours.val`` [W_split, C, k]: the indexed windows each
  training and validation window the recipe makes retrieves (``-1`` rows for windows
  outside its ``max_*_windows`` caps). A training window never retrieves a window whose
  rows overlap its own (history or future), itself included.

The search is scikit-learn's :class:`~sklearn.neighbors.NearestNeighbors` per channel
(cosine for LM embeddings, Euclidean for raw summaries); the model runs the same search for
windows it is given without neighbours (evaluation, ``tsalign predict``). The file is
safetensors, keyed by the data version's md5, the backbone and the settings it depends on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save

from tsalign.components.config import DataConfig
from tsalign.components.data.splits import window_count
from tsalign.components.data.windows import capped_indices
from tsalign.components.models.params import RetrievalConfig
from tsalign.components.models.spec import ModelBuildError
from tsalign.components.storage import write_bytes_atomic

SEGMENTS = 32
"""A window's history is summarised as 32 segment means (piecewise aggregate approximation):
about 50 MiniLM tokens once serialised, whatever the input length."""
EPS = 1e-5
NEIGHBOUR_SPLITS = ("train", "val")
Embedder = Callable[[np.ndarray], np.ndarray]
"""histories [N, L] -> embeddings [N, E] float32."""


class RetrievalError(ModelBuildError):
    """An index that cannot be built for these settings; the message names the fix."""


def metric_of(embed: str) -> str:
    """The distance the index searches with: cosine between LM embeddings, Euclidean
    between z-normalised summaries (a correlation distance)."""
    return "cosine" if embed == "lm" else "euclidean"


def summarise(histories: np.ndarray) -> np.ndarray:
    """Each history z-normalised and averaged over :data:`SEGMENTS` segments: [N, L] -> [N, S].

    Retrieval looks for windows of the same shape, whatever their level and scale.
    """
    h = np.asarray(histories, dtype=np.float64)
    z = (h - h.mean(1, keepdims=True)) / (h.std(1, keepdims=True) + EPS)
    parts = np.array_split(np.arange(h.shape[1]), min(SEGMENTS, h.shape[1]))
    return np.stack([z[:, p].mean(1) for p in parts], axis=1).astype(np.float32)


def serialise(summaries: np.ndarray) -> list[str]:
    """Summaries as text for the LM: tenths of a standard deviation, as integers
    (LLMTime's fixed precision), e.g. ``"-3 1 12 7"``."""
    tenths = np.clip(np.round(summaries * 10), -99, 99).astype(int)
    return [" ".join(map(str, row)) for row in tenths]


class WindowIndex:
    """The keys [W, C, E] searchable per channel (one fitted NearestNeighbors each)."""

    def __init__(self, keys: np.ndarray, metric: str) -> None:
        from sklearn.neighbors import NearestNeighbors

        self.size = keys.shape[0]
        self.searchers = [
            NearestNeighbors(metric=metric, algorithm="brute").fit(keys[:, c])
            for c in range(keys.shape[1])
        ]

    def search(
        self,
        queries: np.ndarray,
        k: int,
        starts: np.ndarray | None = None,
        query_starts: np.ndarray | None = None,
        span: int = 0,
    ) -> np.ndarray:
        """The ``k`` nearest indexed windows of each query and channel, nearest first.

        Args:
            queries: [Q, C, E] embeddings.
            k: neighbours per query and channel.
            starts, query_starts, span: when given, an indexed window starting less than
                ``span`` rows from the query's start overlaps it and is never returned.

        Returns:
            [Q, C, k] int64 rows of the index.

        Raises:
            RetrievalError: fewer than ``k`` windows are left to retrieve.
        """
        exclude = query_starts is not None and starts is not None
        stride = int(np.min(np.diff(starts))) if exclude and len(starts) > 1 else 1
        extra = 2 * (span // max(stride, 1) + 1) if exclude else 0
        n = min(self.size, k + extra)
        if n < k:
            raise RetrievalError(
                f"the index holds {self.size} training windows, fewer than model.retrieval.k="
                f"{k}; lower k or model.retrieval.stride"
            )
        out = np.empty((queries.shape[0], queries.shape[1], k), dtype=np.int64)
        for c, searcher in enumerate(self.searchers):
            ids = searcher.kneighbors(queries[:, c], n, return_distance=False)  # [Q, n]
            if not exclude:
                out[:, c] = ids[:, :k]
                continue
            far = np.abs(starts[ids] - query_starts[:, None]) >= span
            if (far.sum(1) < k).any():
                raise RetrievalError(
                    f"a training window has fewer than model.retrieval.k={k} indexed windows "
                    "that do not overlap it; lower k, or give the training split more rows"
                )
            # stable: the first k far ones, still nearest first
            order = np.argsort(~far, axis=1, kind="stable")[:, :k]
            out[:, c] = np.take_along_axis(ids, order, axis=1)
        return out


@dataclass(frozen=True)
class RetrievalIndex:
    """What a retrieval model's workers receive (see the module docstring)."""

    series: np.ndarray  # [T, C] float32
    starts: np.ndarray  # [W] int64
    keys: np.ndarray  # [W, C, E] float32
    neighbours: dict[str, np.ndarray]  # split -> [W_split, C, k] int64, -1: not computed


def histories(series: np.ndarray, starts: np.ndarray, seq_len: int) -> np.ndarray:
    """[W, C, L]: each window's history, per channel."""
    rows = starts[:, None] + np.arange(seq_len)  # [W, L]
    return np.transpose(series[rows], (0, 2, 1))


def embed_windows(
    series: np.ndarray, starts: np.ndarray, seq_len: int, embed: Embedder
) -> np.ndarray:
    """[W, C, E]: each window's history per channel, embedded."""
    h = histories(series, starts, seq_len)
    w, c, _ = h.shape
    return np.asarray(embed(h.reshape(w * c, seq_len)), dtype=np.float32).reshape(w, c, -1)


def build_index(
    train: np.ndarray,
    val: np.ndarray,
    data: DataConfig,
    retrieval: RetrievalConfig,
    caps: tuple[int | None, int | None],
    embed: Embedder,
) -> RetrievalIndex:
    """The index of a training split, and the neighbours of the windows the recipe trains
    and validates on.

    Args:
        train: the standardised training split [T, C].
        val: the standardised validation split [T_val, C] (starts seq_len before its border).
        data: the data section (window protocol).
        retrieval: ``model.retrieval``.
        caps: ``train.max_train_windows`` and ``train.max_val_windows``: only the windows the
            recipe keeps are searched for.
        embed: histories [N, L] -> embeddings [N, E].

    Raises:
        RetrievalError: too few training windows for ``k``.
    """
    seq_len, horizon, k = data.window.seq_len, data.window.horizon, retrieval.k
    span = seq_len + horizon
    count = window_count(len(train), seq_len, horizon, retrieval.stride)
    if count < k + 1:
        raise RetrievalError(
            f"the training split makes {count} windows at model.retrieval.stride="
            f"{retrieval.stride}, too few for model.retrieval.k={k}; lower either"
        )
    starts = np.arange(count, dtype=np.int64) * retrieval.stride
    train_total = window_count(len(train), seq_len, horizon, data.window.stride)
    train_queries = np.asarray(capped_indices(train_total, caps[0]), dtype=np.int64)
    _check_room(starts, train_queries * data.window.stride, span, k, len(train))
    keys = embed_windows(train, starts, seq_len, embed)
    index = WindowIndex(keys, metric_of(retrieval.embed))
    neighbours = {}
    for split, series, stride, cap in (
        ("train", train, data.window.stride, caps[0]),
        ("val", val, 1, caps[1]),
    ):
        total = window_count(len(series), seq_len, horizon, stride)
        kept = np.asarray(capped_indices(total, cap), dtype=np.int64)
        query_starts = kept * stride
        found = np.full((total, train.shape[1], k), -1, dtype=np.int64)
        if len(kept):
            queries = embed_windows(series, query_starts, seq_len, embed)
            exclude = (starts, query_starts, span) if split == "train" else (None, None, 0)
            found[kept] = index.search(queries, k, *exclude)
        neighbours[split] = found
    return RetrievalIndex(train.astype(np.float32), starts, keys, neighbours)


def _check_room(starts: np.ndarray, query_starts: np.ndarray, span: int, k: int, rows: int) -> None:
    """Refuse, before anything is embedded, a training split too short for every training
    window to find ``k`` indexed windows that do not overlap it.

    Raises:
        RetrievalError: naming the window with the fewest and the rows it would need.
    """
    if not len(query_starts):
        return
    far = (np.abs(starts[None, :] - query_starts[:, None]) >= span).sum(1)  # [Q]
    worst = int(np.argmin(far))
    if far[worst] < k:
        raise RetrievalError(
            f"the training window starting at row {int(query_starts[worst])} has "
            f"{int(far[worst])} indexed windows that do not overlap it, fewer than "
            f"model.retrieval.k={k}: a training split of {rows} rows is too short for "
            f"windows of {span} steps (history + horizon); lower k or "
            "model.retrieval.stride, or train on more rows (data.train_fraction)"
        )


def save_index(index: RetrievalIndex, path: Path) -> None:
    """Write ``index`` as one safetensors file (atomically: a reader never sees half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {
        "series": index.series,
        "starts": index.starts,
        "keys": index.keys,
        **{f"neighbours.{s}": v for s, v in index.neighbours.items()},
    }
    write_bytes_atomic(path, save({k: np.ascontiguousarray(v) for k, v in tensors.items()}))


def load_index(path: str | Path) -> RetrievalIndex:
    """Read what :func:`save_index` wrote."""
    t = load_file(str(path))
    return RetrievalIndex(
        t["series"], t["starts"], t["keys"], {s: t[f"neighbours.{s}"] for s in NEIGHBOUR_SPLITS}
    )


def index_key(
    md5: str,
    backbone: str,
    data: DataConfig,
    retrieval: RetrievalConfig,
    caps: tuple[int | None, int | None],
) -> str:
    """What an index depends on: the data version, the backbone (LM embeddings only), the
    split and window protocol, ``model.retrieval`` and the recipe's window caps."""
    settings = data.model_dump_json(include={"split", "split_ratios", "train_fraction", "window"})
    encoder = backbone if retrieval.embed == "lm" else "raw"
    text = f"{md5}|{encoder}|{settings}|{retrieval.model_dump_json()}|{caps}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def prepare_index(
    dataset_path: str,
    md5: str,
    data: DataConfig,
    retrieval: RetrievalConfig,
    backbone: str,
    caps: tuple[int | None, int | None],
    cache_dir: Path,
    embedder: Callable[[], Embedder] | None = None,
) -> Path:
    """The index file of a data version, built once and kept under ``cache_dir``.

    Args:
        dataset_path: the versioned canonical Parquet file.
        md5: its data version.
        data: the data section.
        retrieval: ``model.retrieval``.
        backbone: ``model.backbone``, the LM of ``embed: lm``.
        caps: ``train.max_train_windows``, ``train.max_val_windows``.
        cache_dir: where index files are kept.
        embedder: makes the embedder (the default loads the LM only when a file is built).

    Returns:
        The file's absolute path (Ray workers do not run in the driver's directory).
    """
    path = cache_dir / f"index-{index_key(md5, backbone, data, retrieval, caps)}.safetensors"
    path = path.resolve()
    if path.is_file():
        return path
    from tsalign.components.data.protocol import load_protocol

    proto = load_protocol(dataset_path, data.protocol())
    if embedder is None:
        from tsalign.components.models.retrieval import make_embedder

        embed = make_embedder(retrieval.embed, backbone)
    else:
        embed = embedder()
    save_index(build_index(proto.train, proto.val, data, retrieval, caps, embed), path)
    return path


__all__ = [
    "SEGMENTS",
    "RetrievalError",
    "RetrievalIndex",
    "WindowIndex",
    "build_index",
    "embed_windows",
    "histories",
    "index_key",
    "load_index",
    "metric_of",
    "prepare_index",
    "save_index",
    "serialise",
    "summarise",
]
