"""Per-split text indices a fused model's workers receive: one embedding per text, each
split's windows in the order the stages make them, nothing at or after a window's origin."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tsalign.components.config import DataConfig
from tsalign.components.data.align import window_origins
from tsalign.components.data.splits import prepare_splits, split_borders
from tsalign.components.data.text_features import DEFAULT_TEXT_TOKENS, window_texts
from tsalign.components.data.windows import WindowDataset
from tsalign.components.models.text_encoder import TextEmbeddingCache


class LengthEncoder:
    identity = "lengths-v1"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        return np.array([[len(t), t.count("e")] for t in texts], float)


def _data(last: int | None) -> tuple[np.ndarray, pd.DataFrame, DataConfig]:
    ts = pd.date_range("2020-01-06", periods=200, freq="W").to_numpy()
    ends = ts[np.arange(1, 200, 3)] + np.timedelta64(2, "D")
    words = (["gas up", "gas down"] * len(ends))[: len(ends)]
    texts = pd.DataFrame({"start": ends - np.timedelta64(6, "D"), "end": ends, "text": words})
    text = {"sources": [{"source": "notes.csv"}], "last": last}
    cfg = DataConfig(window={"seq_len": 12, "horizon": 6, "stride": 2}, text=text)
    return ts, texts, cfg


def test_each_split_gets_its_windows_texts_and_never_one_at_or_after_the_origin(tmp_path):
    ts, texts, cfg = _data(last=3)
    encoder = LengthEncoder()
    out = window_texts(ts, texts, cfg, TextEmbeddingCache(tmp_path, encoder).embed)
    assert sorted(encoder.seen) == ["gas down", "gas up"]  # each distinct text once
    assert out.vectors.shape == (len(texts), 2) and (out.text_dim, out.tokens) == (2, 3)
    splits = prepare_splits(np.zeros((len(ts), 1), np.float32), cfg)
    borders = split_borders(len(ts), cfg)
    window = cfg.window
    for split, (start, end) in borders.as_dict().items():
        stride = window.stride if split == "train" else 1
        n = len(WindowDataset(getattr(splits, split), window.seq_len, window.horizon, stride))
        index = out.index[split]
        assert index.shape == (n, 3)
        origins = window_origins(ts[start:end], window.seq_len, window.horizon, stride)
        for origin, rows in zip(origins, index, strict=True):
            seen = texts["end"].to_numpy()[rows[rows >= 0]]
            assert (seen < origin).all()
            # and the most recent text before the origin is among them
            before = texts["end"].to_numpy() < origin
            if before.any():
                assert rows[-1] == np.flatnonzero(before)[-1]


def test_without_last_the_most_recent_default_number_of_texts_is_kept(tmp_path):
    ts, texts, cfg = _data(last=None)
    out = window_texts(ts, texts, cfg, TextEmbeddingCache(tmp_path, LengthEncoder()).embed)
    assert out.tokens == DEFAULT_TEXT_TOKENS
    assert (out.index["test"] >= 0).all()  # late windows see more than 8 texts: all slots full
