"""The training recipe: setup -> (train_epoch -> validate -> save) per epoch, restore on resume.

One recipe serves two launchers. Ray Train's worker function (``worker.py``) builds it
in each worker and reports its checkpoints to Ray; a plain process runs it alone, which
is what a GPU machine without Ray runs::

    python -m tsalign.components.training.recipe --config configs/tiny.yaml [key=value ...]
    torchrun --nproc-per-node 2 -m tsalign.components.training.recipe --config configs/tiny.yaml

A plain process reads RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT as
torchrun sets them (one rank when unset), trains ``model.name`` on the dataset the
ingest stage recorded in ``workdir`` and writes its checkpoints to
``<train.storage_path>/<run name>/``; rerunning the same ``train.run_name`` resumes
from the latest one. Checkpoints (``checkpoint.py``) hold the trainable weights, every
rank's optimizer state, the LR schedule and the run's :class:`TrainState`, without pickle.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import resource
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict
from torch.utils.data import DataLoader, DistributedSampler, Subset

from tsalign.components.config import ModelConfig, ProtocolConfig, TrainConfig
from tsalign.components.data.retrieval_index import load_index
from tsalign.components.data.windows import capped_indices
from tsalign.components.layout import MODEL_DIR, SCALER_FILE
from tsalign.components.models import ModelSpec, build_model, save_pretrained
from tsalign.components.models.objective import AuxiliaryObjective, training_loss
from tsalign.components.tasks import get_task
from tsalign.components.tasks.base import TrainingInputs
from tsalign.components.training.checkpoint import (
    STATE_FILE,
    TrainState,
    gathered,
    load_weights,
    read_state,
    restore_optimizer_shard,
    save_optimizer_shard,
    save_weights,
    write_json,
    write_state,
)
from tsalign.components.training.deepspeed_config import resolve_ds_config

log = logging.getLogger(__name__)

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
COSINE_FLOOR = 0.1
"""The cosine schedule decays the learning rate to this share of train.lr."""


class TrainingDiverged(RuntimeError):
    """Loss became NaN/inf; the message names the step and the knobs to change."""


class RecipeConfig(BaseModel):
    """Everything one rank needs to train one model; ``train`` has device and precision resolved.

    Only the data protocol (split and windows) is here: a worker reads the versioned
    Parquet file at ``dataset_path`` and never sees the source, its pins or credentials.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset_path: str
    protocol: ProtocolConfig
    model: ModelConfig
    spec: dict[str, Any]
    train: TrainConfig
    ds_preset: dict[str, Any]
    text_path: str | None = None
    """Window texts of a fused model (``data.text_features.save_window_texts``); None: none."""
    retrieval_path: str | None = None
    """Retrieval index of a model with ``model.retrieval`` (``data.retrieval_index``); None: none."""


@dataclass
class EpochResult:
    """What one pass over the training data produced on this rank."""

    train_loss: float  # mean over the epoch's micro-batches
    samples_per_s: float  # all ranks together
    diverged: float | None = None  # the non-finite loss that stopped the epoch, if any
    seconds: float = 0.0  # wall time of the pass
    loss_terms: dict[str, float] = field(default_factory=dict)  # epoch means of the named terms


@dataclass
class EpochMetrics:
    """What every finished epoch reports (to Ray Train, or the plain process's log)."""

    epoch: int
    step: int
    train_loss: float
    val_loss: float
    samples_per_s: float  # all ranks together
    num_nodes: int  # distinct nodes the ranks ran on
    final: bool = False  # the run stops after this epoch (epochs, steps or patience used up)
    loss_terms: dict[str, float] = field(default_factory=dict)  # a model's own terms (CALF, TEST)
    pretraining: bool = False  # a pre-training epoch: no forecast to validate, val_loss is inf

    @property
    def checkpoint_name(self) -> str:
        """Same name on every rank; epoch and step make it unique within the run."""
        return checkpoint_name(self.epoch, self.step)


