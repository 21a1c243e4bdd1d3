"""bf16 training through the real Ray Train + DeepSpeed launcher on CPU workers.

DeepSpeed's CPU accelerator runs ``torch_autocast`` in bf16, so the GPU precision
path is exercised here: gpt4ts (two workers: bf16 gradients are all-reduced over
gloo), gpt4ts_lora and timellm train a few steps; a bf16 checkpoint resumes; the
exported model is fp32 and evaluates. Tiny sizes, one Ray instance for the module.
"""

from __future__ import annotations

import math
from pathlib import Path

import _tiny
import pytest
import torch

from tsalign.components.config import EvalConfig, ModelConfig
from tsalign.components.evaluation.runner import evaluate
from tsalign.components.models import load_pretrained
from tsalign.components.training.checkpoint import TrainState, read_state
from tsalign.components.training.launcher import launch_training

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODELS = {
    "gpt4ts": ModelConfig(name="gpt4ts", n_layers=1, params={"patch_len": 6, "patch_stride": 6}),
    "gpt4ts_lora": ModelConfig(
        name="gpt4ts_lora", n_layers=1, params={"patch_len": 6, "patch_stride": 6, "lora_r": 4}
    ),
    # prompt_tokens stays uncapped: a cap shorter than the description is refused.
    "timellm": ModelConfig(
        name="timellm", n_layers=1, params={"patch_len": 6, "patch_stride": 6, "n_prototypes": 16}
    ),
}
WORKERS = {"gpt4ts": 2, "gpt4ts_lora": 1, "timellm": 1}


def _train(dataset, storage: Path, model: str, name: str, **overrides):
    settings = {"epochs": 3, "max_train_windows": 64, "max_val_windows": 32, **overrides}
    cfg = _tiny.train_cfg(
        storage, run_name=name, precision="bf16", num_workers=WORKERS[model], **settings
    )
    run = f"{name}-{model}"
    return launch_training(_tiny.job(dataset, cfg, run, MODELS[model]))


def _state(result) -> TrainState:
    return read_state(Path(result.checkpoint_uri).parent)


def _assert_trains_and_exports_fp32(result, model: str, dataset, out: Path) -> None:
    losses = result.curves["train_loss"]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0], losses
    assert all(math.isfinite(v) for v in result.curves["val_loss"])

    exported, _, _ = load_pretrained(Path(result.checkpoint_uri))
    assert {p.dtype for p in exported.parameters()} == {torch.float32}
    report = evaluate(
        dataset.path,
        _tiny.data_cfg(),
        EvalConfig(baselines=["naive"], device="cpu"),
        {model: result.checkpoint_uri},
        _tiny.spec(),
        out,
    )
    assert math.isfinite(report.metrics[model]["mse"])


@pytest.mark.parametrize("model", ["gpt4ts_lora", "timellm"])
def test_bf16_loss_is_finite_and_falls_and_the_export_is_fp32(
    ray_local, dataset, tmp_path: Path, model: str
):
    result = _train(dataset, tmp_path, model, "bf16")
    _assert_trains_and_exports_fp32(result, model, dataset, tmp_path / "eval")


def test_bf16_gpt4ts_on_two_workers_resumes_and_exports_fp32(ray_local, dataset, tmp_path: Path):
    first = _train(dataset, tmp_path, "gpt4ts", "resume", epochs=2)
    assert _state(first).epoch == 2
    resumed = _train(dataset, tmp_path, "gpt4ts", "resume", epochs=3)
    state = _state(resumed)
    assert state.epoch == 3 and state.resumed_from == [2]
    assert state.curves.train_loss[:2] == first.curves["train_loss"]
    _assert_trains_and_exports_fp32(resumed, "gpt4ts", dataset, tmp_path / "eval")
