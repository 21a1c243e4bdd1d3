import pytest
import torch

from components.config import ModelConfig
from components.models import ModelBuildError, ModelSpec, build_model, get_entry, list_models
from components.models.catalogue import register


def test_unknown_name_lists_valid_names(spec):
    with pytest.raises(ModelBuildError, match="valid names") as err:
        build_model(ModelConfig(name="gpt5ts"), spec)
    assert "gpt4ts" in str(err.value)


def test_duplicate_registration_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register("naive", paradigm="baseline", summary="dup")(lambda cfg, spec: torch.nn.Identity())


def test_unsupported_task_names_the_models_that_support_it():
    spec = ModelSpec(seq_len=32, horizon=1, n_channels=2, task="classify", n_classes=3)
    with pytest.raises(ModelBuildError, match="models for 'classify'") as err:
        build_model(ModelConfig(name="naive"), spec)
    assert "gpt4ts" in str(err.value)


def test_catalogue_holds_the_core_entries():
    names = set(list_models())
    assert {
        "gpt4ts",
        "gpt4ts_lora",
        "naive",
        "seasonal_naive",
        "gpt4ts_wo_llm",
        "gpt4ts_llm2attn",
        "gpt4ts_llm2trans",
    } <= names


def test_spec_validation_names_the_field():
    with pytest.raises(ModelBuildError, match="n_classes"):
        ModelSpec(seq_len=32, horizon=1, n_channels=1, task="classify")
    with pytest.raises(ModelBuildError, match="season"):
        ModelSpec(seq_len=32, horizon=1, n_channels=1, season=0)


def _expected_shape(spec: ModelSpec, batch: int) -> tuple[int, ...]:
    if spec.task == "classify":
        return (batch, spec.n_classes)
    length = spec.horizon if spec.task == "forecast" else spec.seq_len
    return (batch, length, spec.n_channels)


CASES = [
    (name, task)
    for name in list_models()
    for task in get_entry(name).tasks
    if get_entry(name).paradigm != "injective"  # needs a causal LM: see test_injective.py
]


@pytest.mark.parametrize(("name", "task"), CASES)
def test_every_entry_in_every_task_has_the_contract_shape(name, task):
    spec = ModelSpec(
        seq_len=48,
        horizon=12,
        n_channels=2,
        task=task,
        n_classes=3 if task == "classify" else None,
        season=12,
    )
    model = build_model(ModelConfig(name=name, n_layers=1), spec)
    out = model(torch.randn(4, 48, 2))
    assert out.shape == _expected_shape(spec, 4)
    assert torch.isfinite(out).all()


def test_every_model_preset_names_a_catalogue_entry_and_a_field():
    from components.config import MODEL_PRESETS

    for name, preset in MODEL_PRESETS.items():
        assert name in list_models()
        assert set(preset) <= set(ModelConfig.model_fields) - {"name"}
