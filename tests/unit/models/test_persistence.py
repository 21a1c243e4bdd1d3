import json

import pytest
import torch
from safetensors.torch import load_file

from tsalign.components.config import ModelConfig
from tsalign.components.models import (
    ModelSpec,
    PersistenceError,
    build_model,
    list_models,
    load_pretrained,
    save_pretrained,
)
from tsalign.components.models.catalogue import get_entry


def _spec_for(name: str) -> ModelSpec:
    return ModelSpec(
        seq_len=48,
        horizon=12,
        n_channels=2,
        season=12,
        domain_context="Hourly load of two feeders.",
    )


def _perturb_trainable(model: torch.nn.Module) -> None:
    # Simulate training so that a load which silently re-initialised would differ.
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)


# Retrieval entries carry their index in the saved model: test_retrieval.py round-trips them.
PERSIST = [
    n
    for n in list_models()
    if get_entry(n).paradigm != "injective" and get_entry(n).retrieval_embed is None
]


@pytest.mark.parametrize("name", PERSIST)
def test_every_entry_round_trips_with_identical_outputs(tmp_path, name):
    # A small LoRA rank where the entry has LoRA; for_model drops it for the others.
    cfg = ModelConfig(name="gpt4ts_lora", n_layers=1, params={"lora_r": 4}).for_model(name)
    spec = _spec_for(name)
    model = build_model(cfg, spec)
    _perturb_trainable(model)
    model.eval()
    x = torch.randn(3, spec.seq_len, spec.n_channels)
    with torch.no_grad():
        expected = model(x)
    save_pretrained(model, cfg, spec, tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "tsalign_model.json").read_text())
    assert meta["catalogue_name"] == name and meta["spec"]["seq_len"] == 48
    loaded, cfg2, spec2 = load_pretrained(tmp_path / "m")
    assert cfg2 == cfg and spec2 == spec
    with torch.no_grad():
        assert torch.equal(loaded(x), expected)


def test_lora_adapter_is_written_in_peft_format_and_frozen_base_not_duplicated(tmp_path, spec):
    cfg = ModelConfig(name="gpt4ts_lora", n_layers=1, params={"lora_r": 4})
    model = build_model(cfg, spec)
    save_pretrained(model, cfg, spec, tmp_path / "m")
    adapter = tmp_path / "m" / "adapter"
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == 4
    assert any("lora_A" in k for k in load_file(str(adapter / "adapter_model.safetensors")))
    stored = load_file(str(tmp_path / "m" / "model.safetensors"))
    assert not any("lora_" in k or "word_embeddings" in k for k in stored)


def test_save_replaces_atomically_and_load_errors_name_the_file(tmp_path, spec):
    cfg = ModelConfig(name="gpt4ts_wo_llm")
    model = build_model(cfg, spec)
    save_pretrained(model, cfg, spec, tmp_path / "m")
    save_pretrained(model, cfg, spec, tmp_path / "m")  # overwrite keeps one clean directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    with pytest.raises(PersistenceError, match=r"tsalign_model\.json: not found"):
        load_pretrained(tmp_path / "nothing")
    meta_path = tmp_path / "m" / "tsalign_model.json"
    meta = json.loads(meta_path.read_text())
    meta["config"]["name"] = "gpt4ts_llm2attn"  # weights saved from another entry
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(PersistenceError, match="tensors do not match"):
        load_pretrained(tmp_path / "m")


def test_changed_backbone_weights_are_detected(tmp_path, spec):
    cfg = ModelConfig(name="gpt4ts", n_layers=1)
    model = build_model(cfg, spec)
    save_pretrained(model, cfg, spec, tmp_path / "m")
    meta_path = tmp_path / "m" / "tsalign_model.json"
    meta = json.loads(meta_path.read_text())
    meta["config"]["n_layers"] = 2  # a different (deeper) backbone than the one saved
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(PersistenceError, match="frozen weights"):
        load_pretrained(tmp_path / "m")


def test_an_export_of_the_former_flat_model_section_still_loads(tmp_path):
    from tsalign.components.models.persistence import META_FILE

    cfg = ModelConfig(name="patchtst", params={"patch_len": 8, "patch_stride": 4})
    spec = ModelSpec(seq_len=32, horizon=8, n_channels=2)
    model = build_model(cfg, spec)
    _perturb_trainable(model)
    model.eval()
    save_pretrained(model, cfg, spec, tmp_path / "m")
    meta_path = tmp_path / "m" / META_FILE
    meta = json.loads(meta_path.read_text())
    # Older exports recorded the flat section: every entry's fields side by side.
    params = meta["config"].pop("params")
    for later in ("text_fusion", "text_weight", "text_heads", "text_pooling"):  # not then
        params.pop(later)
    flat = {**meta["config"], **params}
    flat["stride"] = flat.pop("patch_stride")
    flat.update(lora_r=8, moving_avg=25, revin_affine=False, injective={"alpha": 0.95})
    meta["config"] = flat
    meta_path.write_text(json.dumps(meta))
    loaded, loaded_cfg, _ = load_pretrained(tmp_path / "m")
    assert loaded_cfg.params == cfg.params
    x = torch.randn(3, 32, 2)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
