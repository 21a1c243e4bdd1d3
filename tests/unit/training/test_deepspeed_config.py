"""DeepSpeed presets resolve every 'auto' field from the TrainConfig."""

from __future__ import annotations

import pytest

from components.config import TrainConfig
from components.training.deepspeed_config import (
    PresetError,
    check_preset,
    list_presets,
    resolve_ds_config,
)


def test_ships_zero_0_to_3_with_and_without_offload():
    assert {"zero0", "zero1", "zero2", "zero2_offload", "zero3", "zero3_offload"} <= set(
        list_presets()
    )


@pytest.mark.parametrize("name", ["zero0", "zero1", "zero2", "zero2_offload"])
def test_cpu_presets_resolve_without_auto_left(name: str):
    cfg = TrainConfig(deepspeed_preset=name, batch_size=8, grad_accum=2, lr=3e-4, grad_clip=0.5)
    ds = resolve_ds_config(
        check_preset(name, use_gpu=False), cfg, total_steps=100, warmup_steps=10, use_gpu=False
    )
    assert ds["train_micro_batch_size_per_gpu"] == 8
    assert ds["gradient_accumulation_steps"] == 2
    assert ds["gradient_clipping"] == 0.5
    assert ds["optimizer"]["params"]["lr"] == 3e-4
    assert ds["scheduler"]["params"] == {
        **ds["scheduler"]["params"],
        "total_num_steps": 100,
        "warmup_num_steps": 10,
    }
    assert ds["bf16"]["enabled"] is False
    assert "auto" not in repr(ds)


def test_bf16_on_gpu():
    ds = resolve_ds_config(check_preset("zero2", use_gpu=True), TrainConfig(), 10, 1, use_gpu=True)
    assert ds["bf16"]["enabled"] is True


def test_zero3_refused_without_gpu():
    with pytest.raises(PresetError, match="ZeRO-3 is GPU-only"):
        check_preset("zero3", use_gpu=False)
    assert check_preset("zero3", use_gpu=True)["zero_optimization"]["stage"] == 3


def test_unknown_preset_lists_valid_names():
    with pytest.raises(PresetError, match=r"choose one of \[.*'zero2'"):
        check_preset("zero9", use_gpu=False)
