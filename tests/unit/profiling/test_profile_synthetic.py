"""Synthetic series with known period, trend, outliers, shifts and volatility: the
characteristic primitive must recover them within the stated tolerances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsalign.components.config import ProfileConfig
from tsalign.components.profiling.characteristic import (
    channel_characteristic,
    profile_characteristics,
)

CFG = ProfileConfig()
RNG_SEED = 7


def _stamps(n: int) -> pd.Series:
    return pd.Series(pd.date_range("2020-01-01", periods=n, freq="h"))


def _profile(x: np.ndarray, cfg: ProfileConfig = CFG):
    return channel_characteristic(pd.Series(x), "x", _stamps(len(x)), cfg)


@pytest.mark.parametrize(
    ("period", "n", "tolerance"), [(17, 3000, 0), (24, 4000, 0), (100, 5000, 1)]
)
def test_known_period_recovered(period, n, tolerance):
    rng = np.random.default_rng(RNG_SEED)
    t = np.arange(n)
    x = 3 * np.sin(2 * np.pi * t / period) + rng.standard_normal(n)
    out = _profile(x)
    assert abs(out.dominant_period - period) <= tolerance, out.periods
    assert out.periods[0].acf > 0.5
    assert out.seasonal_strength > 0.6


def test_two_periods_both_found_and_harmonic_dropped():
    rng = np.random.default_rng(RNG_SEED)
    t = np.arange(20_000)
    # A sharp (non-sinusoidal) daily shape has strong harmonics at 12, 8, 6: not periods.
    daily = np.clip(np.sin(2 * np.pi * t / 24), 0, None) ** 3
    x = 10 * daily + 2 * np.sin(2 * np.pi * t / 168) + 0.5 * rng.standard_normal(len(t))
    periods = [c.period for c in _profile(x).periods]
    assert periods[0] == 24
    assert 168 in periods
    assert not {12, 8, 6} & set(periods)
    assert not {48, 72, 96} & set(periods)  # multiples of the day without their own power


def test_trend_strength_and_stationarity():
    rng = np.random.default_rng(RNG_SEED)
    n = 3000
    trended = 0.02 * np.arange(n) + np.sin(2 * np.pi * np.arange(n) / 24) + rng.standard_normal(n)
    noise = rng.standard_normal(n)
    walk = np.cumsum(rng.standard_normal(n))

    strong = _profile(trended)
    assert strong.trend_strength > 0.9

    white = _profile(noise)
    assert white.trend_strength < 0.3
    assert white.dominant_period is None
    assert "dominant_period" in white.not_computable
    assert white.stationarity == "stationary"
    assert white.spectral_entropy > 0.9

    assert _profile(walk).stationarity == "non_stationary"


def test_outlier_share_recovered():
    rng = np.random.default_rng(RNG_SEED)
    n = 5000
    clean = 4 * np.sin(2 * np.pi * np.arange(n) / 24) + rng.standard_normal(n)
    spiky = clean.copy()
    where = rng.choice(n, size=50, replace=False)  # 1 %
    spiky[where] += rng.choice([-1, 1], size=50) * 12
    assert _profile(clean).outlier_share < 0.002
    share = _profile(spiky).outlier_share
    assert 0.008 <= share <= 0.013


def test_level_shift_found_as_change_point():
    rng = np.random.default_rng(RNG_SEED)
    n = 4800
    x = np.sin(2 * np.pi * np.arange(n) / 24) + 0.5 * rng.standard_normal(n)
    x[3000:] += 5
    out = _profile(x)
    shift = _stamps(n).iloc[3000]
    found = [pd.Timestamp(s) for s in out.change_points]
    assert found, "the level shift was not detected"
    assert min(abs(s - shift) for s in found) <= pd.Timedelta(hours=0.05 * n)
    assert (
        _profile(np.sin(2 * np.pi * np.arange(n) / 24) + 0.5 * rng.standard_normal(n)).change_points
        == []
    )

    # Missing ends are cut before the analysis: the dates must still line up.
    gappy = x.copy()
    gappy[:300] = np.nan
    gappy[-500:] = np.nan
    found = [pd.Timestamp(s) for s in _profile(gappy).change_points]
    assert found and min(abs(s - shift) for s in found) <= pd.Timedelta(hours=0.05 * n)


def test_heteroscedasticity_detected():
    rng = np.random.default_rng(RNG_SEED)
    n = 4000
    # ARCH(1): variance today depends on yesterday's shock.
    e = np.zeros(n)
    for i in range(1, n):
        e[i] = np.sqrt(0.2 + 0.7 * e[i - 1] ** 2) * rng.standard_normal()
    assert _profile(e).heteroscedastic is True
    assert _profile(rng.standard_normal(n)).arch_lm_pvalue > 0.01


def test_cross_channel_correlation():
    rng = np.random.default_rng(RNG_SEED)
    n = 2000
    a = rng.standard_normal(n).cumsum()
    frame = pd.DataFrame({"a": a, "b": 2 * a + rng.standard_normal(n), "c": rng.standard_normal(n)})
    out = profile_characteristics(frame, ["a", "b", "c"], None, CFG)
    top = out.pairs[0]
    assert {top.a, top.b} == {"a", "b"} and top.pearson > 0.9 and top.spearman > 0.9
    assert abs(out.correlation["a"]["c"]) < 0.2
