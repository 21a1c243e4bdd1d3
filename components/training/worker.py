"""Per-worker training loop: runs inside each Ray Train worker.

The loop reads only its argument (a ``WorkerConfig`` dumped to a dict), so it
works the same when imported from this package on a remote node. It reads
top to bottom: seed -> data -> model -> DeepSpeed engine -> resume -> epochs of
(train, validate, report checkpoint) -> early stop.

Checkpoints (see ``checkpoint.py``) hold the trainable weights, the optimizer
state of every rank and the LR schedule, all without pickle, so a restarted
worker group continues the optimisation rather than only the weights.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict
from torch.utils.data import DataLoader, DistributedSampler, Subset

from components.config import DataConfig, ModelConfig, TrainConfig
from components.data.protocol import load_protocol
from components.data.windows import WindowDataset
from components.models import ModelSpec, build_model, save_pretrained
from components.training.checkpoint import (
    MODEL_DIR,
    SCALER_FILE,
    STATE_FILE,
    TRAINABLE_FILE,
    load_weights,
    read_state,
    restore_optimizer_shard,
    save_optimizer_shard,
    save_weights,
    write_json,
)
from components.training.deepspeed_config import resolve_ds_config

log = logging.getLogger(__name__)

__all__ = [
    "MODEL_DIR",
    "SCALER_FILE",
    "STATE_FILE",
    "TRAINABLE_FILE",
    "TrainingDiverged",
    "WorkerConfig",
    "train_loop_per_worker",
    "worker_env",
]

DIVERGED_FILE = "diverged.json"
"""Marker rank 0 writes into the run's storage folder when the loss stops being finite."""


class TrainingDiverged(RuntimeError):
    """Loss became NaN/inf; the message names the step and the knobs to change."""


class WorkerConfig(BaseModel):
    """Everything one worker needs; serialised into ``train_loop_config``."""

    model_config = ConfigDict(frozen=True)

    dataset_path: str
    data: DataConfig
    model: ModelConfig
    spec: dict[str, Any]
    train: TrainConfig
    ds_preset: dict[str, Any]
    progress_actor: str | None = None


def capped_indices(n: int, cap: int | None) -> list[int]:
    """``cap`` evenly spaced indices out of ``n`` (all when cap is None or >= n).

    Evenly spaced rather than the first ``cap`` so a small budget still sees
    every season of the training split.
    """
    if cap is None or cap >= n:
        return list(range(n))
    return np.linspace(0, n - 1, cap).round().astype(int).tolist()


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def divergence_message(loss: float, step: int, cfg: TrainConfig) -> str:
    """What a user reads when the loss stops being finite: the step and the knobs."""
    return (
        f"training loss is {loss} at optimizer step {step}: lower train.lr "
        f"(now {cfg.lr}) or train.grad_clip (now {cfg.grad_clip}); "
        "checkpoints written before this step are intact"
    )


def out_of_memory_message(step: int, cfg: TrainConfig, detail: str) -> str:
    """What a user reads when a worker runs out of memory: the step and the knobs."""
    return (
        f"a training worker ran out of memory at optimizer step {step}: lower "
        f"train.batch_size (now {cfg.batch_size}) and raise train.grad_accum (now "
        f"{cfg.grad_accum}) to keep the effective batch, or pick an offload preset "
        f"(train.deepspeed_preset=zero2_offload); checkpoints already written are intact "
        f"({detail})"
    )


def _check_finite(loss: torch.Tensor, step: int, cfg: TrainConfig) -> None:
    if not torch.isfinite(loss):
        raise TrainingDiverged(divergence_message(loss.item(), step, cfg))


def _any_rank(flag: bool, device: torch.device) -> bool:
    """True when ``flag`` holds on any rank (one tiny all-reduce; free on one worker).

    Every rank must leave the loop at the same step, or the others would wait
    forever in the next gradient all-reduce.
    """
    if not (torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1):
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return bool(t.item() > 0)


def _node_ids(node_id: str) -> list[str]:
    """Node id of every rank, in rank order (shows where the worker group ran)."""
    if not torch.distributed.is_initialized():
        return [node_id]
    out: list[Any] = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(out, node_id)
    return [str(n) for n in out]


def _save_checkpoint(
    directory: Path,
    engine: Any,
    rank: int,
    world: int,
    model_cfg: ModelConfig,
    spec: ModelSpec,
    state: dict[str, Any],
    scaler: dict[str, Any],
) -> None:
    """Every rank: its optimizer shard (and the ZeRO-3 gather); rank 0: weights, JSON, export."""
    save_weights(directory, engine, rank)
    save_optimizer_shard(directory, engine, rank, world)
    if rank == 0:
        write_json(directory / STATE_FILE, state)
        write_json(directory / SCALER_FILE, scaler)
        save_pretrained(engine.module, model_cfg, spec, directory / MODEL_DIR)


