"""Optimizer state survives a checkpoint: a resumed engine takes exactly the steps the
original would have taken (ZeRO-0 and ZeRO-2, fp32 and bf16, one gloo rank in this
process, no Ray; the group comes from conftest.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("DS_ACCELERATOR", "cpu")  # before deepspeed is imported

import pytest
import torch
from safetensors.torch import load_file

from tsalign.components.config import TrainConfig
from tsalign.components.training.checkpoint import (
    CheckpointMismatch,
    load_weights,
    restore_optimizer_shard,
    save_optimizer_shard,
    save_weights,
    shard_paths,
)
from tsalign.components.training.deepspeed_config import check_preset
from tsalign.components.training.recipe import build_engine

pytestmark = pytest.mark.usefixtures("one_rank_group")


def _engine(preset: str, seed: int, precision: str = "fp32"):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    cfg = TrainConfig(
        deepspeed_preset=preset, batch_size=8, lr=0.05, warmup_ratio=0.2, precision=precision
    )
    return build_engine(
        model, cfg.model_copy(update={"device": "cpu"}), check_preset(preset, "cpu"), 20
    )


def _batches(n: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(8, 6, generator=gen), torch.randn(8, 2, generator=gen)) for _ in range(n)]


def _train(engine, batches) -> None:
    for x, y in batches:
        loss = torch.nn.functional.mse_loss(engine(x).float(), y)
        engine.backward(loss)
        engine.step()


def _params(engine) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in engine.module.parameters()])


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("preset", ["zero0", "zero2"])
def test_resumed_engine_continues_exactly(tmp_path: Path, preset: str, precision: str):
    first, later = _batches(4, 0), _batches(3, 1)
    original = _engine(preset, seed=1, precision=precision)
    _train(original, first)
    save_weights(tmp_path, original, rank=0)
    save_optimizer_shard(tmp_path, original, rank=0, world_size=1)
    lr_at_save = original.get_lr()
    _train(original, later)

    resumed = _engine(
        preset, seed=99, precision=precision
    )  # other initial weights: all must come from the files
    load_weights(resumed, tmp_path, rank=0)
    assert restore_optimizer_shard(resumed, tmp_path, rank=0, world_size=1) is True
    assert resumed.get_lr() == pytest.approx(lr_at_save)
    _train(resumed, later)
    torch.testing.assert_close(_params(resumed), _params(original), rtol=0, atol=1e-6)

    # Weights alone are not enough: Adam's moments and the LR schedule matter.
    weights_only = _engine(preset, seed=99, precision=precision)
    load_weights(weights_only, tmp_path, rank=0)
    _train(weights_only, later)
    assert (_params(weights_only) - _params(original)).abs().max() > 1e-4


def test_shard_is_safetensors_and_json_without_pickle(tmp_path: Path):
    engine = _engine("zero2", seed=1)
    _train(engine, _batches(2, 0))
    save_optimizer_shard(tmp_path, engine, rank=0, world_size=1)
    tensors_path, meta_path = shard_paths(tmp_path, 0)
    tensors = load_file(str(tensors_path))
    assert {"state.0.exp_avg", "state.0.exp_avg_sq", "fp32.0", "rng.torch"} <= set(tensors)
    meta = json.loads(meta_path.read_text())
    assert meta["zero_stage"] == 2 and meta["world_size"] == 1
    assert meta["lr_scheduler"]["last_batch_iteration"] == 1


def test_zero2_weights_only_resume_refreshes_the_fp32_master(tmp_path: Path):
    """Without a shard the fp32 master must follow the loaded weights, not the initial ones."""
    trained = _engine("zero2", seed=1)
    _train(trained, _batches(4, 0))
    save_weights(tmp_path, trained, rank=0)  # no optimizer shard written
    fresh = _engine("zero2", seed=99)
    load_weights(fresh, tmp_path, rank=0)
    assert restore_optimizer_shard(fresh, tmp_path, rank=0, world_size=1) is False
    before = _params(fresh)
    _train(fresh, _batches(1, 5))
    # One small step from the loaded weights, not a jump back to seed 99's weights.
    assert (_params(fresh) - before).abs().max() < 0.2
    assert (_params(fresh) - _params(_engine("zero2", seed=99))).abs().max() > 0.2


def test_unknown_parameters_are_refused_with_the_fix(tmp_path: Path):
    engine = _engine("zero0", seed=1)
    from safetensors.torch import save_file

    save_file({"head.weight": torch.zeros(2, 2)}, str(tmp_path / "trainable.safetensors"))
    with pytest.raises(CheckpointMismatch, match=r"train\.run_name"):
        load_weights(engine, tmp_path, rank=0)
