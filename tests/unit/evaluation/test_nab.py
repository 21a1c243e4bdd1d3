"""The NAB scorer: hand-computed cases, its sweep against direct scoring, and NAB's published figures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsalign.components.data.anomaly import load_nab_corpus
from tsalign.components.evaluation import nab

NAB = Path(__file__).resolve().parents[4] / "shared" / "data" / "nab"
WG = NAB / "results" / "windowedGaussian"
STANDARD = nab.Profile("standard", tp=1.0, fp=0.11, fn=1.0)
# final_results.json: windowedGaussian standard / low FP / low FN.
PUBLISHED = {"standard": 39.6495, "reward_low_FP_rate": 20.8680, "reward_low_FN_rate": 47.4100}


def test_scaled_sigmoid_matches_nab_docstring_values():
    values = nab.scaled_sigmoid(np.array([-1.0, -0.5, 0.0, 1.0, 3.5]))
    assert values == pytest.approx([0.98661, 0.84828, 0.0, -0.98661, -1.0], abs=1e-5)


@pytest.mark.parametrize(("rows", "expected"), [(100, 15), (4032, 604), (22695, 750), (7, 1)])
def test_probationary_rows_is_15_percent_capped_at_750(rows, expected):
    assert nab.probationary_rows(rows) == expected


def _file(scores: list[float], windows=((10, 13),)) -> nab.ScoredFile:
    return nab.ScoredFile("f.csv", np.array(scores, dtype=float), tuple(windows))


def test_first_row_of_window_earns_full_tp_and_miss_costs_fn():
    scores = [0.0] * 20
    scores[10] = 1.0  # rows 0..2 probationary (floor(0.15 * 20) = 3)
    hit = nab.score_file(_file(scores), STANDARD, threshold=0.5)
    assert hit.score == pytest.approx(1.0)
    assert (hit.tp, hit.fp, hit.fn, hit.tn, hit.total) == (1, 0, 3, 13, 20)
    miss = nab.score_file(_file([0.0] * 20), STANDARD, threshold=0.5)
    assert miss.score == pytest.approx(-1.0)


def test_later_detection_earns_less_and_only_the_best_counts():
    late = [0.0] * 20
    late[12] = 1.0
    # position -(13 - 12 + 1) / 4 = -0.5
    expected = nab.scaled_sigmoid(-0.5) / nab.scaled_sigmoid(-1.0)
    assert nab.score_file(_file(late), STANDARD, 0.5).score == pytest.approx(expected)
    both = list(late)
    both[10] = 1.0
    assert nab.score_file(_file(both), STANDARD, 0.5).score == pytest.approx(1.0)


def test_false_positives_cost_fp_weight_by_distance_after_window():
    scores = [0.0] * 20
    scores[5] = 1.0  # before any window: -fp
    scores[15] = 1.0  # |13 - 15| / (4 - 1) past the window's right edge
    score = nab.score_file(_file(scores), STANDARD, 0.5).score
    expected = -0.11 + 0.11 * float(nab.scaled_sigmoid(2 / 3)) - 1.0  # the window is missed
    assert score == pytest.approx(expected)


def test_probationary_detections_count_for_nothing():
    scores = [0.0] * 20
    scores[1] = 1.0
    assert nab.score_file(_file(scores, windows=()), STANDARD, 0.5).score == 0.0


def test_sweep_agrees_with_direct_scoring_at_every_threshold():
    rng = np.random.default_rng(0)
    files = [
        nab.ScoredFile("a", rng.random(300).round(2), ((100, 140), (200, 230))),
        nab.ScoredFile("b", rng.random(200).round(2), ((10, 20), (150, 170))),  # one in probation
        nab.ScoredFile("c", rng.random(120).round(2), ()),
    ]
    sweep = nab.sweep_thresholds(files, STANDARD)
    assert sweep["threshold"].iloc[0] == nab.NO_DETECTION
    for row in sweep.sample(20, random_state=0).itertuples():
        direct = [nab.score_file(f, STANDARD, row.threshold) for f in files]
        assert row.score == pytest.approx(sum(d.score for d in direct))
        assert row.tp == sum(d.tp for d in direct) and row.fp == sum(d.fp for d in direct)


def test_optimiser_prefers_the_higher_threshold_on_a_tie():
    # Every row outside windows and no windows: detecting anything only costs.
    files = [nab.ScoredFile("a", np.full(50, 0.7), ())]
    threshold, raw = nab.optimise_threshold(files, STANDARD)
    assert (threshold, raw) == (nab.NO_DETECTION, 0.0)


def test_bad_scores_are_refused_with_the_file_name():
    with pytest.raises(ValueError, match=r"f\.csv.*\[0, 1\]"):
        nab.score_file(_file([2.0] * 20), STANDARD, 0.5)
    with pytest.raises(ValueError, match=r"f\.csv.*outside"):
        nab.score_file(_file([0.0] * 12), STANDARD, 0.5)


def test_point_f1_labels_both_kinds():
    scores = [0.0] * 20
    scores[11] = 1.0
    out = nab.point_f1([_file(scores)], threshold=0.5)
    assert out["pointwise_recall"] == pytest.approx(1 / 4)
    assert out["point_adjusted_recall"] == 1.0
    assert out["pointwise_precision"] == out["point_adjusted_precision"] == 1.0


@pytest.fixture(scope="module")
def windowed_gaussian_files() -> list[nab.ScoredFile]:
    files = []
    for series in load_nab_corpus(NAB):
        group, name = series.name.split("/")
        raw = pd.read_csv(WG / group / f"windowedGaussian_{name}")
        assert len(raw) == len(series.values)
        files.append(
            nab.ScoredFile(series.name, raw["anomaly_score"].to_numpy(), series.window_rows)
        )
    return files


@pytest.mark.slow  # reads all 58 series and their published scores
@pytest.mark.parametrize("profile_name", sorted(PUBLISHED))
def test_reproduces_windowed_gaussian_published_scores(windowed_gaussian_files, profile_name):
    profile = nab.load_profiles(NAB / "config" / "profiles.json")[profile_name]
    result = nab.score_corpus(windowed_gaussian_files, profile)
    published = pd.read_csv(WG / f"windowedGaussian_{profile_name}_scores.csv")
    totals = published[published["Detector"] == "Totals"].iloc[0]
    per_file = published[published["File"].notna()].set_index("File")

    assert result.threshold == per_file["Threshold"].iloc[0] == 1.0
    assert result.raw == pytest.approx(totals["Score"], abs=1e-6)
    assert result.normalised == pytest.approx(PUBLISHED[profile_name], abs=0.05)
    assert round(result.normalised, 1) == round(PUBLISHED[profile_name], 1)
    assert len(result.per_file) == len(per_file) == 58
    for ours in result.per_file:
        theirs = per_file.loc[ours.name]
        assert ours.score == pytest.approx(theirs["Score"], abs=1e-6), ours.name
        counts = (ours.tp, ours.tn, ours.fp, ours.fn, ours.total)
        assert counts == tuple(theirs[["TP", "TN", "FP", "FN", "Total_Count"]]), ours.name
    assert result.null == -profile.fn * 116 and math.isclose(result.perfect, 116.0)