def _restore(engine: Any, checkpoint_dir: Path, rank: int, world: int) -> dict[str, Any]:
    """Load weights and this rank's optimizer shard; return the run counters."""
    load_weights(engine, checkpoint_dir, rank)
    restore_optimizer_shard(engine, checkpoint_dir, rank, world)
    return read_state(checkpoint_dir)


def _validate(engine: Any, loader: DataLoader, device: torch.device) -> float:
    """Mean squared error over the whole validation set, all-reduced over workers."""
    engine.eval()
    total = torch.zeros(2, dtype=torch.float64, device=device)  # [sum of squared errors, count]
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            pred = engine(x).float()
            total[0] += torch.sum((pred - y) ** 2).double()
            total[1] += y.numel()
    if torch.distributed.is_initialized():
        torch.distributed.all_reduce(total)
    engine.train()
    return float(total[0] / total[1].clamp(min=1))


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """Ray Train entry point. Reads only ``config`` (a dumped WorkerConfig)."""
    import deepspeed
    import ray
    import ray.train

    wcfg = WorkerConfig.model_validate(config)
    tcfg = wcfg.train
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    logging.getLogger("DeepSpeed").setLevel(logging.WARNING)
    _seed_everything(tcfg.seed + rank)

    # Data: each worker reads the versioned Parquet file itself.
    proto = load_protocol(wcfg.dataset_path, wcfg.data)
    scaler = proto.scaler()
    window = wcfg.data.window
    train_set = WindowDataset(proto.train, window.seq_len, window.horizon, window.stride)
    val_set = WindowDataset(proto.val, window.seq_len, window.horizon, 1)
    train_set = Subset(train_set, capped_indices(len(train_set), tcfg.max_train_windows))
    val_set = Subset(val_set, capped_indices(len(val_set), tcfg.max_val_windows))
    sampler = DistributedSampler(
        train_set, num_replicas=world, rank=rank, shuffle=True, seed=tcfg.seed, drop_last=False
    )
    train_loader = DataLoader(train_set, batch_size=tcfg.batch_size, sampler=sampler)
    val_loader = DataLoader(
        val_set,
        batch_size=tcfg.batch_size,
        sampler=DistributedSampler(val_set, num_replicas=world, rank=rank, shuffle=False),
    )

    # Model and engine.
    spec = ModelSpec(**wcfg.spec)
    torch.manual_seed(tcfg.seed)  # identical initial weights on every rank
    model = build_model(wcfg.model, spec)
    steps_per_epoch = math.ceil(len(train_loader) / tcfg.grad_accum)
    total_steps = min(steps_per_epoch * tcfg.epochs, tcfg.max_steps or 10**12)
    ds_config = resolve_ds_config(
        wcfg.ds_preset,
        tcfg,
        total_steps,
        max(1, int(total_steps * tcfg.warmup_ratio)),
        tcfg.use_gpu,
    )
    engine, _, _, _ = deepspeed.initialize(
        model=model,
        optimizer=_client_optimizer(model, ds_config, tcfg.use_gpu),
        model_parameters=[p for p in model.parameters() if p.requires_grad],
        config=ds_config,
    )
    device = engine.device

    state = {
        "epoch": 0,
        "step": 0,
        "best_val": math.inf,
        "stale_epochs": 0,
        "curves": {"train_loss": [], "val_loss": [], "samples_per_s": []},
        "nodes": _node_ids(ray.get_runtime_context().get_node_id()),
        "resumed_from": [],
    }
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as ckpt_dir:
            resumed = _restore(engine, Path(ckpt_dir), rank, world)
        resumed["resumed_from"] = [*resumed.get("resumed_from", []), resumed["epoch"]]
        resumed["nodes"] = state["nodes"]
        resumed.pop("first_step_at", None)
        state = resumed
        if rank == 0:
            log.warning(
                "resumed from checkpoint at epoch %d, step %d", state["epoch"], state["step"]
            )

    progress = _progress_handle(wcfg.progress_actor) if rank == 0 else None
    if progress is not None:
        progress.start.remote(total_steps, state["step"])

    engine.train()
    while state["epoch"] < tcfg.epochs and state["step"] < total_steps:
        sampler.set_epoch(state["epoch"])
        epoch_loss, batches, seen, started = 0.0, 0, 0, time.perf_counter()
        diverged: float | None = None
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            try:
                loss = torch.nn.functional.mse_loss(engine(x).float(), y)
                engine.backward(loss)
                engine.step()
            except torch.OutOfMemoryError as err:
                raise MemoryError(
                    out_of_memory_message(state["step"] + 1, tcfg, str(err).splitlines()[0])
                ) from None
            value = loss.item()
            batches += 1
            seen += x.shape[0]
            if _any_rank(not math.isfinite(value), device):
                diverged = value
                state["step"] += 1
                break
            epoch_loss += value
            if engine.is_gradient_accumulation_boundary() or batches % tcfg.grad_accum == 0:
                state["step"] += 1
                # Unix time of this attempt's first step: start-up cost, in the checkpoint.
                state.setdefault("first_step_at", time.time())
                if progress is not None:
                    progress.update.remote(state["step"], value)
            if state["step"] >= total_steps:
                break
        if diverged is not None:
            # Every rank returns at the same step; rank 0 leaves a marker in the run's
            # storage folder and the driver raises TrainingDiverged. Raising here would
            # make Ray Train restart the group max_failures times, only to diverge again.
            if rank == 0:
                log.error(divergence_message(diverged, state["step"], tcfg))
                _write_marker(ctx.get_storage(), {"step": state["step"], "loss": diverged})
            return
        elapsed = time.perf_counter() - started
        val_loss = _validate(engine, val_loader, device)
        state["epoch"] += 1
        train_loss = epoch_loss / max(batches, 1)
        state["curves"]["train_loss"].append(train_loss)
        state["curves"]["val_loss"].append(val_loss)
        state["curves"].setdefault("samples_per_s", []).append(seen * world / max(elapsed, 1e-9))
        improved = val_loss < state["best_val"]
        state["best_val"] = min(state["best_val"], val_loss)
        state["stale_epochs"] = 0 if improved else state["stale_epochs"] + 1
        metrics = {
            "epoch": state["epoch"],
            "step": state["step"],
            "train_loss": train_loss,
            "val_loss": val_loss,
            "samples_per_s": state["curves"]["samples_per_s"][-1],
            "num_nodes": len(set(state["nodes"])),
        }
        with tempfile.TemporaryDirectory() as tmp:
            _save_checkpoint(Path(tmp), engine, rank, world, wcfg.model, spec, state, scaler)
            # Every rank reports its directory (its optimizer shard); Ray Train merges
            # them into one checkpoint directory in storage.
            ckpt = ray.train.Checkpoint.from_directory(tmp) if any(Path(tmp).iterdir()) else None
            ray.train.report(metrics, checkpoint=ckpt, checkpoint_dir_name=_ckpt_name(state))
        if state["stale_epochs"] >= tcfg.patience:
            break