StepCallback = Callable[[int, float], None]
"""Called on rank 0 with (optimizer step, last loss) after every optimizer step."""
ReportCallback = Callable[[EpochMetrics, Path], None]
"""Called on every rank with an epoch's metrics and the directory its checkpoint was saved in."""


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


def build_optimizer(
    model: torch.nn.Module, cfg: TrainConfig, offload: bool
) -> torch.optim.Optimizer:
    """AdamW over the trainable parameters, from train.lr and train.weight_decay.

    torch's AdamW (foreach on CPU, fused on CUDA) needs no compiled op; an offload
    preset keeps the optimizer step on the CPU, which DeepSpeed requires to be its
    own CPUAdam (compiled on first use).
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    hyper = {"lr": cfg.lr, "weight_decay": cfg.weight_decay, "betas": ADAM_BETAS, "eps": ADAM_EPS}
    if offload:
        from deepspeed.ops.adam import DeepSpeedCPUAdam

        return DeepSpeedCPUAdam(trainable, adamw_mode=True, **hyper)
    return torch.optim.AdamW(trainable, fused=cfg.device == "cuda", **hyper)


def lr_schedule(cfg: TrainConfig, total_steps: int) -> Callable[[torch.optim.Optimizer], Any]:
    """Linear warm-up over train.warmup_ratio of the steps, then cosine down to COSINE_FLOOR.

    Returned as a factory: DeepSpeed calls it with the optimizer it ends up stepping.
    """
    from deepspeed.runtime.lr_schedules import WarmupCosineLR

    def build(optimizer: torch.optim.Optimizer) -> Any:
        return WarmupCosineLR(
            optimizer,
            total_num_steps=max(total_steps, 1),
            warmup_min_ratio=0.0,
            warmup_num_steps=max(1, int(total_steps * cfg.warmup_ratio)),
            cos_min_ratio=COSINE_FLOOR,
        )

    return build


def build_engine(
    model: torch.nn.Module, cfg: TrainConfig, preset: dict[str, Any], total_steps: int
) -> Any:
    """The DeepSpeed engine of ``model``: the preset's ZeRO section, train's optimizer,
    schedule, batch and precision (the module stays fp32; bf16 is autocast in forward).

    Args:
        model: the model to train (fp32).
        cfg: the train section with device and precision resolved.
        preset: a preset from ``check_preset``.
        total_steps: optimizer steps the run will take (for the schedule).
    """
    import deepspeed

    ds_config = resolve_ds_config(preset, cfg)
    offload = "offload_optimizer" in ds_config.get("zero_optimization", {})
    engine, *_ = deepspeed.initialize(
        model=model,
        optimizer=build_optimizer(model, cfg, offload),
        lr_scheduler=lr_schedule(cfg, total_steps),
        config=ds_config,
    )
    return engine


def _check_pretraining(model: torch.nn.Module, cfg: TrainConfig, steps_per_epoch: int) -> None:
    """Refuse a run that would end inside the model's pre-training epochs.

    Raises:
        ValueError: naming the settings to change.
    """
    if not isinstance(model, AuxiliaryObjective) or not model.pretrain_epochs:
        return
    epochs = model.pretrain_epochs
    if epochs >= cfg.epochs:
        raise ValueError(
            f"model.params.pretrain_epochs={epochs} leaves no forecasting epoch in "
            f"train.epochs={cfg.epochs}: raise train.epochs above {epochs} or lower "
            "model.params.pretrain_epochs"
        )
    if cfg.max_steps and cfg.max_steps <= epochs * steps_per_epoch:
        raise ValueError(
            f"train.max_steps={cfg.max_steps} ends within the {epochs} pre-training epoch(s) "
            f"of model.params.pretrain_epochs ({steps_per_epoch} steps each): raise "
            f"train.max_steps above {epochs * steps_per_epoch} or lower "
            "model.params.pretrain_epochs"
        )


def checkpoint_name(epoch: int, step: int) -> str:
    """The directory name of a checkpoint: sortable, unique within the run."""
    return f"checkpoint_epoch{epoch:04d}_step{step:07d}"


def _any_rank(flag: bool, device: torch.device) -> bool:
    """True when ``flag`` holds on any rank (one tiny all-reduce; free on one rank).

    Every rank must leave the loop at the same step, or the others would wait
    forever in the next gradient all-reduce.
    """
    if not (torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1):
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return bool(t.item() > 0)


def peak_memory_mib(device: torch.device) -> tuple[float, float]:
    """(peak RSS of this process, peak CUDA memory allocated on ``device``) in MiB, max over ranks.

    RSS is the whole worker process (torch, the frozen LM, data), so it is what a machine
    must hold; the CUDA figure is what the tensors took on the GPU (0 on the CPU).
    """
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    rss_mib = rss / 2**20 if sys.platform == "darwin" else rss / 2**10
    cuda_mib = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else 0.0
    t = torch.tensor([rss_mib, cuda_mib], dtype=torch.float64, device=device)
    if torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1:
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return float(t[0]), float(t[1])


def _node_ids(node_id: str) -> list[str]:
    """Node id of every rank, in rank order (shows where the group ran)."""
    if not torch.distributed.is_initialized():
        return [node_id]
    out: list[Any] = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(out, node_id)
    return [str(n) for n in out]


class TrainingRecipe:
    """One rank's training run; every rank builds one and calls the same methods in order."""

    def __init__(self, cfg: RecipeConfig, rank: int, world: int) -> None:
        if cfg.train.device == "auto" or cfg.train.precision == "auto":
            raise ValueError("resolve train.device and train.precision before building a recipe")
        self.cfg = cfg
        self.tcfg = cfg.train
        self.rank = rank
        self.world = world
        self.state = TrainState()

    def setup(self, node_id: str) -> None:
        """Seed, data loaders, model, DeepSpeed engine and a fresh TrainState."""
        tcfg = self.tcfg
        torch.manual_seed(tcfg.seed + self.rank)
        np.random.seed((tcfg.seed + self.rank) % 2**32)

        # Data: each rank reads the versioned file itself; the task says what it holds.
        self.spec = ModelSpec(**self.cfg.spec)
        data = get_task(self.spec.task).training_data(
            TrainingInputs(
                self.cfg.dataset_path,
                self.cfg.protocol,
                tcfg,
                self.cfg.text_path,
                self.cfg.retrieval_path,
            )
        )
        self.scaler, self.loss, self.val_sums = data.scaler, data.loss, data.val_sums
        train_set = Subset(data.train, capped_indices(len(data.train), tcfg.max_train_windows))
        val_set = data.val
        self.sampler = DistributedSampler(
            train_set, num_replicas=self.world, rank=self.rank, shuffle=True, seed=tcfg.seed
        )
        self.train_loader = DataLoader(train_set, batch_size=tcfg.batch_size, sampler=self.sampler)
        self.val_loader = DataLoader(
            val_set,
            batch_size=tcfg.batch_size,
            sampler=DistributedSampler(
                val_set, num_replicas=self.world, rank=self.rank, shuffle=False
            ),
        )

        # Model and engine: the module stays fp32; bf16 is autocast inside the engine.
        torch.manual_seed(tcfg.seed)  # identical initial weights on every rank
        model = build_model(self.cfg.model, self.spec)
        if self.cfg.retrieval_path:  # saved with the weights: the index travels with the model
            model.set_index(load_index(self.cfg.retrieval_path))
        steps_per_epoch = math.ceil(len(self.train_loader) / tcfg.grad_accum)
        self.total_steps = min(steps_per_epoch * tcfg.epochs, tcfg.max_steps or 10**12)
        _check_pretraining(model, tcfg, steps_per_epoch)
        self.engine = build_engine(model, tcfg, self.cfg.ds_preset, self.total_steps)
        self.device = self.engine.device
        self.state = TrainState(nodes=_node_ids(node_id))

    def restore(self, directory: Path) -> None:
        """Load weights, this rank's optimizer shard and the counters of a checkpoint."""
        load_weights(self.engine, directory, self.rank)
        restore_optimizer_shard(self.engine, directory, self.rank, self.world)
        saved = read_state(directory)
        saved.resumed_from = [*saved.resumed_from, saved.epoch]
        saved.nodes = self.state.nodes
        saved.first_step_at = None
        self.state = saved
        if self.rank == 0:
            log.warning("resumed from checkpoint at epoch %d, step %d", saved.epoch, saved.step)

    @property
    def pretraining(self) -> bool:
        """Whether the current epoch is one of the model's pre-training epochs (TEST)."""
        module = self.engine.module
        return isinstance(module, AuxiliaryObjective) and self.state.epoch < module.pretrain_epochs

    @property
    def finished(self) -> bool:
        """All epochs or all steps done, or validation stopped improving."""
        s = self.state
        return (
            s.epoch >= self.tcfg.epochs
            or s.step >= self.total_steps
            or s.stale_epochs >= self.tcfg.patience
        )

    def train_epoch(self, on_step: StepCallback | None = None) -> EpochResult:
        """One pass over this rank's shard of the training windows (loss in fp32).

        Raises:
            MemoryError: out of memory, with the step and the knobs in the message.
        """
        tcfg, engine, state = self.tcfg, self.engine, self.state
        self.sampler.set_epoch(state.epoch)
        if isinstance(engine.module, AuxiliaryObjective):
            engine.module.start_epoch(state.epoch)
        engine.train()
        total, batches, seen, started = 0.0, 0, 0, time.perf_counter()
        term_sums: dict[str, float] = {}
        for x, y, *text in self.train_loader:
            x, y = x.to(self.device), y.to(self.device)
            text = [t.to(self.device) for t in text]  # a fused model's tokens and mask
            try:
                loss, terms = training_loss(engine.module, engine(x, *text), y, self.loss)
                engine.backward(loss)
                engine.step()
            except torch.OutOfMemoryError as err:
                raise MemoryError(
                    out_of_memory_message(state.step + 1, tcfg, str(err).splitlines()[0])
                ) from None
            value = loss.item()
            batches += 1
            seen += x.shape[0]
            if _any_rank(not math.isfinite(value), self.device):
                state.step += 1
                return EpochResult(math.nan, 0.0, diverged=value)
            total += value
            for name, term in terms.items():
                term_sums[name] = term_sums.get(name, 0.0) + term.item()
            if engine.is_gradient_accumulation_boundary() or batches % tcfg.grad_accum == 0:
                state.step += 1
                if state.first_step_at is None:
                    state.first_step_at = time.time()
                if on_step is not None:
                    on_step(state.step, value)
            if state.step >= self.total_steps:
                break
        elapsed = max(time.perf_counter() - started, 1e-9)
        return EpochResult(
            total / max(batches, 1),
            seen * self.world / elapsed,
            seconds=elapsed,
            loss_terms={name: v / max(batches, 1) for name, v in term_sums.items()},
        )

    def validate(self) -> float:
        """The task's validation loss over the whole validation set (fp64 sums), all-reduced;
        inf in a pre-training epoch, whose checkpoint no forecast comparison may pick."""
        if self.pretraining:
            return math.inf
        engine = self.engine
        engine.eval()
        total = torch.zeros(2, dtype=torch.float64, device=self.device)  # [sum of losses, count]
        with torch.no_grad():
            for x, y, *text in self.val_loader:
                x, y = x.to(self.device), y.to(self.device)
                summed, count = self.val_sums(engine(x, *(t.to(self.device) for t in text)), y)
                total[0] += summed
                total[1] += count
        if torch.distributed.is_initialized():
            torch.distributed.all_reduce(total)
        engine.train()
        return float(total[0] / total[1].clamp(min=1))

    def end_epoch(self, result: EpochResult, val_loss: float) -> EpochMetrics:
        """Record a finished epoch in the TrainState; return the metrics to report."""
        s = self.state
        pretraining = self.pretraining
        s.epoch += 1
        s.curves.train_loss.append(result.train_loss)
        s.curves.add_terms(result.loss_terms)
        s.curves.val_loss.append(val_loss)
        s.curves.samples_per_s.append(result.samples_per_s)
        s.curves.epoch_seconds.append(result.seconds)
        rss_mib, cuda_mib = peak_memory_mib(self.device)
        s.curves.peak_rss_mib.append(rss_mib)
        s.curves.peak_cuda_mib.append(cuda_mib)
        if not pretraining:  # patience counts forecasting epochs only
            s.stale_epochs = 0 if val_loss < s.best_val else s.stale_epochs + 1
            s.best_val = min(s.best_val, val_loss)
        return EpochMetrics(
            epoch=s.epoch,
            step=s.step,
            train_loss=result.train_loss,
            val_loss=val_loss,
            samples_per_s=result.samples_per_s,
            num_nodes=len(set(s.nodes)),
            final=self.finished,
            loss_terms=result.loss_terms,
            pretraining=pretraining,
        )

    def save(self, directory: Path) -> None:
        """Every rank: its optimizer shard (and the ZeRO-3 gather); rank 0: weights, state, export."""
        save_weights(directory, self.engine, self.rank)
        save_optimizer_shard(directory, self.engine, self.rank, self.world)
        # The export holds every weight (frozen ones are fingerprinted), so under ZeRO-3
        # all of them are gathered first; elsewhere this is a no-op.
        module = self.engine.module
        with gathered(self.engine, list(module.parameters()), modifier_rank=None):
            if self.rank == 0:
                write_state(directory, self.state)
                write_json(directory / SCALER_FILE, self.scaler)
                save_pretrained(module, self.cfg.model, self.spec, directory / MODEL_DIR)

    def run(self, report: ReportCallback, on_step: StepCallback | None = None) -> float | None:
        """Epochs until finished; each validated, saved to a temporary directory and reported.

        Returns:
            None, or the non-finite loss that stopped training (every rank returns it
            at the same step; checkpoints written before are intact).
        """
        while not self.finished:
            result = self.train_epoch(on_step)
            if result.diverged is not None:
                if self.rank == 0:
                    log.error(divergence_message(result.diverged, self.state.step, self.tcfg))
                return result.diverged
            metrics = self.end_epoch(result, self.validate())
            with tempfile.TemporaryDirectory() as tmp:
                self.save(Path(tmp))
                report(metrics, Path(tmp))
        return None


