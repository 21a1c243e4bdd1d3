"""The search spaces catalogue entries declare: valid config paths and values, fair and reaching low rates."""

from __future__ import annotations

import pytest

from tsalign.components.config import ConfigError, ModelConfig, RunConfig
from tsalign.components.models.catalogue import Entry, get_entry, list_models
from tsalign.components.models.search_space import Choice, LogUniform, Uniform, flat, nested
from tsalign.components.training.tuning import check_space

TRAINABLE = [name for name in list_models() if get_entry(name).trainable]


@pytest.mark.parametrize("name", TRAINABLE)
def test_every_bound_and_choice_is_a_valid_setting(name: str) -> None:
    # Probes each bound and each choice through the config schema, so a renamed field
    # or a value out of a field's bounds fails here rather than in a trial.
    entry = get_entry(name)
    assert entry.search_space, f"{name} is trainable but declares no search space"
    check_space(RunConfig(model=ModelConfig(name=name)), entry.search_space)


@pytest.mark.parametrize("name", TRAINABLE)
def test_learning_rates_reach_down_to_1e_5(name: str) -> None:
    (lr,) = [d for d in get_entry(name).search_space if d.path == "train.lr"]
    assert isinstance(lr, LogUniform) and lr.low <= 1e-5 and lr.high >= 1e-3


def test_an_ablation_is_searched_over_the_space_of_what_it_ablates() -> None:
    for name in TRAINABLE:
        entry = get_entry(name)
        if entry.ablation_of:
            assert entry.search_space == get_entry(entry.ablation_of).search_space, name


def test_the_epoch_budget_is_not_a_dimension() -> None:
    with pytest.raises(ValueError, match=r"train\.epochs.*budget"):
        Entry(
            "x",
            "m:f",
            paradigm="baseline",
            summary="s",
            search_space=(Choice("train.epochs", (1, 2)),),
        )


def test_a_path_named_twice_is_refused() -> None:
    with pytest.raises(ValueError, match=r"train\.lr.*more than once"):
        Entry(
            "x",
            "m:f",
            paradigm="baseline",
            summary="s",
            search_space=(LogUniform("train.lr", 1e-5, 1e-3), Uniform("train.lr", 0.1, 0.2)),
        )


def test_a_value_the_schema_refuses_is_named_with_its_path() -> None:
    space = (Choice("model.params.dropout", (0.1, 1.5)),)
    with pytest.raises(ConfigError, match=r"model\.params\.dropout=1\.5") as err:
        check_space(RunConfig(model=ModelConfig(name="gpt4ts")), space)
    assert "less than 1" in str(err.value)


def test_a_misspelt_path_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"train\.lrr.*fix its spelling"):
        check_space(RunConfig(), (LogUniform("train.lrr", 1e-5, 1e-3),))


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="0 < low < high"):
        LogUniform("train.lr", 0.0, 1e-3)
    with pytest.raises(ValueError, match="at least two"):
        Choice("model.n_layers", (2,))


def test_nested_and_flat_are_inverse() -> None:
    settings = {"train.lr": 1e-4, "model.params.dropout": 0.2, "model.n_layers": 3}
    assert nested(settings) == {
        "train": {"lr": 1e-4},
        "model": {"params": {"dropout": 0.2}, "n_layers": 3},
    }
    assert flat(nested(settings)) == settings
