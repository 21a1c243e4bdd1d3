"""Metric functions against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from tsalign.components.evaluation import metrics as M

PRED = np.array([[[1.0], [2.0]], [[3.0], [5.0]]])  # [2 windows, 2 steps, 1 channel]
TRUE = np.array([[[1.0], [4.0]], [[2.0], [5.0]]])


def test_mse_and_mae_by_hand():
    # errors: 0, -2, 1, 0 -> squared 0, 4, 1, 0
    assert M.mse(PRED, TRUE) == pytest.approx(5 / 4)
    assert M.mae(PRED, TRUE) == pytest.approx(3 / 4)


def test_smape_by_hand():
    # 2|e|/(|p|+|t|): 0, 4/6, 2/5, 0 -> mean 0.2666..., in percent
    assert M.smape(PRED, TRUE) == pytest.approx(100 * (4 / 6 + 2 / 5) / 4)
    assert M.smape(np.zeros(3), np.zeros(3)) == 0.0


def test_mase_scale_and_value_by_hand():
    train = np.array([[1.0], [3.0], [2.0], [6.0]])
    scale = M.mase_scale(train, season=2)  # |2-1|, |6-3| -> 2
    assert scale.tolist() == [2.0]
    assert M.mase(PRED, TRUE, scale) == pytest.approx((3 / 4) / 2)


def test_mase_needs_more_history_than_the_season():
    with pytest.raises(ValueError, match="more than 4 training points"):
        M.mase_scale(np.ones((4, 1)), season=4)


def test_classification_scores_by_hand():
    true = np.array([0, 0, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 0])
    scores = M.classification_scores(pred, true)
    assert scores["accuracy"] == pytest.approx(3 / 5)
    # per class F1: c0 p=1/2 r=1/2 -> 0.5; c1 p=2/3 r=1 -> 0.8; c2 -> 0
    assert scores["f1_macro"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_anomaly_scores_by_hand():
    truth = np.array([0, 1, 1, 0, 1, 0], dtype=bool)
    flags = np.array([1, 1, 0, 0, 1, 0], dtype=bool)
    scores = M.anomaly_scores(flags, truth)  # tp 2, fp 1, fn 1
    assert scores == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})


def test_point_adjust_flags_whole_segment_when_one_row_is_hit():
    truth = np.array([0, 1, 1, 1, 0, 1, 1, 0], dtype=bool)
    flags = np.array([1, 0, 1, 0, 0, 0, 0, 0], dtype=bool)
    assert M.point_adjust(flags, truth).astype(int).tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