# -- plain process (no Ray) -----------------------------------------------------------------


def _distributed_env() -> tuple[int, int, int]:
    """(rank, world size, local rank) as torchrun sets them; one rank on 127.0.0.1 when unset."""
    if "WORLD_SIZE" not in os.environ:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        os.environ.update(
            RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
        )
    return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint of a plain-process run (rank 0 writes state.json last)."""
    done = [d for d in sorted(run_dir.glob("checkpoint_epoch*")) if (d / STATE_FILE).is_file()]
    return done[-1] if done else None


def _barrier() -> None:
    if torch.distributed.is_initialized():
        torch.distributed.barrier()


def _publish_checkpoint(run_dir: Path, rank: int) -> ReportCallback:
    """Copy each epoch's checkpoint into ``run_dir``; state.json lands last, after every rank."""
    import shutil

    def report(metrics: EpochMetrics, directory: Path) -> None:
        target = run_dir / metrics.checkpoint_name
        target.mkdir(parents=True, exist_ok=True)
        for item in directory.iterdir():
            if item.name == STATE_FILE:
                continue
            if item.is_dir():
                shutil.copytree(item, target / item.name, dirs_exist_ok=True)
            else:
                shutil.copy2(item, target / item.name)
        _barrier()
        if rank == 0:
            shutil.copy2(directory / STATE_FILE, target / STATE_FILE)
            log.info("%s", metrics)
        _barrier()

    return report


