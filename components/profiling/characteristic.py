"""Characteristic primitive: the temporal behaviour of each channel.

Per channel: seasonal period candidates (periodogram peaks validated by the ACF),
Hyndman's trend and seasonal strength from STL, ADF and KPSS p-values, ACF at key
lags, volatility and Engle's ARCH LM test, change points (PELT, ruptures), the
share of robust-z outliers and the spectral entropy; across channels, Pearson and
Spearman correlation.

Speed: everything runs on the LAST ``cfg.max_points`` points. The costly steps
work on shorter views that keep the periods right:

* STL runs on the last ``cfg.stl_max_points`` points. A period longer than
  ``cfg.stl_max_period`` is first block-averaged by the smallest divisor ``d``
  of the period that brings it under the limit, so STL sees an exact period
  ``period / d`` (rounded only when the period has no such divisor). STL cost
  grows with the period: 20k points at period 336 take ~4 s, 5k at 48 ~0.1 s.
* ADF / KPSS / change points run on block means with at most
  ``cfg.test_max_points`` points: averaging keeps a unit root and level shifts
  (what these tests look for) while an autolag ADF on 50k raw points takes
  tens of seconds. The ARCH LM test runs on the last ``cfg.test_max_points``
  points of the STL remainder (averaging would hide volatility clusters).

Each channel runs inside ``threadpoolctl.threadpool_limits(1)``: the many small
OLS fits are ~8x slower with multi-threaded BLAS.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import ruptures
from scipy import signal
from statsmodels.nonparametric.smoothers_lowess import lowess
from statsmodels.stats.diagnostic import het_arch
from statsmodels.tools.sm_exceptions import InterpolationWarning
from statsmodels.tsa.seasonal import STL
from statsmodels.tsa.stattools import acf, adfuller, kpss
from threadpoolctl import threadpool_limits

from tsalign.components.config import ProfileConfig
from tsalign.components.profiling.schema import (
    ChannelCharacteristic,
    CharacteristicProfile,
    CorrelationPair,
    PeriodCandidate,
)

MIN_POINTS = 16
"""Fewer points than this: no statistic is computed (a 16-point ADF/STL is noise)."""

MIN_CYCLES = 10
"""A period is only searched up to len / MIN_CYCLES steps."""

# Cycle ACF a periodogram peak must reach at its lag to count as a seasonal period.
_MIN_PERIOD_ACF = 0.2
# A spectral peak must stand this many times above the local median power (red-noise background).
_MIN_PEAK_RATIO = 4.0
_PEAK_HALF_WIDTH = 3  # bins either side summed into a candidate's power share
_MIN_POWER_SHARE = 0.005  # a "period" carrying less than 0.5 % of the variance is noise
_MIN_RETURN = 0.1  # how much higher the cycle ACF is at the period than at half of it

# Every field that can be missing for a channel, for "not computable" bookkeeping.
_ALL_FIELDS = (
    "periods",
    "dominant_period",
    "trend_strength",
    "seasonal_strength",
    "adf_pvalue",
    "kpss_pvalue",
    "stationarity",
    "acf_lags",
    "volatility",
    "arch_lm_pvalue",
    "change_points",
    "outlier_share",
    "spectral_entropy",
)


def profile_characteristics(
    frame: pd.DataFrame, channels: list[str], timestamps: pd.Series | None, cfg: ProfileConfig
) -> CharacteristicProfile:
    """Characteristic primitive of every channel plus cross-channel correlation.

    Args:
        frame: the canonical frame (already capped to the last ``cfg.max_points`` rows).
        channels: value columns to profile, in order.
        timestamps: the timestamp column aligned with ``frame`` (for change-point dates), or None.
        cfg: profiling settings.

    Returns:
        The CharacteristicProfile; a channel that cannot be analysed carries its reasons
        in ``not_computable`` instead of NaNs.
    """
    per_channel = {
        name: channel_characteristic(frame[name], name, timestamps, cfg) for name in channels
    }
    profile = CharacteristicProfile(channels=per_channel)
    _add_correlation(profile, frame, channels)
    return profile


def channel_characteristic(
    column: pd.Series, name: str, timestamps: pd.Series | None, cfg: ProfileConfig
) -> ChannelCharacteristic:
    """Profile one channel; never raises on bad values (constant, missing, short, non-numeric).

    Args:
        column: the channel's values.
        name: channel name.
        timestamps: aligned timestamps or None (change points are then step indices).
        cfg: profiling settings.

    Returns:
        A ChannelCharacteristic with ``not_computable`` filled for every missing field.
    """
    # Single-threaded BLAS: the small OLS fits (ADF, ARCH) are ~8x faster without threads.
    with threadpool_limits(limits=1):
        return _channel_characteristic(column, name, timestamps, cfg)


def _channel_characteristic(
    column: pd.Series, name: str, timestamps: pd.Series | None, cfg: ProfileConfig
) -> ChannelCharacteristic:
    out = ChannelCharacteristic(channel=name)
    x, reason, first = _numeric_values(column)
    if x is None:
        return _give_up(out, reason)
    out.points = len(x)
    if len(x) < MIN_POINTS:
        return _give_up(out, f"only {len(x)} non-missing points; needs at least {MIN_POINTS}")
    if float(np.ptp(x)) == 0.0:
        return _give_up(out, f"constant channel (every value is {x[0]:g}); nothing varies")
    binary = len(np.unique(x[: min(len(x), 100_000)])) <= 2

    # Linear detrend for the period search: a trend's low-frequency power would swamp the
    # periodogram and lift the whole ACF.
    steps = np.arange(len(x), dtype=float)
    detrended = x - np.polyval(np.polyfit(steps, x, 1), steps)
    # At least MIN_CYCLES full cycles: fewer make the spectral background and ACF unreliable.
    max_lag = min(cfg.max_period, len(x) // MIN_CYCLES)
    acf_values: np.ndarray | None = None
    if max_lag >= 2:
        acf_values = acf(detrended, nlags=max_lag, fft=True)
        out.periods = find_periods(detrended, acf_values, max_lag, cfg.top_periods)
        out.acf_lags = _key_lags(acf_values, out.periods)
        if out.periods:
            out.dominant_period = out.periods[0].period
        else:
            _skip(out, ("dominant_period",), "no spectral peak whose cycle the ACF confirms")
    else:
        _skip(
            out,
            ("periods", "dominant_period", "acf_lags"),
            f"{len(x)} points are too short for a period estimate "
            f"(needs {MIN_CYCLES} cycles of period 2)",
        )

    remainder, stl_period = _decompose(out, x, cfg)
    _stationarity(out, x, cfg)
    _volatility(out, x, remainder, cfg)
    if timestamps is not None:
        # x starts at the first non-missing row: align the stamps with it.
        timestamps = timestamps.iloc[first : first + len(x)]
    _change_points(out, x, timestamps, cfg)
    if binary:
        # An indicator (holiday, event) has two levels: a rare level is the signal, not an outlier.
        _skip(out, ("outlier_share",), "binary indicator channel (two levels only)")
    else:
        _outliers(out, remainder, stl_period, cfg)
    out.spectral_entropy = spectral_entropy(detrended)
    out.forecastability = 1.0 - out.spectral_entropy
    return out


# --------------------------------------------------------------------------- helpers


def _numeric_values(column: pd.Series) -> tuple[np.ndarray | None, str, int]:
    """(values, "", first row) with interior gaps interpolated; (None, reason, 0) when unusable."""
    if pd.api.types.is_bool_dtype(column):
        column = column.astype(float)
    if not pd.api.types.is_numeric_dtype(column):
        return None, f"non-numeric dtype {column.dtype}; convert it to float or drop the channel", 0
    values = column.to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(values)
    if not finite.any():
        return None, "all values are missing", 0
    # Leading/trailing gaps are cut, interior gaps interpolated: the statistics need a
    # regular grid, and the representation profile reports how much was missing.
    first, last = np.flatnonzero(finite)[[0, -1]]
    values, finite = values[first : last + 1], finite[first : last + 1]
    if not finite.all():
        idx = np.arange(len(values))
        values = np.interp(idx, idx[finite], values[finite])
    return values, "", int(first)


def _give_up(out: ChannelCharacteristic, reason: str) -> ChannelCharacteristic:
    _skip(out, _ALL_FIELDS, reason)
    return out


def _skip(out: ChannelCharacteristic, fields: tuple[str, ...], reason: str) -> None:
    for field in fields:
        out.not_computable.setdefault(field, reason)


def find_periods(
    detrended: np.ndarray, acf_values: np.ndarray, max_lag: int, top: int
) -> list[PeriodCandidate]:
    """Seasonal period candidates, strongest first (cycle ACF x excess spectral power).

    A candidate starts as a periodogram peak standing ``_MIN_PEAK_RATIO`` times above the
    local median power (red noise is not a cycle). Its period is ``n / k`` for peak bin
    ``k``; where the frequency grid is too coarse to pin it to one step (long periods,
    ``p**2 / n > 1``) it moves to the ACF maximum inside the bin's period interval. The ACF
    then confirms that the cycle returns (``cycle_acf``): after removing variation slower
    than the period, the autocorrelation at the period must exceed ``_MIN_PERIOD_ACF`` and
    the one at half the period by ``_MIN_RETURN``. That drops harmonics (24 for a daily cycle
    in half-hourly data: the lag-12 ACF is as high) and multiples (96 for a 48-step cycle).
    Sidebands within 20 % of a stronger period and weak multiples of it are dropped too;
    a multiple that carries its own power stays (336 = 7 x 48, the weekly cycle).

    Args:
        detrended: the series with its linear trend removed, shape [n].
        acf_values: ACF of ``detrended`` at lags 0..max_lag.
        max_lag: longest period considered (steps).
        top: how many candidates to return.

    Returns:
        Up to ``top`` PeriodCandidates.
    """
    n = len(detrended)
    freqs, power = signal.periodogram(detrended, window="hann", detrend=False)
    total = float(power[1:].sum())
    if total <= 0:
        return []
    # Local background in log space: red noise falls steeply, so compare a bin with its neighbours.
    log_power = pd.Series(np.log(power + 1e-300))
    background = np.exp(log_power.rolling(51, center=True, min_periods=1).median().to_numpy())
    valid = (freqs >= 1.0 / max_lag) & (freqs > 0)
    peaks, _ = signal.find_peaks(np.where(valid, power, 0.0))
    peaks = peaks[power[peaks] >= _MIN_PEAK_RATIO * background[peaks]]
    peaks = peaks[np.argsort(power[peaks])[::-1][: 10 * top]]

    found: dict[int, PeriodCandidate] = {}
    for k in peaks:
        lag = _lag_of_bin(acf_values, n, int(k), max_lag)
        if lag is None:
            continue
        share = _power_share(power, total, int(k), background)
        if share < _MIN_POWER_SHARE or (lag in found and found[lag].power_share >= share):
            continue
        at_period, at_half = cycle_acf(detrended, lag)
        if at_period < _MIN_PERIOD_ACF or at_period - at_half < _MIN_RETURN:
            continue
        found[lag] = PeriodCandidate(
            period=lag, acf=round(at_period, 4), power_share=round(share, 4), source="both"
        )
    # A real cycle both repeats (ACF) and carries variance (power).
    ranked: list[PeriodCandidate] = []
    for cand in sorted(found.values(), key=_score, reverse=True):
        if any(_shadows(base, cand) or _harmonic(base, cand, acf_values) for base in ranked):
            continue
        ranked.append(cand)
    return ranked[:top]


def _score(cand: PeriodCandidate) -> float:
    return max(cand.acf, 0.0) * cand.power_share


def _shadows(base: PeriodCandidate, cand: PeriodCandidate) -> bool:
    """Whether ``cand`` is a sideband or a weak multiple of the stronger ``base``."""
    multiple = max(1, round(cand.period / base.period))
    if abs(cand.period - multiple * base.period) > 0.2 * base.period:
        return False
    return multiple == 1 or cand.power_share < 0.1 * base.power_share


def _harmonic(base: PeriodCandidate, cand: PeriodCandidate, acf_values: np.ndarray) -> bool:
    """Whether ``cand`` is a harmonic of the stronger ``base`` (a non-sinusoidal cycle's
    overtone, e.g. 12 under a peaked 24-step day): base / cand is an integer >= 2 and the
    plain ACF at cand is well below the one at base (a cycle of its own would repeat there)."""
    ratio = base.period / cand.period
    if ratio < 1.8 or abs(ratio - round(ratio)) > 0.1:
        return False
    return acf_values[cand.period] < acf_values[base.period] - 0.2


def _lag_of_bin(acf_values: np.ndarray, n: int, k: int, max_lag: int) -> int | None:
    """Integer period (steps) for periodogram bin k (frequency k/n)."""
    period = n / k
    if period * period / n <= 1.0:
        lag = round(period)
    else:
        # Bin k covers periods n/(k+0.5)..n/(k-0.5): take the ACF maximum there.
        lo = max(2, math.floor(n / (k + 0.5)))
        hi = min(max_lag, math.ceil(n / (k - 0.5)))
        if hi < lo:
            return None
        lag = lo + int(np.argmax(acf_values[lo : hi + 1]))
    return lag if 2 <= lag <= max_lag else None


def cycle_acf(x: np.ndarray, lag: int) -> tuple[float, float]:
    """Autocorrelation at ``lag`` and ``lag // 2`` of x minus its ``lag``-long moving average.

    The moving average over exactly one cycle removes the cycle itself from the smooth, so
    subtracting it keeps a period-``lag`` cycle intact while removing trend and slow
    wander, which otherwise hold the plain ACF high at every lag.

    Args:
        x: values, shape [n].
        lag: candidate period in steps (>= 2).

    Returns:
        (acf at lag, acf at lag // 2); (0, 0) when the series is shorter than 3 cycles.
    """
    if len(x) < 3 * lag:
        return 0.0, 0.0
    csum = np.concatenate(([0.0], np.cumsum(x)))
    smooth = (csum[lag:] - csum[:-lag]) / lag  # smooth[i] = mean(x[i : i + lag])
    y = x[lag // 2 : lag // 2 + len(smooth)] - smooth
    return _lag_corr(y, lag), _lag_corr(y, max(1, lag // 2))


def _lag_corr(y: np.ndarray, lag: int) -> float:
    a, b = y[:-lag], y[lag:]
    sa, sb = float(np.std(a)), float(np.std(b))
    if sa == 0.0 or sb == 0.0:
        return 0.0
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))


def _power_share(power: np.ndarray, total: float, k: int, background: np.ndarray) -> float:
    """Share of total power above background within +-_PEAK_HALF_WIDTH bins of bin k."""
    lo, hi = max(1, k - _PEAK_HALF_WIDTH), min(len(power), k + _PEAK_HALF_WIDTH + 1)
    excess = np.clip(power[lo:hi] - background[lo:hi], 0.0, None)
    return float(excess.sum() / total)


def _key_lags(acf_values: np.ndarray, periods: list[PeriodCandidate]) -> dict[int, float]:
    lags = {1, 2, 3}
    for cand in periods:
        lags.add(cand.period)
    if periods and 2 * periods[0].period < len(acf_values):
        lags.add(2 * periods[0].period)
    return {lag: round(float(acf_values[lag]), 4) for lag in sorted(lags) if lag < len(acf_values)}


def block_mean(x: np.ndarray, block: int) -> np.ndarray:
    """Means of consecutive blocks of ``block`` points, aligned to the END of the series.

    Args:
        x: values, shape [n].
        block: block length (>= 1).

    Returns:
        Shape [n // block]; the oldest ``n % block`` points are dropped.
    """
    if block <= 1:
        return x
    usable = (len(x) // block) * block
    return x[len(x) - usable :].reshape(-1, block).mean(axis=1)


def stl_block(period: int, max_period: int) -> tuple[int, int]:
    """(block, period_after_blocking) so that STL sees a period of at most ``max_period``.

    The smallest divisor of ``period`` that fits keeps the period exact; a period with no
    such divisor is rounded.
    """
    if period <= max_period:
        return 1, period
    for block in range(2, period + 1):
        if period % block == 0 and period // block <= max_period:
            if period // block >= 2:
                return block, period // block
            break
    block = math.ceil(period / max_period)
    return block, max(2, round(period / block))


def _decompose(
    out: ChannelCharacteristic, x: np.ndarray, cfg: ProfileConfig
) -> tuple[np.ndarray, int | None]:
    """Fill trend/seasonal strength from STL (or LOWESS without a period); return the remainder.

    Hyndman & Athanasopoulos (FPP3 4.3): F_T = max(0, 1 - Var(R)/Var(T+R)),
    F_S = max(0, 1 - Var(R)/Var(S+R)).
    """
    period = out.dominant_period
    if period is None:
        # No cycle: trend strength from a LOWESS trend (STL needs a period).
        y = x[-cfg.stl_max_points :]
        trend = lowess(
            y,
            np.arange(len(y), dtype=float),
            frac=0.1,
            it=0,
            delta=0.01 * len(y),
            return_sorted=False,
        )
        remainder = y - trend
        out.trend_strength = _strength(remainder, trend + remainder)
        out.stl_points, out.stl_block = len(y), 1
        _skip(out, ("seasonal_strength",), "no seasonal period found")
        return remainder, None

    block, stl_period = stl_block(period, cfg.stl_max_period)
    y = block_mean(x[-cfg.stl_max_points * block :], block)
    if len(y) < 2 * stl_period + 1:
        reason = f"STL needs two cycles of period {stl_period}; got {len(y)} points"
        _skip(out, ("trend_strength", "seasonal_strength"), reason)
        return y - np.mean(y), None
    fit = STL(y, period=stl_period).fit()
    trend, seasonal, remainder = fit.trend, fit.seasonal, fit.resid
    out.trend_strength = _strength(remainder, trend + remainder)
    out.seasonal_strength = _strength(remainder, seasonal + remainder)
    out.stl_points, out.stl_block = len(y), block
    return np.asarray(remainder), stl_period


def _strength(remainder: np.ndarray, component_plus_remainder: np.ndarray) -> float:
    denom = float(np.var(component_plus_remainder))
    if denom == 0.0:
        return 0.0
    return round(max(0.0, 1.0 - float(np.var(remainder)) / denom), 4)


def _stationarity(out: ChannelCharacteristic, x: np.ndarray, cfg: ProfileConfig) -> None:
    y = block_mean(x, math.ceil(len(x) / cfg.test_max_points))
    if len(y) < MIN_POINTS or np.ptp(y) == 0:
        reason = f"block means ({len(y)} points) too short or constant for ADF/KPSS"
        _skip(out, ("adf_pvalue", "kpss_pvalue", "stationarity"), reason)
        return
    maxlag = min(int(12 * (len(y) / 100) ** 0.25), len(y) // 4)
    with warnings.catch_warnings():
        # statsmodels 0.15 announces a return-type change; the tuple is what we read here.
        warnings.simplefilter("ignore", FutureWarning)
        # KPSS p-values come from a table and are bounded to [0.01, 0.1]; the schema says so.
        warnings.simplefilter("ignore", InterpolationWarning)
        adf_p = float(adfuller(y, maxlag=maxlag, autolag="AIC")[1])
        kpss_p = float(kpss(y, regression="c", nlags="auto")[1])
    out.adf_pvalue, out.kpss_pvalue = round(adf_p, 6), round(kpss_p, 6)
    out.stationarity = stationarity(adf_p, kpss_p, cfg.alpha)


def stationarity(adf_p: float, kpss_p: float, alpha: float) -> str:
    """Combine ADF (H0 unit root) and KPSS (H0 stationary), as in the statsmodels guide.

    Returns:
        "stationary" (ADF rejects, KPSS does not), "non_stationary" (KPSS rejects, ADF does
        not), "trend_stationary" (neither rejects) or "difference_stationary" (both reject).
    """
    adf_rejects, kpss_rejects = adf_p < alpha, kpss_p < alpha
    if adf_rejects and not kpss_rejects:
        return "stationary"
    if kpss_rejects and not adf_rejects:
        return "non_stationary"
    return "difference_stationary" if adf_rejects else "trend_stationary"


def _volatility(
    out: ChannelCharacteristic, x: np.ndarray, remainder: np.ndarray, cfg: ProfileConfig
) -> None:
    out.volatility = round(float(np.std(np.diff(x)) / np.std(x)), 4)
    # The last segment, not block means: averaging would smooth away volatility clusters.
    r = np.asarray(remainder[-cfg.test_max_points :], dtype=float)
    if len(r) < MIN_POINTS or np.ptp(r) == 0:
        _skip(out, ("arch_lm_pvalue",), "remainder too short or constant for the ARCH LM test")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        p = float(het_arch(r - r.mean(), nlags=min(12, len(r) // 10))[1])
    out.arch_lm_pvalue = round(p, 6)
    out.heteroscedastic = p < cfg.alpha


def _change_points(
    out: ChannelCharacteristic, x: np.ndarray, timestamps: pd.Series | None, cfg: ProfileConfig
) -> None:
    """Level shifts by PELT (l2 cost) on block means.

    Blocks span whole cycles of the dominant period so the cycle itself is not a "change";
    the penalty is BIC-like, 2*log(n) scaled by the noise variance estimated from first
    differences (robust to the shifts themselves), tripled because block means are
    autocorrelated.
    """
    period = out.dominant_period or 1
    n_blocks = min(500, cfg.test_max_points)
    block = period * max(1, math.ceil(len(x) / (period * n_blocks)))
    z = block_mean(x, block)
    if len(z) < 10:
        _skip(out, ("change_points",), f"{len(z)} blocks of {block} steps; needs at least 10")
        return
    diffs = np.diff(z)
    sigma = float(np.median(np.abs(diffs - np.median(diffs)))) / (0.6745 * math.sqrt(2))
    if sigma == 0.0:
        sigma = float(np.std(diffs)) or 1.0
    penalty = 3 * 2 * math.log(len(z)) * sigma**2
    # KernelCPD with a linear kernel is PELT with the l2 cost, in C (100x faster than Pelt).
    detector = ruptures.KernelCPD(kernel="linear", min_size=max(2, len(z) // 50))
    ends = [int(e) for e in detector.fit(z).predict(pen=penalty)]
    offset = len(x) - len(z) * block  # block_mean drops the oldest points
    steps = [offset + end * block for end in ends[:-1]]  # last "end" is the series end
    if timestamps is not None:
        stamps = timestamps.reset_index(drop=True)
        out.change_points = [pd.Timestamp(stamps.iloc[s]).isoformat() for s in steps]
    else:
        out.change_points = [str(s) for s in steps]


def _outliers(
    out: ChannelCharacteristic, remainder: np.ndarray, period: int | None, cfg: ProfileConfig
) -> None:
    """Share of remainder points with |modified z| > cfg.outlier_z (Iglewicz & Hoaglin).

    STL's seasonal smoother spreads a spike into the same phase of the neighbouring cycles,
    where it shows up as an echo of opposite sign one, two or three periods away. A flagged
    point with a larger flagged point exactly k periods away (k <= 3) is such an echo and
    is not counted: on a sine + noise with 1 % injected spikes the share is 1.0 % instead
    of 2.2 %.
    """
    r = np.asarray(remainder, dtype=float)
    med = float(np.median(r))
    mad = float(np.median(np.abs(r - med)))
    if mad > 0:
        z = np.abs(0.6745 * (r - med) / mad)
    else:
        # More than half the remainder is identical: fall back to the mean absolute deviation.
        mean_ad = float(np.mean(np.abs(r - med)))
        if mean_ad == 0:
            out.outlier_share = 0.0
            return
        z = np.abs(r - med) / (1.253314 * mean_ad)
    flagged = z > cfg.outlier_z
    if period is not None:
        echo = np.zeros(len(z), dtype=bool)
        for shift in (period, 2 * period, 3 * period):
            if shift >= len(z):
                break
            # later[t] = z[t + shift], earlier[t] = z[t - shift]
            later, earlier = z[shift:], z[:-shift]
            echo[:-shift] |= flagged[shift:] & (later > z[:-shift])
            echo[shift:] |= flagged[:-shift] & (earlier > z[shift:])
        flagged &= ~echo
    out.outlier_share = round(float(np.mean(flagged)), 6)


def spectral_entropy(x: np.ndarray) -> float:
    """Normalised Shannon entropy of the Welch spectrum: 0 = one pure cycle, 1 = white noise.

    Args:
        x: the (detrended) series, shape [n], n >= 16.

    Returns:
        Entropy in [0, 1].
    """
    _, psd = signal.welch(x, nperseg=min(len(x), 512))
    psd = psd[1:]  # drop DC: the mean is not a cycle
    total = psd.sum()
    if total <= 0 or len(psd) < 2:
        return 1.0
    p = psd / total
    p = p[p > 0]
    return round(float(-(p * np.log(p)).sum() / math.log(len(psd))), 4)


def _add_correlation(
    profile: CharacteristicProfile, frame: pd.DataFrame, channels: list[str]
) -> None:
    usable = [
        name
        for name in channels
        if pd.api.types.is_numeric_dtype(frame[name])
        and frame[name].notna().sum() >= MIN_POINTS
        and frame[name].nunique(dropna=True) > 1
    ]
    if len(usable) < 2:
        profile.not_computable["correlation"] = (
            f"needs at least two numeric, non-constant channels; usable: {usable}"
        )
        return
    values = frame[usable].astype(float)
    pearson = values.corr(method="pearson")
    spearman = values.corr(method="spearman")
    profile.correlation = {
        a: {b: round(float(pearson.loc[a, b]), 4) for b in usable} for a in usable
    }
    pairs = [
        CorrelationPair(
            a=a,
            b=b,
            pearson=round(float(pearson.loc[a, b]), 4),
            spearman=round(float(spearman.loc[a, b]), 4),
        )
        for i, a in enumerate(usable)
        for b in usable[i + 1 :]
    ]
    profile.pairs = sorted(pairs, key=lambda p: abs(p.pearson), reverse=True)
