"""Pure helpers of the training recipe and its launcher."""

from __future__ import annotations

import pytest
import torch

from tsalign.components.config import TrainConfig
from tsalign.components.training.recipe import TrainingDiverged, _check_finite, capped_indices


def test_capped_indices_spread_over_the_whole_range():
    idx = capped_indices(1000, 5)
    assert idx == [0, 250, 500, 749, 999]
    assert capped_indices(3, 10) == [0, 1, 2]
    assert capped_indices(4, None) == [0, 1, 2, 3]


def test_nan_loss_names_the_step_and_the_knobs():
    cfg = TrainConfig(lr=0.5)
    with pytest.raises(TrainingDiverged, match=r"step 17: lower train\.lr \(now 0\.5\)"):
        _check_finite(torch.tensor(float("nan")), 17, cfg)
    _check_finite(torch.tensor(1.0), 1, cfg)  # finite: no error


def test_out_of_memory_names_batch_size_wherever_it_hides():
    from ray.exceptions import OutOfMemoryError as RayOOM
    from ray.train import WorkerGroupError

    from tsalign.components.training.launcher import explain_failure

    cfg = TrainConfig(batch_size=64, grad_accum=2)
    torch_oom = WorkerGroupError("rank 1 failed", {1: torch.OutOfMemoryError("CUDA out of memory")})
    msg = explain_failure(torch_oom, cfg)
    assert "lower train.batch_size (now 64)" in msg and "train.grad_accum (now 2)" in msg
    ray_oom = WorkerGroupError("rank 0 died", {0: RayOOM("Task was killed due to low memory")})
    assert "train.batch_size (now 64)" in explain_failure(ray_oom, cfg)
    # A worker that already explained itself keeps its message (it names the step).
    from tsalign.components.training.recipe import out_of_memory_message

    worker_said = MemoryError(out_of_memory_message(12, cfg, "tried to allocate 2 GiB"))
    wrapped = WorkerGroupError("x", {0: worker_said})
    assert "at optimizer step 12" in explain_failure(wrapped, cfg)
    # Anything else is reported as the root cause, unchanged.
    other = WorkerGroupError("x", {0: ValueError("bad window")})
    assert "ValueError: bad window" in explain_failure(other, cfg)


def test_run_name_is_fixed_per_candidate_when_configured():
    from tsalign.components.training.launcher import effective_run_name

    assert effective_run_name(TrainConfig(), "gpt4ts", "gpt4ts-20250101-x") == "gpt4ts-20250101-x"
    fixed = TrainConfig(run_name="nightly")
    assert effective_run_name(fixed, "gpt4ts", "ignored") == "nightly-gpt4ts"
    assert effective_run_name(fixed, "dlinear", "ignored") == "nightly-dlinear"
    with pytest.raises(ValueError, match="run_name"):
        TrainConfig(run_name="../escape")


def test_train_state_is_the_checkpoint_schema():
    from tsalign.components.training.checkpoint import CheckpointMismatch, TrainState

    state = TrainState(epoch=2, step=14, best_val=0.5, nodes=["a"], resumed_from=[1])
    state.curves.val_loss.extend([0.7, 0.5])
    assert TrainState.from_json(state.to_json()) == state
    assert TrainState.from_json(TrainState().to_json()).best_val == float("inf")
    with pytest.raises(CheckpointMismatch, match=r"state\.json is not a training state"):
        TrainState.from_json('{"epochs": 2}')  # a misspelt field is refused, not defaulted


def test_every_rank_names_an_epoch_checkpoint_alike():
    from tsalign.components.training.recipe import EpochMetrics

    metrics = EpochMetrics(
        epoch=3, step=42, train_loss=0.1, val_loss=0.2, samples_per_s=9.0, num_nodes=1
    )
    assert metrics.checkpoint_name == "checkpoint_epoch0003_step0000042"
