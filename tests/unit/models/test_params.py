"""Per-model parameters: each catalogue entry validates ``model.params`` with its own model."""

from __future__ import annotations

import re

import jsonschema
import pytest

from tsalign.components.config import ConfigError, ModelConfig, RunConfig, load_config
from tsalign.components.models.catalogue import ENTRIES, get_entry, list_models
from tsalign.components.models.params import FORMER_FLAT_KEYS, PatchParams


@pytest.mark.parametrize("name", list_models())
def test_every_entry_accepts_each_of_its_parameters_and_reloads_them(name: str):
    model = get_entry(name).params
    explicit = {field: info.default for field, info in model.model_fields.items()}
    cfg = ModelConfig(name=name, params=explicit)
    assert type(cfg.params) is model and cfg.params.model_fields_set == set(explicit)
    assert ModelConfig.model_validate(cfg.model_dump(mode="json")) == cfg


def test_a_parameter_of_another_entry_names_the_entry_and_its_fields():
    with pytest.raises(ConfigError) as caught:
        load_config(None, ["model.name=dlinear", "model.params.lora_r=4"])
    message = str(caught.value)
    assert "model.params: not a parameter of catalogue entry 'dlinear'" in message
    assert "'lora_r' (read by calf, gpt4ts, gpt4ts_lora)" in message
    assert "valid fields of 'dlinear': moving_avg" in message


def test_a_misspelt_parameter_gets_the_closest_field():
    with pytest.raises(ConfigError, match=r"'patch_lne' \(did you mean 'patch_len'\?\)"):
        load_config(None, ["model.params.patch_lne=8"])


def test_an_entry_without_parameters_says_so():
    with pytest.raises(ConfigError, match=r"'naive' takes no parameters: remove model\.params"):
        load_config(None, ["model.name=naive", "model.params.dropout=0.1"])


