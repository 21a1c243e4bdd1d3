"""DeepSpeed presets hold only ZeRO knobs; the train section fills the rest; bf16 is autocast."""

from __future__ import annotations

import json

import pytest

from tsalign.components.config import TrainConfig
from tsalign.components.training import deepspeed_config
from tsalign.components.training.deepspeed_config import (
    PRESET_DIR,
    PresetError,
    check_preset,
    list_presets,
    resolve_ds_config,
)


def test_ships_zero_0_to_3_with_and_without_offload():
    assert {"zero0", "zero1", "zero2", "zero2_offload", "zero3", "zero3_offload"} <= set(
        list_presets()
    )


@pytest.mark.parametrize("name", list_presets())
def test_presets_hold_only_zero_knobs_and_the_run_fills_the_rest(name: str):
    cfg = TrainConfig(
        deepspeed_preset=name, batch_size=8, grad_accum=2, lr=3e-4, grad_clip=0.5, precision="fp32"
    )
    ds = resolve_ds_config(check_preset(name, "cuda"), cfg)
    assert (
        ds["zero_optimization"]
        == json.loads((PRESET_DIR / f"{name}.json").read_text())["zero_optimization"]
    )
    assert ds["train_micro_batch_size_per_gpu"] == 8
    assert ds["gradient_accumulation_steps"] == 2
    assert ds["gradient_clipping"] == 0.5
    # train.lr and the schedule never pass through a preset: the recipe builds them.
    assert "optimizer" not in ds and "scheduler" not in ds
    assert ds["torch_autocast"]["enabled"] is False
    assert "bf16" not in ds  # DeepSpeed's bf16 section would cast the module's weights
    assert "auto" not in json.dumps(ds).replace("torch_autocast", "")


def test_bf16_is_torch_autocast_with_an_fp32_module():
    ds = resolve_ds_config(check_preset("zero2", "cuda"), TrainConfig(precision="bf16"))
    assert ds["torch_autocast"] == {"enabled": True, "dtype": "bfloat16"}
    assert "bf16" not in ds and "fp16" not in ds


def test_unresolved_precision_is_refused():
    with pytest.raises(PresetError, match=r"train\.precision must be resolved"):
        resolve_ds_config(check_preset("zero2", "cpu"), TrainConfig())


@pytest.mark.parametrize("section", ["bf16", "optimizer", "scheduler", "train_batch_size"])
def test_a_preset_with_run_settings_is_refused(tmp_path, monkeypatch, section: str):
    preset = {"zero_optimization": {"stage": 1}, section: {"enabled": True}}
    (tmp_path / "mine.json").write_text(json.dumps(preset))
    monkeypatch.setattr(deepspeed_config, "PRESET_DIR", tmp_path)
    with pytest.raises(PresetError, match=rf"sets \['{section}'\].*train\.lr"):
        check_preset("mine", "cpu")


def test_zero3_refused_without_gpu():
    with pytest.raises(PresetError, match="ZeRO-3 is GPU-only"):
        check_preset("zero3", "cpu")
    assert check_preset("zero3", "cuda")["zero_optimization"]["stage"] == 3


def test_unknown_preset_lists_valid_names():
    with pytest.raises(PresetError, match=r"choose one of \[.*'zero2'"):
        check_preset("zero9", "cpu")