def _write_marker(storage: Any, payload: dict[str, Any]) -> None:
    """Write ``diverged.json`` into the run folder through Ray Train's storage filesystem."""
    path = f"{storage.experiment_fs_path}/{DIVERGED_FILE}"
    with storage.storage_filesystem.open_output_stream(path) as f:
        f.write(json.dumps(payload, allow_nan=True).encode())


def _ckpt_name(state: dict[str, Any]) -> str:
    """Same name on every rank; epoch and step make it unique within the run."""
    return f"checkpoint_epoch{state['epoch']:04d}_step{state['step']:07d}"


def _client_optimizer(
    model: torch.nn.Module, ds_config: dict[str, Any], use_gpu: bool
) -> torch.optim.Optimizer | None:
    """torch's AdamW on CPU (unless the preset offloads), DeepSpeed's fused Adam on GPU.

    DeepSpeed's own Adam on the CPU accelerator JIT-compiles a C++ op on first
    use (minutes on a laptop); torch's foreach AdamW is as fast at these sizes.
    The preset's optimizer section is removed so DeepSpeed uses this one.
    """
    offload = "offload_optimizer" in ds_config.get("zero_optimization", {})
    if use_gpu or offload:
        return None
    params = ds_config.pop("optimizer")["params"]
    trainable = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(
        trainable,
        lr=params["lr"],
        weight_decay=params["weight_decay"],
        betas=tuple(params["betas"]),
        eps=params["eps"],
    )


def _progress_handle(name: str | None) -> Any:
    """The driver's progress actor, when it runs one (it does not on a remote job)."""
    if not name:
        return None
    import ray

    try:
        return ray.get_actor(name)
    except ValueError:
        return None


def worker_env() -> dict[str, str]:
    """Environment every worker needs: DeepSpeed's CPU accelerator when there is no GPU."""
    env = {"TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    if not torch.cuda.is_available():
        env["DS_ACCELERATOR"] = "cpu"
    return {**env, **{k: v for k, v in os.environ.items() if k == "DS_ACCELERATOR"}}
