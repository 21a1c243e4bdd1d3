"""Classic anomaly detectors: each maps a series to one score in [0, 1] per row, online.

* ``windowed_gaussian``: numenta/NAB's ``WindowedGaussianDetector`` (commit ea702d7), row
  by row as NAB runs it: a row's score is ``1 - Q(|x - mean| / std)`` over a window of
  earlier rows that grows to 6400 rows, then slides 100 rows at a time.
* ``isolation_forest``: scikit-learn's IsolationForest fit only on the probationary rows
  (NAB's first 15%, at most 750) of lag vectors that end at each row, so that a row's
  score uses no later row; its score is the forest's own ``2^(-E[h] / c(n))`` in (0, 1].

Neither sees labels. Look them up by name with :func:`get_detector`:

    scores = get_detector("isolation_forest")(values, probation_rows=750, seed=0)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np


class AnomalyDetector(Protocol):
    """values [rows] -> anomaly scores [rows] in [0, 1]; may fit on the first probation_rows."""

    def __call__(self, values: np.ndarray, probation_rows: int, seed: int) -> np.ndarray: ...


def _tail_probability(x: float, mean: float, std: float) -> float:
    """NAB's ``normalProbability``: P(sample farther from the mean than x), one tail."""
    if x < mean:
        # Reflected exactly as NAB does, so that scores that round to 1.0 match its own.
        x = 2 * mean - x
    z = (x - mean) / std
    return 0.5 * math.erfc(z / math.sqrt(2))


def windowed_gaussian(
    values: np.ndarray, probation_rows: int = 0, seed: int = 0, window: int = 6400, step: int = 100
) -> np.ndarray:
    """NAB's windowed Gaussian detector (window 6400 rows, slid by 100; tuned by NAB on NAB).

    Args:
        values: [rows] the series.
        probation_rows: unused (the detector is online from the first row); kept for the
            common detector signature.
        seed: unused (deterministic).
        window: rows in the full window.
        step: rows the full window slides by.

    Returns:
        [rows] scores; the first row scores 0.
    """
    del probation_rows, seed
    values = np.asarray(values, dtype=np.float64)
    scores = np.zeros(values.size)
    start = end = pending = 0  # the window is values[start:end]
    mean, std = 0.0, 1.0
    for i, x in enumerate(values.tolist()):
        if end > start:
            scores[i] = 1.0 - _tail_probability(x, mean, std)
        if end - start < window:
            end += 1
        else:
            pending += 1
            if pending < step:
                continue
            start, end, pending = start + step, end + step, 0
        mean, std = float(np.mean(values[start:end])), float(np.std(values[start:end]))
        if std == 0.0:
            std = 0.000001  # NAB's floor for a flat window
    return scores


def lag_matrix(values: np.ndarray, lags: int) -> np.ndarray:
    """[rows, lags] vectors of each row and the ``lags - 1`` rows before it.

    Rows before the first full vector repeat the first value, so row t never sees t + 1.
    """
    values = np.asarray(values, dtype=np.float64)
    padded = np.concatenate([np.full(lags - 1, values[0]), values])
    return np.lib.stride_tricks.sliding_window_view(padded, lags)


def isolation_forest(
    values: np.ndarray, probation_rows: int, seed: int = 0, lags: int = 8, trees: int = 100
) -> np.ndarray:
    """scikit-learn IsolationForest on lag vectors, fit on the probationary rows only.

    Args:
        values: [rows] the series.
        probation_rows: rows the forest may fit on (NAB: first 15%, at most 750).
        seed: the forest's random_state.
        lags: length of each row's lag vector (the row and the lags - 1 before it).
        trees: number of trees.

    Returns:
        [rows] scores in (0, 1]: the forest's anomaly score, higher is more anomalous.

    Raises:
        ValueError: fewer than 2 probationary rows.
    """
    from sklearn.ensemble import IsolationForest

    if probation_rows < 2:
        raise ValueError(
            f"isolation_forest needs at least 2 probationary rows, got {probation_rows}"
        )
    features = lag_matrix(values, lags)  # [rows, lags]
    forest = IsolationForest(n_estimators=trees, random_state=seed)
    forest.fit(features[:probation_rows])
    # score_samples is minus the paper's score s = 2^(-E[h(x)] / c(n)).
    return -forest.score_samples(features)


DETECTORS: dict[str, Callable[..., np.ndarray]] = {
    "windowed_gaussian": windowed_gaussian,
    "isolation_forest": isolation_forest,
}


def get_detector(name: str) -> AnomalyDetector:
    """The detector registered under ``name``.

    Raises:
        KeyError: an unknown name; the message lists the valid ones.
    """
    if name not in DETECTORS:
        raise KeyError(f"unknown anomaly detector {name!r}; valid: {sorted(DETECTORS)}")
    return DETECTORS[name]