def main(argv: list[str] | None = None) -> int:
    """Train ``model.name`` of a run config in this process (one rank of a torchrun group)."""
    parser = argparse.ArgumentParser(
        prog="python -m tsalign.components.training.recipe",
        description="Train the config's model without Ray (after `tsalign ingest`); "
        "run under torchrun for several ranks.",
    )
    parser.add_argument("--config", type=Path, required=True, help="Run config YAML.")
    parser.add_argument("overrides", nargs="*", help="key=value overrides (train.epochs=2).")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")  # before deepspeed is imported
    from tsalign.components.config import ConfigError
    from tsalign.components.data.errors import DataError
    from tsalign.components.device import DeviceError
    from tsalign.components.state import MissingStageOutput
    from tsalign.components.training.checkpoint import CheckpointMismatch
    from tsalign.components.training.deepspeed_config import PresetError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    log.setLevel(logging.INFO)  # one line per epoch on stderr
    logging.getLogger("DeepSpeed").setLevel(logging.WARNING)
    try:
        _train_plain(args.config, args.overrides)
    except (
        ConfigError,
        DataError,
        DeviceError,
        MissingStageOutput,
        CheckpointMismatch,
        PresetError,
        TrainingDiverged,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def _train_plain(config: Path, overrides: list[str]) -> None:
    """Train the config's model as this rank of a torchrun group (one rank when unset)."""
    import deepspeed

    from tsalign.components.config import load_config
    from tsalign.components.device import resolve_device, resolve_precision
    from tsalign.components.models import model_spec
    from tsalign.components.refs import DatasetRef, ProfileRef
    from tsalign.components.state import MissingStageOutput, latest
    from tsalign.components.training.candidates import retrieval_index_file, with_retrieval_dims
    from tsalign.components.training.deepspeed_config import check_preset
    from tsalign.components.training.launcher import effective_run_name, new_run_name

    cfg = load_config(config, overrides)
    rank, world, local_rank = _distributed_env()
    device = resolve_device(cfg.train.device, "train.device")
    tcfg = cfg.train.model_copy(
        update={"device": device, "precision": resolve_precision(cfg.train.precision, device)}
    )
    if device == "cuda":
        torch.cuda.set_device(local_rank)
    deepspeed.init_distributed(dist_backend="nccl" if device == "cuda" else "gloo")
    dataset = latest(cfg.workdir, cfg.data.name, DatasetRef)
    try:
        profile = latest(cfg.workdir, cfg.data.name, ProfileRef)
    except MissingStageOutput:
        profile = None  # the profile only enriches the spec
    names: list[Any] = [effective_run_name(tcfg, cfg.model.name, new_run_name(cfg.model.name))]
    torch.distributed.broadcast_object_list(names, src=0)  # one generated name for all ranks
    run_dir = Path(tcfg.storage_path).expanduser().resolve() / names[0]

    retrieval_path = retrieval_index_file(cfg.data, cfg.workdir, dataset, cfg.model, tcfg)
    spec = model_spec(dataset, cfg.data.window, profile, cfg.eval.season)
    recipe = TrainingRecipe(
        RecipeConfig(
            dataset_path=dataset.path,
            protocol=cfg.data.protocol(),
            model=cfg.model,
            spec=asdict(with_retrieval_dims(spec, retrieval_path)),
            train=tcfg,
            ds_preset=check_preset(tcfg.deepspeed_preset, device),
            retrieval_path=retrieval_path,
        ),
        rank,
        world,
    )
    recipe.setup(node_id=socket.gethostname())
    resume = latest_checkpoint(run_dir)
    if resume is not None:
        recipe.restore(resume)
    diverged = recipe.run(_publish_checkpoint(run_dir, rank))
    if diverged is not None:
        raise TrainingDiverged(divergence_message(diverged, recipe.state.step, tcfg))
    if rank == 0:
        print(run_dir / checkpoint_name(recipe.state.epoch, recipe.state.step))
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    raise SystemExit(main())
