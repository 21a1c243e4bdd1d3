"""Recent text beside recent values: what a text-fused forecaster reads at inference.

The texts are read with the column rules of the version's first ``data.text`` source,
aligned to each forecast origin by the version's rule (a text is seen only when
``end + lag`` is before the origin, keeping the ``last`` k / those ``within`` a span, as
:mod:`tsalign.components.data.align` does in training), and embedded by the same frozen
encoder; the model receives the last K of them as its text tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tsalign.components.config import DataConfig, TextConfig, TextSourceConfig
from tsalign.components.data.align import align_for, window_text_index

READING_FIELDS = (
    "start_col",
    "end_col",
    "text_cols",
    "timestamp_format",
    "na_values",
    "empty",
    "delimiter",
)
"""The settings of a text source that say how to read a file (not where it is or its pin)."""

Embed = Callable[[Sequence[str]], np.ndarray]


def read_recent_texts(path: Path, text: TextConfig) -> pd.DataFrame:
    """``path`` (CSV or Parquet) read and validated as the version's first text source is.

    Returns:
        The canonical long table (``start``, ``end``, ``field``, ``text``...) sorted by end.

    Raises:
        DataError: no or unparsable times, end before start, empty text, non-UTF-8 bytes,
            a missing column; the message names the file, row and column.
    """
    from tsalign.components.data.text import read_text_source

    path = Path(path).resolve()
    rules = text.sources[0].model_dump(include=set(READING_FIELDS))
    source = TextSourceConfig(source=str(path), **rules)
    data = DataConfig(name="predict", source=str(path), allowed_roots=[str(path.parent)])
    frame, _ = read_text_source(source, data, path.parent)
    return frame.sort_values(["end", "start"], kind="stable").reset_index(drop=True)


def text_tokens_at(
    origins: np.ndarray, texts: pd.DataFrame, text: TextConfig, k: int, dim: int, embed: Embed
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each origin's text tokens under the alignment rule of ``text``.

    Args:
        origins: forecast start times, [W] datetime64.
        texts: from :func:`read_recent_texts` (sorted by end).
        text: the version's ``data.text`` (lag, last, within).
        k: the model's text tokens (``ModelSpec.text_tokens``).
        dim: E, the width of its text embeddings (``ModelSpec.text_dim``).
        embed: texts -> [N, E] (the frozen encoder the model was trained with).

    Returns:
        text [W, K, E] float32 (zeros for padding) and text_mask [W, K] bool.
    """
    index = window_text_index(align_for(text, origins, texts), k)  # [W, K], -1 padding
    used = sorted({int(i) for i in index.ravel() if i >= 0})
    vectors = np.asarray(embed([texts["text"].iloc[i] for i in used]), dtype=np.float32)
    rows = {row: n for n, row in enumerate(used)}
    mask = index >= 0
    tokens = np.zeros((*index.shape, dim), dtype=np.float32)
    for (w, j), row in np.ndenumerate(index):
        if row >= 0:
            tokens[w, j] = vectors[rows[int(row)]]
    return torch.from_numpy(tokens), torch.from_numpy(mask)


__all__ = ["READING_FIELDS", "read_recent_texts", "text_tokens_at"]
