"""Metric functions against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from components.evaluation import metrics as M

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
