"""bf16 through DeepSpeed's engine: the module stays fp32, autocast computes in bf16.

Before train.precision, bf16 meant DeepSpeed's ``bf16`` section, which casts the
module to bfloat16 while batches arrive as float32: the first forward raised
"mat1 and mat2 must have the same dtype". These tests run that step for real on
DeepSpeed's CPU accelerator (one gloo rank, group from conftest.py).
"""

from __future__ import annotations

import os

os.environ.setdefault("DS_ACCELERATOR", "cpu")  # before deepspeed is imported

import pytest
import torch

from tsalign.components.config import TrainConfig
from tsalign.components.device import DeviceError, resolve_device, resolve_precision
from tsalign.components.training.deepspeed_config import check_preset
from tsalign.components.training.launcher import resolve_train_placement
from tsalign.components.training.recipe import build_engine


def _engine(preset: str, precision: str):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 2))
    cfg = TrainConfig(deepspeed_preset=preset, batch_size=4, precision=precision)
    return build_engine(
        model, cfg.model_copy(update={"device": "cpu"}), check_preset(preset, "cpu"), 10
    )


@pytest.mark.usefixtures("one_rank_group")
@pytest.mark.parametrize("preset", ["zero0", "zero2"])
def test_bf16_forward_and_backward_through_the_engine(preset: str):
    engine = _engine(preset, "bf16")
    before = [p.detach().clone() for p in engine.module.parameters()]
    out = engine(torch.randn(4, 8))  # float32 batch, as the data loader yields it
    assert out.dtype == torch.bfloat16  # the matmuls ran in bf16 ...
    assert all(p.dtype == torch.float32 for p in engine.module.parameters())  # ... weights fp32
    loss = torch.nn.functional.mse_loss(out.float(), torch.zeros(4, 2))
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    engine.backward(loss)
    engine.step()
    for _ in range(2):  # the warm-up's first step has lr 0
        engine.backward(
            torch.nn.functional.mse_loss(engine(torch.randn(4, 8)).float(), torch.ones(4, 2))
        )
        engine.step()
    moved = [
        not torch.equal(a, p.detach())
        for a, p in zip(before, engine.module.parameters(), strict=True)
    ]
    assert all(moved)


@pytest.mark.usefixtures("one_rank_group")
def test_fp32_engine_computes_in_fp32():
    assert _engine("zero0", "fp32")(torch.randn(4, 8)).dtype == torch.float32


def test_auto_is_bf16_on_cuda_and_fp32_on_cpu():
    assert resolve_precision("auto", "cuda") == "bf16"
    assert resolve_precision("auto", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"  # explicit bf16 runs on CPU too
    assert resolve_device("auto", "eval.device", cuda_available=False) == "cpu"
    assert resolve_device("auto", "eval.device", cuda_available=True) == "cuda"
    with pytest.raises(DeviceError, match=r"eval.device=cuda but no CUDA device"):
        resolve_device("cuda", "eval.device", cuda_available=False)


def test_train_placement_resolves_both_settings_once():
    cpu = resolve_train_placement(TrainConfig(), cuda_available=False)
    assert (cpu.device, cpu.precision) == ("cpu", "fp32")
    gpu = resolve_train_placement(TrainConfig(), cuda_available=True)
    assert (gpu.device, gpu.precision) == ("cuda", "bf16")
    pinned = resolve_train_placement(TrainConfig(precision="fp32"), cuda_available=True)
    assert pinned.precision == "fp32"


def test_use_gpu_names_its_replacement():
    with pytest.raises(ValueError, match=r"train.use_gpu was replaced by train.device"):
        TrainConfig(use_gpu=True)
