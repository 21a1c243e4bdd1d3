"""The text each training and evaluation window may see, as arrays: computed once per data
version, before any worker starts.

A fused model receives, per window, the embeddings of the last K texts the alignment rule
allows (:mod:`tsalign.components.data.align`). This module turns a dataset version into
what travels to the workers: one embedding per text-table row (each distinct text encoded
once, :class:`~tsalign.components.models.text_encoder.TextEmbeddingCache`) and, per split,
each window's rows of it; never the texts themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from safetensors.numpy import load_file, save

from tsalign.components.config import DataConfig
from tsalign.components.data.align import align_for, window_origins, window_text_index
from tsalign.components.data.splits import Borders, split_borders
from tsalign.components.storage import write_bytes_atomic

TEXT_BACKBONE = "minilm"
"""The frozen sentence encoder that embeds every text, in training and at inference."""

DEFAULT_TEXT_TOKENS = 8
"""Text tokens per window when ``data.text.last`` is unset: the most recent 8 are kept."""


@dataclass(frozen=True)
class WindowTexts:
    """Per split, the rows of ``vectors`` each window sees (``-1`` padding).

    Attributes:
        vectors: [N, E] float32, one embedding per text-table row.
        index: ``train``/``val``/``test`` -> [W, K] int64, the windows in the order the
            training and evaluation stages make them.
    """

    vectors: np.ndarray
    index: dict[str, np.ndarray]

    @property
    def text_dim(self) -> int:
        """E."""
        return int(self.vectors.shape[1])

    @property
    def tokens(self) -> int:
        """K."""
        return int(next(iter(self.index.values())).shape[1])


def text_tokens(cfg: DataConfig) -> int:
    """K, the text tokens per window: ``data.text.last``, else :data:`DEFAULT_TEXT_TOKENS`."""
    return (cfg.text.last if cfg.text and cfg.text.last else None) or DEFAULT_TEXT_TOKENS


def split_text_index(
    timestamps: np.ndarray, borders: Borders, texts: pd.DataFrame, cfg: DataConfig
) -> dict[str, np.ndarray]:
    """Each split's windows' rows of the end-sorted text table, [W, K] per split.

    Training windows step by ``data.window.stride``; validation and test windows by 1, as
    the training and evaluation stages make them.
    """
    assert cfg.text is not None
    window, k = cfg.window, text_tokens(cfg)
    out = {}
    for split, (start, end) in borders.as_dict().items():
        stride = window.stride if split == "train" else 1
        origins = window_origins(timestamps[start:end], window.seq_len, window.horizon, stride)
        out[split] = window_text_index(align_for(cfg.text, origins, texts), k)
    return out


def window_texts(
    timestamps: np.ndarray,
    texts: pd.DataFrame,
    cfg: DataConfig,
    embed: Callable[[Sequence[str]], np.ndarray],
) -> WindowTexts:
    """The arrays a fused model's workers receive for one dataset version.

    Args:
        timestamps: the canonical series' timestamps, [T].
        texts: its canonical text table (sorted by end, :func:`load_texts`).
        cfg: the data section (split, window, ``text`` alignment).
        embed: texts -> [N, E], e.g. ``TextEmbeddingCache.embed`` (each distinct text once).
    """
    borders = split_borders(len(timestamps), cfg)
    vectors = np.asarray(embed(texts["text"].tolist()), dtype=np.float32)
    return WindowTexts(vectors, split_text_index(timestamps, borders, texts, cfg))


SPLITS = ("train", "val", "test")


def save_window_texts(texts: WindowTexts, path: Path) -> None:
    """Write ``texts`` as one safetensors file (atomically: a reader never sees half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {"vectors": texts.vectors, **{f"index.{k}": v for k, v in texts.index.items()}}
    write_bytes_atomic(path, save({k: np.ascontiguousarray(v) for k, v in tensors.items()}))


def load_window_texts(path: str | Path) -> WindowTexts:
    """Read what :func:`save_window_texts` wrote."""
    tensors = load_file(str(path))
    return WindowTexts(tensors["vectors"], {s: tensors[f"index.{s}"] for s in SPLITS})


def prepare_window_texts(
    dataset_path: str, md5: str, cfg: DataConfig, cache_dir: Path, backbone: str = TEXT_BACKBONE
) -> tuple[WindowTexts, Path] | None:
    """The window texts of a dataset version, computed once and kept under ``cache_dir``.

    Texts are embedded by the frozen sentence encoder ``backbone`` through the
    embedding cache (each distinct text once); the per-window rows depend on the data
    version ``md5`` and the split/window/alignment settings, which key the file.

    Returns:
        None when the dataset has no text; else the arrays and the file they lie in.
    """
    from tsalign.components.data import load_frame
    from tsalign.components.data.text import load_texts

    texts = load_texts(dataset_path)
    if texts is None or cfg.text is None:
        return None
    settings = cfg.model_dump_json(include={"split", "split_ratios", "train_fraction", "window"})
    key = hashlib.sha256(
        f"{md5}|{backbone}|{settings}|{cfg.text.model_dump_json(exclude={'sources'})}".encode()
    ).hexdigest()[:24]
    path = cache_dir / f"windows-{key}.safetensors"
    if not path.is_file():
        from tsalign.components.models.text_encoder import SentenceEncoder, TextEmbeddingCache

        embed = TextEmbeddingCache(cache_dir / "embeddings", SentenceEncoder(backbone)).embed
        timestamps = load_frame(dataset_path)["timestamp"].to_numpy()
        save_window_texts(window_texts(timestamps, texts, cfg, embed), path)
    return load_window_texts(path), path


__all__ = [
    "DEFAULT_TEXT_TOKENS",
    "SPLITS",
    "TEXT_BACKBONE",
    "WindowTexts",
    "load_window_texts",
    "prepare_window_texts",
    "save_window_texts",
    "split_text_index",
    "text_tokens",
    "window_texts",
]
