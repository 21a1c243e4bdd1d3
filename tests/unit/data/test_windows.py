"""Lazy sliding windows: exact counts, views not copies, both channel modes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from tsalign.components.data import WindowDataset, window_count


@pytest.mark.parametrize(
    ("n", "seq_len", "horizon", "stride", "expected"),
    [
        (100, 10, 5, 1, 86),
        (100, 10, 5, 3, 29),
        (15, 10, 5, 1, 1),
        (14, 10, 5, 1, 0),
        (2880 + 336, 336, 96, 1, 2785),
    ],
)
def test_window_count(n: int, seq_len: int, horizon: int, stride: int, expected: int) -> None:
    assert window_count(n, seq_len, horizon, stride) == expected
    assert len(WindowDataset(np.zeros((n, 2), np.float32), seq_len, horizon, stride)) == expected


def test_windows_are_the_right_rows() -> None:
    arr = np.arange(40, dtype=np.float32).reshape(20, 2)  # row t = [2t, 2t+1]
    ds = WindowDataset(arr, seq_len=4, horizon=3, stride=2)
    x, y = ds[2]  # starts at row 4
    assert x.shape == (4, 2) and y.shape == (3, 2)
    assert x.dtype == torch.float32
    np.testing.assert_array_equal(x.numpy(), arr[4:8])
    np.testing.assert_array_equal(y.numpy(), arr[8:11])
    x, y = ds[-1]
    np.testing.assert_array_equal(y.numpy(), arr[len(ds) * 2 - 2 + 4 : len(ds) * 2 - 2 + 7])
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_windows_share_memory_with_the_array() -> None:
    arr = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    x, y = WindowDataset(arr, 8, 4)[5]
    assert np.shares_memory(x.numpy(), arr) and np.shares_memory(y.numpy(), arr)
    x, _ = WindowDataset(arr, 8, 4, channel_independent=True)[50]
    assert np.shares_memory(x.numpy(), arr)


def test_channel_independent_is_channel_major_and_complete() -> None:
    arr = np.arange(60, dtype=np.float32).reshape(20, 3)
    ds = WindowDataset(arr, seq_len=5, horizon=2, channel_independent=True)
    per_channel = window_count(20, 5, 2)
    assert len(ds) == per_channel * 3
    x, y = ds[per_channel + 4]  # channel 1, window 4
    assert x.shape == (5, 1) and y.shape == (2, 1)
    np.testing.assert_array_equal(x[:, 0].numpy(), arr[4:9, 1])
    np.testing.assert_array_equal(y[:, 0].numpy(), arr[9:11, 1])
    x, y = ds[len(ds) - 1]  # last window of the last channel is present
    np.testing.assert_array_equal(y[:, 0].numpy(), arr[18:20, 2])


def test_dataloader_sees_every_test_window_of_etth1_size() -> None:
    # 7 channels x 2785 windows = 19,495 in channel-independent mode, batch 256 (README).
    arr = np.zeros((2880 + 336, 7), np.float32)
    ds = WindowDataset(arr, 336, 96, channel_independent=True)
    assert len(ds) == 19495
    seen = sum(x.shape[0] for x, _ in DataLoader(ds, batch_size=4096))
    assert seen == 19495


def test_memory_mapped_input(tmp_path) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.arange(200, dtype=np.float32).reshape(100, 2))
    mm = np.load(path, mmap_mode="r")
    ds = WindowDataset(mm, 10, 5)
    assert ds.array is mm  # no up-front copy for float32 input
    x, _ = ds[90 - 10]
    np.testing.assert_array_equal(x.numpy(), np.asarray(mm[80:90]))
