"""Classification evaluation pieces: scores, intervals read as accuracy, refused models."""

from __future__ import annotations

import numpy as np
import pytest

from tsalign.components.data.panel_inputs import PanelScaler
from tsalign.components.evaluation.classification import (
    ClassificationError,
    accuracy_view,
    check_classifier,
    cross_entropy,
    scores,
)
from tsalign.components.evaluation.intervals import compare_llm_models
from tsalign.components.models import ModelSpec


def test_scores_and_cross_entropy_by_hand() -> None:
    out = scores(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]))
    assert out["accuracy"] == 0.75 and out["error_rate"] == 0.25
    probs = np.array([[0.5, 0.5], [0.25, 0.75]])
    assert cross_entropy(probs, np.array([0, 1])) == pytest.approx(
        -(np.log(0.5) + np.log(0.75)) / 2
    )


def test_an_interval_on_errors_reads_as_an_accuracy_difference() -> None:
    rng = np.random.default_rng(0)
    better = (rng.random(200) < 0.1).astype(float)  # per-instance errors of the LM model
    worse = (rng.random(200) < 0.4).astype(float)
    comparisons = compare_llm_models(
        {"gpt4ts": better, "minirocket": worse},
        {"gpt4ts": better.mean(), "minirocket": worse.mean()},
        {"gpt4ts": "internal", "minirocket": "baseline"},
        {"gpt4ts": []},
        block=1,
    )
    view = accuracy_view(next(c for c in comparisons if c.kind == "baseline"))
    d = view["accuracy_difference"]
    assert d["estimate"] == pytest.approx(worse.mean() - better.mean())  # positive: LM better
    assert d["low"] <= d["estimate"] <= d["high"] and d["low"] > 0
    assert view["verdict"] == "beats minirocket"


def test_a_model_for_another_panel_layout_is_refused() -> None:
    scaler = PanelScaler(["a", "b"], np.zeros(2), np.ones(2), ["x", "y", "z"], 10)
    spec = ModelSpec(seq_len=10, horizon=1, n_channels=2, task="classify", n_classes=4)
    with pytest.raises(ClassificationError, match="into 4 classes; this panel has 2 x 10 and 3"):
        check_classifier("m", spec, scaler)
    with pytest.raises(ClassificationError, match="is a 'forecast' model, not a classifier"):
        check_classifier("m", ModelSpec(seq_len=10, horizon=2, n_channels=2), scaler)
