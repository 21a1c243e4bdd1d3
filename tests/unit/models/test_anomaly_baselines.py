"""Classic anomaly detectors: NAB's windowed Gaussian reproduced, isolation forest without look-ahead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsalign.components.data.anomaly import load_nab_corpus
from tsalign.components.models.anomaly_baselines import (
    get_detector,
    isolation_forest,
    windowed_gaussian,
)

NAB = Path(__file__).resolve().parents[4] / "shared" / "data" / "nab"


@pytest.mark.parametrize(
    "name",
    # nyc_taxi (10320 rows) slides the full window; art_flatline has a zero-std window.
    ["realKnownCause/nyc_taxi.csv", "artificialNoAnomaly/art_flatline.csv"],
)
def test_windowed_gaussian_reproduces_nab_raw_scores(name):
    (series,) = load_nab_corpus(NAB, names=[name])
    group, file = name.split("/")
    published = pd.read_csv(
        NAB / "results" / "windowedGaussian" / group / f"windowedGaussian_{file}"
    )
    ours = windowed_gaussian(series.values)
    expected = published["anomaly_score"].to_numpy()
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-9)
    # Its tuned threshold is 1.0, so the rows that reach exactly 1.0 must be the same.
    assert np.array_equal(ours == 1.0, expected == 1.0)


def _series(rows: int = 1000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sin(np.arange(rows) * 2 * np.pi / 50) + 0.1 * rng.standard_normal(rows)


def test_isolation_forest_uses_no_later_row_and_flags_a_spike():
    values = _series()
    scores = isolation_forest(values, probation_rows=150, seed=0)
    changed = values.copy()
    changed[600:] += 50.0  # a level shift after row 600 must not move any earlier score
    shifted = isolation_forest(changed, probation_rows=150, seed=0)
    np.testing.assert_array_equal(scores[:600], shifted[:600])
    # Row 607 is the first whose whole 8-row lag vector lies after the shift.
    assert shifted[607] > scores[150:600].max()
    assert np.all((scores > 0) & (scores <= 1))


def test_isolation_forest_is_seeded_and_needs_probation_rows():
    values = _series()
    np.testing.assert_array_equal(
        isolation_forest(values, 150, seed=3), isolation_forest(values, 150, seed=3)
    )
    with pytest.raises(ValueError, match="at least 2 probationary rows"):
        isolation_forest(values, probation_rows=1)


def test_unknown_detector_lists_valid_names():
    assert get_detector("windowed_gaussian") is windowed_gaussian
    with pytest.raises(KeyError, match=r"valid: \['isolation_forest', 'windowed_gaussian'\]"):
        get_detector("htm")
