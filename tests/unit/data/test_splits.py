"""Split borders and the scaler reproduce the long-horizon protocol of ../shared/data/ett/README.md."""

from __future__ import annotations

import numpy as np
import pytest

from tsalign.components.config import DataConfig
from tsalign.components.data import DataError, prepare_splits, split_borders, window_count


def ett(seq_len: int, horizon: int, train_fraction: float = 1.0) -> DataConfig:
    return DataConfig(
        split="ett_hour",
        train_fraction=train_fraction,
        window={"seq_len": seq_len, "horizon": horizon},
    )


def test_ett_hour_borders_are_12_4_4_months_with_seq_len_lookback() -> None:
    b = split_borders(17420, ett(336, 96))
    assert b.train == (0, 8640)
    assert b.val == (8640 - 336, 11520)
    assert b.test == (11520 - 336, 14400)
    assert b.scaler == (0, 8640)


@pytest.mark.parametrize(
    ("horizon", "test_windows"), [(96, 2785), (192, 2689), (336, 2545), (720, 2161)]
)
@pytest.mark.parametrize("seq_len", [96, 336, 512])
def test_ett_hour_test_window_counts_match_the_readme(
    seq_len: int, horizon: int, test_windows: int
) -> None:
    # README: test = 2880 - H + 1 whatever seq_len, because the test split starts seq_len earlier.
    start, end = split_borders(17420, ett(seq_len, horizon)).test
    assert window_count(end - start, seq_len, horizon) == test_windows


def test_ett_hour_train_and_val_counts() -> None:
    b = split_borders(17420, ett(336, 96))
    assert window_count(b.train[1] - b.train[0], 336, 96) == 8209  # 8640 - 336 - 96 + 1
    assert window_count(b.val[1] - b.val[0], 336, 96) == 2785  # 2880 - 96 + 1
    b = split_borders(17420, ett(96, 96))
    assert window_count(b.train[1] - b.train[0], 96, 96) == 8449


@pytest.mark.parametrize("percent", [5, 10, 25])
@pytest.mark.parametrize("seq_len", [96, 336, 512])
def test_few_shot_border_matches_reference_formula(percent: int, seq_len: int) -> None:
    b = split_borders(17420, ett(seq_len, 96, train_fraction=percent / 100))
    assert b.train == (0, (8640 - seq_len) * percent // 100 + seq_len)
    assert b.scaler == (0, 8640)  # scaler still fit on the full 12-month training split
    assert b.test == (11520 - seq_len, 14400)


def test_few_shot_10_percent_seq_336_concrete() -> None:
    b = split_borders(17420, ett(336, 96, train_fraction=0.1))
    assert b.train == (0, 1166)  # (8640 - 336) * 10 // 100 + 336 = 830 + 336
    assert window_count(1166, 336, 96) == 735


@pytest.mark.parametrize("n", [1000, 17420, 52608, 69680])
def test_ratio_split_matches_dataset_custom(n: int) -> None:
    seq_len = 96
    b = split_borders(n, DataConfig(window={"seq_len": seq_len, "horizon": 24}))
    num_train, num_test = int(n * 0.7), int(n * 0.2)
    num_val = n - num_train - num_test
    assert b.train == (0, num_train)
    assert b.val == (num_train - seq_len, num_train + num_val)
    assert b.test == (n - num_test - seq_len, n)


def test_ett_split_refuses_short_series() -> None:
    with pytest.raises(DataError, match=r"14400 rows .* Fix: use split: ratio"):
        split_borders(10_000, ett(96, 96))


def test_scaler_is_fit_on_train_rows_only() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(5.0, 2.0, size=(1000, 3))
    cfg = DataConfig(window={"seq_len": 10, "horizon": 5})
    base = prepare_splits(values, cfg)
    shifted = values.copy()
    shifted[700:] += 1000.0  # change only val/test rows (minus the seq_len look-back)
    other = prepare_splits(shifted, cfg)
    np.testing.assert_allclose(base.mean, other.mean)
    np.testing.assert_allclose(base.std, other.std)
    np.testing.assert_allclose(base.mean, values[:700].mean(axis=0))
    np.testing.assert_allclose(base.std, values[:700].std(axis=0))
    assert base.train.dtype == np.float32 and base.train.shape == (700, 3)
    np.testing.assert_allclose(base.train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(base.inverse(base.test), values[1000 - 200 - 10 :], rtol=1e-5)


def test_few_shot_scaler_uses_full_train_split() -> None:
    values = np.arange(17420 * 2, dtype=np.float64).reshape(17420, 2)
    splits = prepare_splits(values, ett(96, 96, train_fraction=0.1))
    np.testing.assert_allclose(splits.mean, values[:8640].mean(axis=0))
    assert len(splits.train) == (8640 - 96) * 10 // 100 + 96


def test_constant_channel_gets_unit_std() -> None:
    values = np.column_stack([np.ones(200), np.arange(200.0)])
    splits = prepare_splits(values, DataConfig(window={"seq_len": 8, "horizon": 4}))
    assert splits.std[0] == 1.0
    assert np.isfinite(splits.test).all()


def test_splits_save_and_memory_map(tmp_path) -> None:
    values = np.random.default_rng(1).normal(size=(300, 2))
    splits = prepare_splits(values, DataConfig(window={"seq_len": 8, "horizon": 4}))
    splits.save(tmp_path)
    loaded = type(splits).load(tmp_path, mmap=True)
    assert isinstance(loaded.test, np.memmap)
    np.testing.assert_array_equal(loaded.test, splits.test)
    assert loaded.borders == splits.borders