def test_params_null_drops_the_files_params_when_switching_entries(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("model:\n  name: gpt4ts\n  params:\n    patch_len: 12\n")
    with pytest.raises(ConfigError, match="not a parameter of catalogue entry 'dlinear'"):
        load_config(config, ["model.name=dlinear"])
    switched = load_config(config, ["model.name=dlinear", "model.params=null"])
    assert switched.model.params.model_dump() == {
        "moving_avg": 25,
        "text_fusion": "none",
        "text_weight": None,
        "text_heads": 1,
        "text_pooling": "mean",
    }


def test_a_foreign_key_and_a_bad_value_are_reported_together():
    with pytest.raises(ConfigError) as caught:
        load_config(None, ["model.name=dlinear", "model.params={lora_r: 4, moving_avg: 0}"])
    message = str(caught.value)
    assert "'lora_r'" in message and "model.params.moving_avg: Input should be greater" in message


@pytest.mark.parametrize(
    ("override", "moved"),
    [
        ("model.stride=4", "model.stride moved to model.params.patch_stride"),
        ("model.patch_len=8", "model.patch_len moved to model.params.patch_len"),
        ("model.lora_r=4", "model.lora_r moved to model.params.lora_r"),
        ("model.injective.alpha=0.9", "model.injective.alpha moved to model.params.scale_quantile"),
        ("model.injective.beta=0.1", "model.injective.beta moved to model.params.scale_offset"),
        ("model.injective.precision=2", "model.injective.precision moved to model.params.decimals"),
    ],
)
def test_a_former_flat_key_says_where_it_moved(override: str, moved: str):
    with pytest.raises(ConfigError, match=re.escape(moved)):
        load_config(None, [override])


def test_a_moved_key_the_entry_does_not_read_says_to_drop_it():
    with pytest.raises(ConfigError, match="but 'dlinear' does not read it: drop it"):
        load_config(None, ["model.name=dlinear", "model.stride=4"])


def test_every_former_flat_key_has_a_home_in_some_entry():
    homes = {field for entry in ENTRIES for field in entry.params.model_fields}
    assert set(FORMER_FLAT_KEYS.values()) <= homes


def test_compare_candidates_share_the_shared_layers_and_keep_their_own_defaults():
    run = RunConfig.model_validate(
        {
            "model": {"name": "gpt4ts", "freeze": "lora", "params": {"patch_len": 12, "lora_r": 4}},
            "compare": ["timellm", "dlinear", "patchtst", "patchtst_compact"],
        }
    )
    main, timellm, dlinear, patchtst, compact = [c.model for c in run.candidates()]
    assert main.params.lora_r == 4
    assert (timellm.params.patch_len, timellm.params.d_model) == (12, 32)
    assert not hasattr(timellm.params, "lora_r")  # gpt4ts's LoRA is not Time-LLM's business
    assert dlinear.params.model_dump() == {
        "moving_avg": 25,
        "text_fusion": "none",
        "text_weight": None,
        "text_heads": 1,
        "text_pooling": "mean",
    }
    assert (patchtst.params.patch_len, patchtst.params.d_model, patchtst.params.dropout) == (
        12,
        16,
        0.3,
    )
    assert (compact.params.d_model, compact.params.dropout) == (64, 0.1)
    for candidate in run.candidates():  # a saved candidate reloads to the same values
        model = candidate.model
        assert ModelConfig.model_validate(model.model_dump(mode="json")) == model


def test_a_config_received_as_its_full_dump_gives_the_same_candidates():
    # A served deployment (schedule, UI) receives the run config as its JSON dump, every
    # field set: the candidates must still take their own defaults, not the main entry's.
    run = RunConfig.model_validate(
        {
            "model": {"name": "patchtst", "n_layers": 1, "params": {"dropout": 0.2}},
            "compare": ["patchtst_compact", "gpt4ts_wo_llm", "dlinear"],
        }
    )
    served = RunConfig.model_validate(run.model_dump(mode="json"))
    assert served.candidates() == run.candidates()
    assert served.candidates()[1].model.params.d_model == 64


def test_lora_settings_need_an_lm_wrapped_with_lora():
    with pytest.raises(ConfigError, match=r"lora_r \(model\.params\) take effect only when"):
        load_config(None, ["model.params.lora_r=4"])  # gpt4ts, freeze ln_pos: no LoRA
    assert (
        load_config(None, ["model.params.lora_r=4", "model.freeze=lora"]).model.params.lora_r == 4
    )
    assert load_config(None, ["model.name=gpt4ts_lora", "model.params.lora_r=4"])
    run = RunConfig.model_validate(
        {"model": {"name": "gpt4ts_lora", "params": {"lora_r": 4}}, "compare": ["gpt4ts"]}
    )
    assert [c.model.params.lora_r for c in run.candidates()] == [4, 8]  # gpt4ts trains no LoRA


def test_an_export_of_the_former_shape_keeps_only_the_settings_it_used():
    from tsalign.components.models.persistence import _migrate_config

    former = {"name": "gpt4ts", "freeze": "ln_pos", "stride": 4, "lora_r": 4, "moving_avg": 5}
    loaded = ModelConfig.model_validate(_migrate_config(former))
    assert (loaded.params.patch_stride, loaded.params.lora_r) == (4, 8)


def test_patch_entries_share_one_patch_stride_name():
    patched = [e.name for e in ENTRIES if issubclass(e.params, PatchParams)]
    assert {"gpt4ts", "timellm", "patchtst", "gpt4ts_wo_llm"} <= set(patched)
    assert all("stride" not in get_entry(n).params.model_fields for n in list_models())


@pytest.mark.parametrize("name", list_models())
def test_the_run_config_schema_accepts_each_entry_as_prefect_validates_it(name: str):
    # Deployments enforce the parameter schema (JSON Schema) on runs from the UI or API.
    config = RunConfig.model_validate({"model": {"name": name}, "compare": []})
    jsonschema.validate(config.model_dump(mode="json"), RunConfig.model_json_schema())
