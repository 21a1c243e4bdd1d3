"""Checkpoint files of a training run, written and read without pickle.

One Ray Train checkpoint directory holds what rank 0 writes — the trainable
weights, the run counters, the data scaler and a loadable export of the model —
plus one optimizer shard per rank that owns optimizer state::

    trainable.safetensors        rank 0: parameters with requires_grad (full, gathered)
    state.json                   rank 0: the run's TrainState (epoch, step, best val, curves)
    scaler.json                  rank 0: the train-split scaler (evaluation needs it)
    model/                       rank 0: export read by ``load_pretrained``
    optim-rank00000.safetensors  optimizer state tensors, fp32 master partition, RNG
    optim-rank00000.json         param groups, LR scheduler state, layout (world size, ZeRO stage)

Under ZeRO-1/2 each rank updates its own partition of the flattened fp32
parameters, so each rank writes its own shard; Ray Train merges the files that
several ranks report for one checkpoint into one directory in storage. Under
ZeRO-0 in fp32 every rank holds the same state, so rank 0's shard serves all
ranks (DeepSpeed's bf16 optimizer partitions its fp32 master even at ZeRO-0,
so there every rank writes its own).

Nothing here is a pickle: tensors go to safetensors, scalars to JSON, so a
checkpoint from storage can be loaded without trusting it to run code.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
import torch
from safetensors.torch import load_file, save_file

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
TRAINABLE_FILE = "trainable.safetensors"
SHARD_FORMAT = 1

# Where DeepSpeed's wrappers keep the fp32 master copy of the parameters this
# rank updates: ZeRO-1/2, the bf16 optimizer (ZeRO-0 + bf16), ZeRO-3.
_FP32_MASTER_ATTRS = (
    "single_partition_of_fp32_groups",
    "fp32_groups_flat_partition",
    "fp32_partitioned_groups_flat",
)


class CheckpointMismatch(RuntimeError):
    """A checkpoint that does not fit the model or optimizer being resumed."""


@pydantic.with_config(pydantic.ConfigDict(extra="forbid"))
@dataclass
class Curves:
    """One entry per finished epoch."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    samples_per_s: list[float] = field(default_factory=list)  # all ranks together
    epoch_seconds: list[float] = field(default_factory=list)  # wall time of the training pass
    peak_rss_mib: list[float] = field(default_factory=list)  # max over ranks of process peak RSS
    peak_cuda_mib: list[float] = field(default_factory=list)  # max over ranks; 0 on the CPU
    # The loss terms of a model with an objective of its own (CALF's distillation, TEST's
    # contrast; ``supervised`` the task's loss): epoch means, NaN in an epoch without the term.
    loss_terms: dict[str, list[float]] = field(default_factory=dict)

    def add_terms(self, means: dict[str, float]) -> None:
        """Append one epoch's term means (call after appending its train_loss)."""
        epochs = len(self.train_loss)
        for name in sorted(set(self.loss_terms) | set(means)):
            curve = self.loss_terms.setdefault(name, [])
            curve.extend([math.nan] * (epochs - 1 - len(curve)))
            curve.append(means.get(name, math.nan))

    def flat(self) -> dict[str, list[float]]:
        """Every curve by name, a loss term ``t`` as ``loss_t`` (the shape run records hold)."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if k != "loss_terms"}
        return {**out, **{f"loss_{name}": list(v) for name, v in self.loss_terms.items()}}


@pydantic.with_config(pydantic.ConfigDict(extra="forbid"))
@dataclass
class TrainState:
    """The run's counters: the one schema of ``state.json``, written by rank 0 per checkpoint.

    The worker, the plain-process recipe, the launcher and the tests read it as this
    type, never as a dict, so a renamed field fails loudly where it is read.
    """

    epoch: int = 0  # finished epochs
    step: int = 0  # optimizer steps taken
    best_val: float = math.inf
    stale_epochs: int = 0  # epochs since val loss last improved
    curves: Curves = field(default_factory=Curves)
    nodes: list[str] = field(default_factory=list)  # node id of every rank, in rank order
    resumed_from: list[int] = field(default_factory=list)  # epoch of each resume
    first_step_at: float | None = None  # Unix time of this attempt's first step (start-up cost)

    def to_json(self) -> str:
        """JSON with inf allowed (``best_val`` starts at inf)."""
        return json.dumps(dataclasses.asdict(self), indent=2, allow_nan=True)

    @classmethod
    def from_json(cls, text: str) -> TrainState:
        """Parse and validate ``state.json``.

        Raises:
            CheckpointMismatch: not a TrainState (other fields or types).
        """
        try:
            state = _STATE_ADAPTER.validate_python(json.loads(text))
        except (json.JSONDecodeError, pydantic.ValidationError) as err:
            raise CheckpointMismatch(f"{STATE_FILE} is not a training state: {err}") from None
        if state.best_val is None:  # written by json as null in old runs
            state.best_val = math.inf
        return state


_STATE_ADAPTER = pydantic.TypeAdapter(TrainState)


def shard_paths(directory: Path, rank: int) -> tuple[Path, Path]:
    """(tensors, metadata) paths of the optimizer shard of ``rank``."""
    stem = f"optim-rank{rank:05d}"
    return directory / f"{stem}.safetensors", directory / f"{stem}.json"


def zero_stage(engine: Any) -> int:
    """ZeRO stage of a DeepSpeed engine (0 when ZeRO is off)."""
    return int(engine.zero_optimization_stage())


def per_rank_state(engine: Any) -> bool:
    """Whether each rank holds its own optimizer state (ZeRO >= 1, or the bf16 optimizer,
    which partitions its fp32 master copy across ranks even at ZeRO-0)."""
    return zero_stage(engine) >= 1 or hasattr(engine.optimizer, "fp32_groups_flat_partition")


def owns_shard(rank: int, per_rank: bool) -> bool:
    """Whether ``rank`` writes an optimizer shard: every rank when state is per rank, else rank 0."""
    return per_rank or rank == 0


def base_optimizer(engine: Any) -> torch.optim.Optimizer:
    """The torch optimizer doing the update, under whatever DeepSpeed wraps it in."""
    opt = engine.optimizer
    while not isinstance(opt, torch.optim.Optimizer) and hasattr(opt, "optimizer"):
        opt = opt.optimizer
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(f"cannot find the torch optimizer inside {type(engine.optimizer)}")
    return opt


def fp32_master(engine: Any) -> list[torch.Tensor]:
    """Flat fp32 master partitions this rank updates; [] when the parameters are the master.

    They are copies (even in fp32 training under ZeRO-1/2), so restoring the
    module's weights alone would leave them stale: the next step would write
    the *initial* weights plus one update back into the model.
    """
    for attr in _FP32_MASTER_ATTRS:
        groups = getattr(engine.optimizer, attr, None)
        if groups:
            return list(groups)
    return []


def gathered(engine: Any, params: list[torch.nn.Parameter], modifier_rank: int | None):
    """ZeRO-3 partitions parameters: gather them (a collective: every rank enters)."""
    if zero_stage(engine) != 3:
        return nullcontext()
    import deepspeed

    return deepspeed.zero.GatheredParameters(params, modifier_rank=modifier_rank)


def trainable_parameters(module: torch.nn.Module) -> list[tuple[str, torch.nn.Parameter]]:
    """(name, parameter) of every parameter that trains, in module order."""
    return [(n, p) for n, p in module.named_parameters() if p.requires_grad]


def save_weights(directory: Path, engine: Any, rank: int) -> None:
    """Rank 0 writes the full trainable weights; every rank must call (ZeRO-3 gathers).

    Gathering first matters under ZeRO-3: a partitioned parameter is an empty
    placeholder, and saving it would write an empty adapter.
    """
    named = trainable_parameters(engine.module)
    with gathered(engine, [p for _, p in named], modifier_rank=None):
        if rank == 0:
            tensors = {n: p.detach().cpu().contiguous() for n, p in named}
            save_file(tensors, str(directory / TRAINABLE_FILE))


def load_weights(engine: Any, checkpoint_dir: Path, rank: int) -> None:
    """Load trainable weights on every rank (under ZeRO-3 rank 0 loads, then re-partitions).

    Raises:
        CheckpointMismatch: the checkpoint names parameters the model does not have.
    """
    weights = load_file(str(checkpoint_dir / TRAINABLE_FILE))
    own = dict(trainable_parameters(engine.module))
    unknown = sorted(set(weights) - set(own))
    if unknown:
        raise CheckpointMismatch(
            f"checkpoint {checkpoint_dir} does not match the model (unknown parameters "
            f"{unknown[:5]}); resume with the same model section or set a new train.run_name"
        )
    with gathered(engine, list(own.values()), modifier_rank=0), torch.no_grad():
        if zero_stage(engine) != 3 or rank == 0:
            for name, value in weights.items():
                own[name].copy_(value.to(own[name].dtype))


def save_optimizer_shard(directory: Path, engine: Any, rank: int, world_size: int) -> None:
    """Write this rank's optimizer state, fp32 master partition, LR schedule and RNG.

    Args:
        directory: the (local, temporary) checkpoint directory this rank reports.
        engine: the DeepSpeed engine.
        rank: world rank.
        world_size: number of ranks (a ZeRO partition only fits the same world size).
    """
    stage = zero_stage(engine)
    per_rank = per_rank_state(engine)
    if not owns_shard(rank, per_rank):
        return
    opt = base_optimizer(engine)
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for idx, param_state in sd["state"].items():
        for key, value in param_state.items():
            if torch.is_tensor(value):
                tensors[f"state.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"state.{idx}.{key}"] = value
    for i, master in enumerate(fp32_master(engine)):
        tensors[f"fp32.{i}"] = master.detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {
        "format": SHARD_FORMAT,
        "rank": rank,
        "world_size": world_size,
        "zero_stage": stage,
        "per_rank": per_rank,
        "optimizer": type(opt).__name__,
        "param_groups": sd["param_groups"],
        "scalars": scalars,
        "lr_scheduler": engine.lr_scheduler.state_dict() if engine.lr_scheduler else None,
        "global_steps": engine.global_steps,
        "global_samples": engine.global_samples,
    }
    tensor_path, meta_path = shard_paths(directory, rank)
    save_file(tensors, str(tensor_path))
    meta_path.write_text(json.dumps(meta, indent=2, allow_nan=True))


def restore_optimizer_shard(engine: Any, checkpoint_dir: Path, rank: int, world_size: int) -> bool:
    """Load this rank's optimizer shard; return False when only the weights could be resumed.

    A checkpoint written with another world size under ZeRO-1/2 (or the bf16
    optimizer) has differently cut partitions, so its optimizer state cannot be used: the fp32 master copy
    is then refreshed from the (already loaded) weights and Adam's moments start
    again, with a warning.

    Raises:
        CheckpointMismatch: the shard's optimizer does not fit this one (other
            parameter groups or sizes), with the fix in the message.
    """
    stage = zero_stage(engine)
    per_rank = per_rank_state(engine)
    source = rank if per_rank else 0
    tensor_path, meta_path = shard_paths(checkpoint_dir, source)
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else None
    usable = (
        meta is not None
        and tensor_path.is_file()
        and meta["zero_stage"] == stage
        and (not per_rank or meta["world_size"] == world_size)
    )
    if not usable:
        why = (
            "it has no optimizer shard"
            if meta is None
            else f"it was written by {meta['world_size']} ranks at ZeRO-{meta['zero_stage']}, "
            f"this run has {world_size} at ZeRO-{stage}"
        )
        log.warning(
            "checkpoint %s: resuming weights only (%s); optimizer moments restart",
            checkpoint_dir,
            why,
        )
        _refresh_fp32(engine)
        return False

    tensors = load_file(str(tensor_path))
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("state."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    for key, value in meta["scalars"].items():
        _, idx, name = key.split(".", 2)
        state.setdefault(int(idx), {})[name] = value
    opt = base_optimizer(engine)
    try:
        opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    except (ValueError, KeyError, RuntimeError) as err:
        raise CheckpointMismatch(
            f"{tensor_path}: optimizer state does not fit this run ({err}); resume with the "
            "same model and train sections, or set a new train.run_name to start afresh"
        ) from None
    masters = fp32_master(engine)
    with torch.no_grad():
        for i, master in enumerate(masters):
            saved = tensors.get(f"fp32.{i}")
            if saved is None or saved.shape != master.shape:
                raise CheckpointMismatch(
                    f"{tensor_path}: fp32 master partition {i} is missing or has another "
                    "shape; resume with the same deepspeed preset and num_workers"
                )
            master.copy_(saved)
    if not masters:
        _refresh_fp32(engine)
    if engine.lr_scheduler is not None and meta["lr_scheduler"] is not None:
        engine.lr_scheduler.load_state_dict(meta["lr_scheduler"])
    engine.global_steps = meta["global_steps"]
    engine.global_samples = meta["global_samples"]
    torch.set_rng_state(tensors["rng.torch"])
    return True


def _refresh_fp32(engine: Any) -> None:
    refresh = getattr(engine.optimizer, "refresh_fp32_params", None)
    if refresh is not None:
        refresh()


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """JSON with inf allowed."""
    path.write_text(json.dumps(payload, indent=2, allow_nan=True))


def write_state(checkpoint_dir: Path, state: TrainState) -> None:
    """Write the run's counters (``state.json``)."""
    (checkpoint_dir / STATE_FILE).write_text(state.to_json())


def read_state(checkpoint_dir: Path) -> TrainState:
    """The run counters of a checkpoint (``state.json``)."""
    return TrainState.from_json((checkpoint_dir / STATE_FILE).read_text())
