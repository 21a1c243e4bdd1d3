"""Promotion gates on numbers alone."""

from __future__ import annotations

import math

import pytest

from tsalign.components.registry.gates import select_candidate, should_promote

BASE = {"mse": 1.0}


def test_promotes_when_beating_champion_and_baseline() -> None:
    ok, why = should_promote({"val_loss": 0.4, "mse": 0.8}, {"val_loss": 0.5, "mse": 0.7}, BASE)
    assert ok
    assert "0.4 < 0.5" in why and "0.8 < 1" in why


def test_first_version_needs_only_the_baseline() -> None:
    assert should_promote({"val_loss": 9.0, "mse": 0.9}, None, BASE) == (
        True,
        "no current champion; beats seasonal-naive on test mse (0.9 < 1)",
    )


@pytest.mark.parametrize("test_mse", [1.0, 1.5])
def test_refuses_when_not_beating_seasonal_naive(test_mse: float) -> None:
    ok, why = should_promote({"val_loss": 0.1, "mse": test_mse}, None, BASE)
    assert not ok
    assert "does not beat seasonal-naive" in why


def test_refuses_when_not_beating_champion_on_validation() -> None:
    # Better on test than the champion is not enough: test data never picks between candidates.
    ok, why = should_promote({"val_loss": 0.5, "mse": 0.1}, {"val_loss": 0.5, "mse": 0.9}, BASE)
    assert not ok
    assert why == "does not beat the champion on val_loss: 0.5 >= 0.5"


def test_non_finite_candidate_is_refused() -> None:
    ok, why = should_promote({"val_loss": math.nan, "mse": 0.5}, None, BASE)
    assert not ok and "not finite" in why


def test_champion_without_metric_is_refused_with_advice() -> None:
    ok, why = should_promote({"val_loss": 0.1, "mse": 0.5}, {"mae": 1.0}, BASE)
    assert not ok and "promote by hand" in why


def test_missing_candidate_metric_is_a_config_error() -> None:
    with pytest.raises(ValueError, match=r"candidate metrics have no 'val_loss' \(have: mse\)"):
        should_promote({"mse": 0.5}, None, BASE)
    with pytest.raises(ValueError, match="baseline metrics have no 'mae'"):
        should_promote({"val_loss": 0.1, "mae": 0.5}, None, BASE, test_metric="mae")


def test_custom_metric_names() -> None:
    ok, _ = should_promote(
        {"val_mae": 0.2, "mae": 0.3},
        {"val_mae": 0.25},
        {"mae": 0.4},
        val_metric="val_mae",
        test_metric="mae",
    )
    assert ok


# ---- choosing the candidate to publish -----------------------------------------------------

VAL = {"gpt4ts": 0.45, "patchtst": 0.40, "dlinear": 0.42}
TEST = {"gpt4ts": {"mse": 0.50}, "patchtst": {"mse": 0.60}, "dlinear": {"mse": 0.30}}


def test_best_val_ranks_on_validation_even_when_test_disagrees() -> None:
    # dlinear is best on test, patchtst on validation: validation decides.
    chosen = select_candidate(VAL, TEST, BASE, mode="best_val", primary="gpt4ts")
    assert chosen.name == "patchtst"
    assert "patchtst won on validation (val_loss 0.4) over dlinear (0.42) by 0.02" in chosen.reason


def test_model_mode_publishes_model_name() -> None:
    chosen = select_candidate(VAL, TEST, BASE, mode="model", primary="gpt4ts")
    assert chosen.name == "gpt4ts" and "publish.select=model" in chosen.reason


def test_candidates_failing_the_seasonal_naive_floor_are_not_eligible() -> None:
    chosen = select_candidate(VAL, TEST, {"mse": 0.55}, mode="best_val", primary="gpt4ts")
    assert chosen.name == "dlinear"
    assert "not eligible: patchtst (test mse 0.6 does not beat seasonal-naive's 0.55)" in (
        chosen.reason
    )


def test_when_none_beats_seasonal_naive_the_best_on_validation_is_published_unpromoted() -> None:
    chosen = select_candidate(VAL, TEST, {"mse": 0.1}, mode="best_val", primary="gpt4ts")
    assert chosen.name == "patchtst"
    assert "none will be promoted" in chosen.reason


def test_non_finite_validation_never_wins() -> None:
    val = {"gpt4ts": math.nan, "dlinear": 0.9}
    chosen = select_candidate(val, TEST, BASE, mode="best_val", primary="gpt4ts")
    assert chosen.name == "dlinear" and "only eligible candidate" in chosen.reason
