"""Pure helpers of the training worker."""

from __future__ import annotations

import pytest
import torch

from components.config import TrainConfig
from components.training.worker import TrainingDiverged, _check_finite, capped_indices


def test_capped_indices_spread_over_the_whole_range():
    idx = capped_indices(1000, 5)
    assert idx == [0, 250, 500, 749, 999]
    assert capped_indices(3, 10) == [0, 1, 2]
    assert capped_indices(4, None) == [0, 1, 2, 3]


def test_nan_loss_names_the_step_and_the_knobs():
    cfg = TrainConfig(lr=0.5)
    with pytest.raises(TrainingDiverged, match=r"step 17: lower train\.lr \(now 0\.5\)"):
        _check_finite(torch.tensor(float("nan")), 17, cfg)
    _check_finite(torch.tensor(1.0), 1, cfg)  # finite: no error
