"""Ray Train's per-worker function: the training recipe (``recipe.py``) inside a Ray worker.

The function reads only its argument (a ``WorkerConfig`` dumped to a dict), so it
works the same when imported from this package on a remote node. Ray Train has
already formed the process group; the recipe builds the engine on it, restores
Ray's latest checkpoint, and each epoch's checkpoint directory is reported to Ray,
which merges the ranks' files into one directory in storage.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from tsalign.components.training.checkpoint import STATE_FILE, TRAINABLE_FILE
from tsalign.components.training.recipe import (
    EpochMetrics,
    RecipeConfig,
    StepCallback,
    TrainingDiverged,
    TrainingRecipe,
    divergence_message,
)

__all__ = [
    "STATE_FILE",
    "TRAINABLE_FILE",
    "TrainingDiverged",
    "WorkerConfig",
    "divergence_message",
    "train_loop_per_worker",
    "worker_env",
]

DIVERGED_FILE = "diverged.json"
"""Marker rank 0 writes into the run's storage folder when the loss stops being finite."""


class WorkerConfig(RecipeConfig):
    """The recipe's config plus the driver's progress actor; serialised into ``train_loop_config``."""

    progress_actor: str | None = None


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """Ray Train entry point. Reads only ``config`` (a dumped WorkerConfig)."""
    import ray
    import ray.train

    wcfg = WorkerConfig.model_validate(config)
    ctx = ray.train.get_context()
    rank = ctx.get_world_rank()
    logging.getLogger("DeepSpeed").setLevel(logging.WARNING)
    recipe = TrainingRecipe(wcfg, rank, ctx.get_world_size())
    recipe.setup(node_id=ray.get_runtime_context().get_node_id())
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as ckpt_dir:
            recipe.restore(Path(ckpt_dir))

    on_step = _progress(wcfg.progress_actor, recipe.total_steps, recipe.state.step, rank)

    def report(metrics: EpochMetrics, directory: Path) -> None:
        # Every rank reports its directory (its optimizer shard); Ray Train merges them.
        ckpt = ray.train.Checkpoint.from_directory(directory) if any(directory.iterdir()) else None
        ray.train.report(
            asdict(metrics), checkpoint=ckpt, checkpoint_dir_name=metrics.checkpoint_name
        )

    diverged = recipe.run(report, on_step)
    if diverged is not None and rank == 0:
        # Every rank returns at the same step; rank 0 leaves a marker in the run's storage
        # folder and the driver raises TrainingDiverged. Raising here would make Ray Train
        # restart the group max_failures times, only to diverge again.
        _write_marker(ctx.get_storage(), {"step": recipe.state.step, "loss": diverged})


def _progress(name: str | None, total: int, start: int, rank: int) -> StepCallback | None:
    """Rank 0's step callback into the driver's progress actor, when the driver runs one."""
    if rank != 0 or not name:
        return None
    import ray

    try:
        actor = ray.get_actor(name)
    except ValueError:  # a remote job has no driver-side progress bar
        return None
    actor.start.remote(total, start)
    return lambda step, loss: actor.update.remote(step, loss)


def _write_marker(storage: Any, payload: dict[str, Any]) -> None:
    """Write ``diverged.json`` into the run folder through Ray Train's storage filesystem."""
    path = f"{storage.experiment_fs_path}/{DIVERGED_FILE}"
    with storage.storage_filesystem.open_output_stream(path) as f:
        f.write(json.dumps(payload, allow_nan=True).encode())


def worker_env() -> dict[str, str]:
    """Environment every worker needs: DeepSpeed's CPU accelerator when there is no GPU."""
    env = {"TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    if not torch.cuda.is_available():
        env["DS_ACCELERATOR"] = "cpu"
    return {**env, **{k: v for k, v in os.environ.items() if k == "DS_ACCELERATOR"}}
