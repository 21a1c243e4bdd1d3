import pytest
import torch

from tsalign.components.config import ModelConfig
from tsalign.components.models import (
    ModelBuildError,
    ModelSpec,
    build_model,
    get_entry,
    list_models,
)
from tsalign.components.models.catalogue import ENTRIES, Entry, index_entries


def test_unknown_name_suggests_the_closest_and_lists_valid_names(spec):
    with pytest.raises(ModelBuildError, match="valid names") as err:
        build_model(ModelConfig(name="gpt5ts"), spec)
    assert "'gpt5ts' is not in the catalogue (did you mean 'gpt4ts'?)" in str(err.value)


def test_unknown_name_far_from_every_entry_gets_no_suggestion(spec):
    with pytest.raises(ModelBuildError, match="valid names") as err:
        build_model(ModelConfig(name="xyzzy"), spec)
    assert "did you mean" not in str(err.value)


def test_duplicate_name_is_refused():
    dup = Entry("naive", "tsalign.components.models.baselines:build_dlinear", "baseline", "dup")
    with pytest.raises(ValueError, match="'naive' is declared twice"):
        index_entries([*ENTRIES, dup])


def test_unknown_task_is_refused():
    bad = Entry(
        "x", "tsalign.components.models.baselines:build_naive", "baseline", "x", tasks=("pray",)
    )
    with pytest.raises(ValueError, match="unknown tasks"):
        index_entries([bad])


PARADIGM_MODULES = ["baselines", "bridging", "injective", "internal", "retrieval"]


def _is_builder(obj: object, module: str) -> bool:
    """A function of ``module`` with the builder signature ``(cfg, spec[, kind])``."""
    import inspect

    if not inspect.isfunction(obj) or obj.__module__ != module:
        return False
    return list(inspect.signature(obj).parameters)[:2] == ["cfg", "spec"]


def test_every_entry_resolves_to_a_builder_in_its_module_and_every_builder_has_an_entry():
    """The torch-free table and the builders agree: no dangling path, no builder left out."""
    import importlib
    import inspect

    for entry in ENTRIES:
        module, _, attr = entry.builder_path.partition(":")
        build = getattr(importlib.import_module(module), attr)
        assert _is_builder(build, module), entry.name
        params = list(inspect.signature(build).parameters)
        assert params == ["cfg", "spec", *(["kind"] if entry.ablation else [])], entry.name
        assert callable(entry.builder), entry.name
    declared = {e.builder_path for e in ENTRIES}
    for name in PARADIGM_MODULES:
        module = importlib.import_module(f"tsalign.components.models.{name}")
        builders = {
            f"{module.__name__}:{attr}"
            for attr, obj in vars(module).items()
            if attr.startswith("build_") and _is_builder(obj, module.__name__)
        }
        assert builders <= declared, f"builders without a catalogue entry: {builders - declared}"


def test_ablations_cover_every_kind_for_every_llm_method():
    from tsalign.components.models.spec import ABLATIONS

    for of in ("gpt4ts", "timellm", "calf", "test_align"):
        kinds = {e.ablation for e in ENTRIES if e.ablation_of == of}
        assert kinds == set(ABLATIONS), of


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
    return (batch, spec.horizon, spec.n_channels)  # forecast, and anomaly's forecast errors


CASES = [
    (name, task)
    for name in list_models()
    for task in get_entry(name).tasks
    if get_entry(name).paradigm != "injective"  # needs a causal LM: see test_injective.py
    and get_entry(name).retrieval_embed is None  # needs an index: see test_retrieval.py
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


def test_every_entry_registers_a_parameter_model_and_a_bad_one_is_refused():
    from tsalign.components.models.catalogue import ENTRIES, Entry, index_entries
    from tsalign.components.models.params import Params

    assert all(issubclass(entry.params, Params) for entry in ENTRIES)
    bad = Entry(
        "x", "tsalign.components.models.baselines:build_naive", "baseline", "x", params=dict
    )
    with pytest.raises(ValueError, match="entry 'x': params must be a Params subclass"):
        index_entries([bad])


def test_ablations_of_a_model_and_of_its_variant():
    from tsalign.components.models import ablations_of

    gpt4ts = ["gpt4ts_wo_llm", "gpt4ts_llm2attn", "gpt4ts_llm2trans"]
    assert sorted(ablations_of("gpt4ts")) == sorted(gpt4ts)
    assert sorted(ablations_of("gpt4ts_lora")) == sorted(gpt4ts)  # LoRA tunes the same LM
    assert "timellm_wo_llm" in ablations_of("timellm")
    # CALF and TEST are compared with their own LLM-free ablations, which keep the match
    # module / the pre-trained encoder and drop only the LM.
    assert "calf_wo_llm" in ablations_of("calf") and "test_align_wo_llm" in ablations_of(
        "test_align"
    )
    assert get_entry("calf_wo_llm").params.__name__ == "CALFMatchParams"  # no LoRA to set
    assert ablations_of("dlinear") == [] and ablations_of("gpt4ts_wo_llm") == []
