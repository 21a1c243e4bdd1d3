"""Probationary windows of a forecast-error detector: only the first 15% of each series, scaled on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsalign.components.data import DataError
from tsalign.components.data.anomaly import AnomalySeries, probationary_rows
from tsalign.components.data.anomaly_windows import (
    ProbationScaler,
    probation_scalers,
    probation_windows,
    split_row,
)


def _series(name: str, values: np.ndarray, windows=()) -> AnomalySeries:
    stamps = pd.date_range("2020-01-01", periods=len(values), freq="5min").to_numpy()
    return AnomalySeries(name, stamps, values.astype(float), (), tuple(windows))


def test_scaler_is_fit_on_the_probationary_rows_only():
    values = np.concatenate([np.full(150, 10.0) + np.arange(150) % 2, np.full(850, 1e6)])
    scaler = ProbationScaler.fit(values)  # 1000 rows -> 150 probationary
    assert scaler.mean == pytest.approx(10.5) and scaler.std == pytest.approx(0.5)
    assert ProbationScaler.fit(np.ones(1000)).std == 1.0  # flat: centred only


def test_windows_never_reach_past_the_probationary_rows():
    # Values after the probationary rows are huge: a window that saw them would show it.
    rows = 2000
    values = np.where(np.arange(rows) < probationary_rows(rows), np.sin(np.arange(rows)), 1e9)
    train, val = probation_windows([_series("a.csv", values)], seq_len=16, horizon=2, val_share=0.2)
    cut, end = split_row("a.csv", rows, 16, 2, 0.2)
    assert (cut, end) == (240, 300)
    assert len(train) == cut - 16 - 2 + 1 and len(val) == end - cut - 2 + 1
    for dataset in (train, val):
        for x, y in dataset:
            assert x.shape == (16, 1) and y.shape == (2, 1)
            assert float(x.abs().max()) < 10 and float(y.abs().max()) < 10


def test_validation_targets_follow_the_training_targets():
    rows = 1000
    values = np.arange(rows, dtype=float)
    (series,) = [_series("a.csv", values)]
    train, val = probation_windows([series], seq_len=8, horizon=1, val_share=0.2)
    scaler = ProbationScaler.fit(values)
    last_train_target = float(train[len(train) - 1][1][0, 0]) * scaler.std + scaler.mean
    first_val_target = float(val[0][1][0, 0]) * scaler.std + scaler.mean
    assert last_train_target == pytest.approx(119.0, abs=1e-3)  # cut = 150 - 30
    assert first_val_target == pytest.approx(120.0, abs=1e-3)


def test_windows_of_several_series_are_pooled_and_scaled_each_on_its_own():
    a = _series("a.csv", np.random.default_rng(0).normal(0, 1, 1200))
    b = _series("b.csv", np.random.default_rng(1).normal(500, 50, 1200))
    train, _ = probation_windows([a, b], seq_len=8, horizon=1, val_share=0.2)
    assert len(train) == 2 * (144 - 8)
    scalers = probation_scalers([a, b])
    assert scalers["b.csv"]["mean"] == pytest.approx(500, abs=10)
    assert float(train[len(train) - 1][0].abs().max()) < 6  # b's windows are standardised too


def test_a_series_too_short_for_its_windows_names_itself_and_the_fix():
    with pytest.raises(DataError, match=r"short\.csv.*probationary period \(150 of 1000 rows\)"):
        probation_windows([_series("short.csv", np.zeros(1000))], 140, 1, 0.2)
    with pytest.raises(DataError, match=r"lower data\.window\.seq_len"):
        probation_windows([_series("short.csv", np.zeros(1000))], 140, 1, 0.2)
