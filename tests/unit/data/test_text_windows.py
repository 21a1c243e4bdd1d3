"""Text tokens per window, end to end: a text naming a future value never reaches the
features of a window whose forecast holds that value."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from tsalign.components.config import ModelConfig, TextConfig
from tsalign.components.data.align import align_for, window_origins, window_text_index
from tsalign.components.data.windows import TextWindowDataset, WindowDataset
from tsalign.components.models import ModelSpec, build_model
from tsalign.components.models.text_encoder import TextEmbeddingCache

SPIKE = 42.0
SPOILER = "the value will hit 42"


class NumberEncoder:
    """Embeds the number a text names (0 for none) and its length: a spoiler is visible."""

    identity = "numbers-v1"

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        found = [re.findall(r"\d+", t) for t in texts]
        return np.array(
            [[float(f[0]) if f else 0.0, len(t)] for f, t in zip(found, texts, strict=True)]
        )


def _series_and_texts() -> tuple[pd.DatetimeIndex, np.ndarray, pd.DataFrame, int]:
    n, leak_step = 60, 40
    ts = pd.date_range("2024-01-01", periods=n, freq="D")
    values = np.zeros((n, 2), np.float32)
    values[leak_step] = SPIKE  # the value the spoiler names, in both channels
    starts = ts[np.arange(0, n - 2, 2)]
    routine = pd.DataFrame({"start": starts, "end": starts + pd.Timedelta("1D"), "text": "note"})
    spoiler = pd.DataFrame([{"start": ts[leak_step - 1], "end": ts[leak_step], "text": SPOILER}])
    texts = pd.concat([routine, spoiler]).sort_values("end", kind="stable")
    return ts, values, texts.reset_index(drop=True), leak_step


@pytest.mark.parametrize("channel_independent", [False, True])
def test_no_window_features_carry_the_text_naming_its_future_value(tmp_path, channel_independent):
    ts, values, texts, leak_step = _series_and_texts()
    seq_len, horizon, k = 8, 4, 3
    cache = TextEmbeddingCache(tmp_path, NumberEncoder())
    vectors = cache.embed(texts["text"].tolist())
    seen = align_for(
        TextConfig(sources=[{"source": "notes.csv"}], last=k),
        window_origins(ts.to_numpy(), seq_len, horizon),
        texts,
    )
    windows = WindowDataset(values, seq_len, horizon, 1, channel_independent)
    dataset = TextWindowDataset(windows, vectors, window_text_index(seen, k))
    seeing = []
    for i in range(len(dataset)):
        _, y, text, mask = dataset[i]
        assert text.shape == (k, 2) and mask.shape == (k,)
        assert (text[~mask] == 0).all()
        names_spike = bool((text[:, 0] == SPIKE).any())
        if (y == SPIKE).any():  # the forecast holds the spike: its text never names it
            assert not names_spike, f"window {i} receives the text naming its future value"
        if names_spike:
            seeing.append(i % windows.n_windows)
    origins = window_origins(ts.to_numpy(), seq_len, horizon)
    # The spoiler does reach windows whose forecast starts after it ended, so the check
    # above is not vacuous.
    assert seeing and min(origins[seeing]) > ts[leak_step]
    # The window whose forecast starts on the spike (MM-TSFlib's "text at the first
    # forecast step" would hand it the spoiler) sees only earlier notes.
    first = int(np.flatnonzero(origins == ts[leak_step])[0])
    _, y, text, mask = dataset[first]
    assert y[0].eq(SPIKE).all() and mask.any() and not (text[:, 0] == SPIKE).any()


def test_fused_model_trains_on_the_dataset_batches(tmp_path):
    ts, values, texts, _ = _series_and_texts()
    cache = TextEmbeddingCache(tmp_path, NumberEncoder())
    seen = align_for(
        TextConfig(sources=[{"source": "notes.csv"}]),
        window_origins(ts.to_numpy(), 8, 4),
        texts,
    )
    dataset = TextWindowDataset(
        WindowDataset(values, 8, 4), cache.embed(texts["text"].tolist()), window_text_index(seen, 2)
    )
    spec = ModelSpec(seq_len=8, horizon=4, n_channels=2, text_dim=2, text_tokens=2)
    model = build_model(
        ModelConfig(name="dlinear", params={"moving_avg": 3, "text_fusion": "add"}), spec
    )
    x, y, text, mask = next(iter(DataLoader(dataset, batch_size=16)))
    loss = torch.nn.functional.mse_loss(model(x, text, mask), y)
    loss.backward()
    assert model.text_head.weight.grad.abs().sum() > 0


def test_text_index_shape_is_checked(tmp_path):
    windows = WindowDataset(np.zeros((20, 1), np.float32), 8, 4)
    with pytest.raises(ValueError, match="text index must be"):
        TextWindowDataset(windows, np.zeros((3, 2)), np.zeros((2, 1), np.int64))
    with pytest.raises(ValueError, match="names row 5 of 3"):
        TextWindowDataset(windows, np.zeros((3, 2)), np.full((9, 1), 5))
