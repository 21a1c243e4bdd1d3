"""Launch one Ray Train run (TorchTrainer + DeepSpeed in each worker).

Connects to a cluster when ``train.ray_address`` (or RAY_ADDRESS) is set and
starts a local Ray instance otherwise, so the same call runs on a laptop and
on a multi-GPU cluster.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tsalign.components.config import TrainConfig
from tsalign.components.device import resolve_device, resolve_precision
from tsalign.components.layout import MODEL_DIR
from tsalign.components.refs import TrainResult
from tsalign.components.storage import is_s3_uri
from tsalign.components.training.checkpoint import TrainState
from tsalign.components.training.deepspeed_config import check_preset
from tsalign.components.training.job import TrainJob
from tsalign.components.training.worker import (
    DIVERGED_FILE,
    STATE_FILE,
    TrainingDiverged,
    WorkerConfig,
    divergence_message,
    train_loop_per_worker,
    worker_env,
)

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, float | None], None]
"""Called with (step, total_steps, last_loss) while training runs."""


GCS_PORT_ENV = "RAY_GCS_SERVER_PORT"
"""Read by ``ray.init`` when it starts a local instance: the port its GCS listens on."""


class TrainingFailed(RuntimeError):
    """The Ray Train run ended with an error; the message carries the worker's reason."""


def ray_address(train_cfg: TrainConfig) -> str | None:
    """The Ray cluster to use: train.ray_address, else RAY_ADDRESS, else None (a local instance).

    The one place that reads RAY_ADDRESS: a Ray Job's driver has it set by Ray.
    """
    return train_cfg.ray_address or os.environ.get("RAY_ADDRESS") or None


def connect_ray(address: str | None, num_cpus: int | None = None) -> None:
    """Attach to a Ray cluster, or start a quiet local instance.

    Args:
        address: ``ray://host:port``, ``host:port`` or ``auto`` (see :func:`ray_address`);
            None starts a new local instance.
        num_cpus: logical CPUs of a local instance (ignored for a cluster).
    """
    import ray

    if ray.is_initialized():
        return
    if address:
        # Inside a Ray Job the job's runtime env already sets these variables, and
        # Ray refuses a driver runtime env that names the same keys again.
        missing = {k: v for k, v in worker_env().items() if os.environ.get(k) != v}
        ray.init(
            address=address,
            runtime_env={"env_vars": missing} if missing else None,
            log_to_driver=False,
        )
        return
    # The GCS port is chosen here so that every process of this instance can be told its
    # address: Ray Train's placement-group cleaner asks the state API, which otherwise
    # looks for "the" Ray instance on the machine and gives up when it finds several.
    # Without the cleaner, a Tune trial that ends leaves its workers' placement group behind.
    gcs_port = free_port()
    runtime_env = {"env_vars": {**worker_env(), "RAY_ADDRESS": f"127.0.0.1:{gcs_port}"}}
    previous = os.environ.get(GCS_PORT_ENV)
    os.environ[GCS_PORT_ENV] = str(gcs_port)
    try:
        ray.init(
            # "local", not None: None would join whatever cluster `ray start` last
            # recorded in /tmp/ray on this machine (someone else's, possibly).
            address="local",
            num_cpus=num_cpus,
            include_dashboard=True,  # Ray Train's state API needs it; bound to 127.0.0.1
            dashboard_host="127.0.0.1",
            dashboard_port=free_port(),  # never the shared default 8265 of another instance
            runtime_env=runtime_env,
            log_to_driver=False,
            logging_level=logging.WARNING,
            configure_logging=True,
        )
    finally:
        if previous is None:
            os.environ.pop(GCS_PORT_ENV, None)
        else:
            os.environ[GCS_PORT_ENV] = previous


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def storage_root(path: str) -> str:
    """Ray Train wants an absolute local path or a URI."""
    return path if is_s3_uri(path) else str(Path(path).expanduser().resolve())


def new_run_name(prefix: str) -> str:
    """A unique, sortable run name: ``<prefix>-YYYYmmdd-HHMMSS-<hex>``."""
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def effective_run_name(train_cfg: TrainConfig, model_name: str, generated: str) -> str:
    """The Ray Train run name: ``<train.run_name>-<model>`` when set, else ``generated``.

    A fixed ``train.run_name`` makes a rerun of the same config land in the same
    storage folder, where Ray Train finds the run's checkpoints and resumes from
    the latest. The model name is appended because one pipeline trains several
    candidates (model + compare) with the same train section.
    """
    if train_cfg.run_name is None:
        return generated
    return f"{train_cfg.run_name}-{model_name}"


def explain_failure(err: BaseException, train_cfg: TrainConfig) -> str:
    """One readable reason for a failed run; out-of-memory names train.batch_size.

    Recognises torch's OutOfMemoryError (also when a worker re-raised it as a
    MemoryError with the step) and Ray's OutOfMemoryError (the memory monitor
    killed the worker), wherever they sit in the chain of causes or in a worker
    group's per-rank failures.
    """
    causes = list(_causes(err))
    for cause in causes:
        name = type(cause).__name__
        text = str(cause)
        if "train.batch_size" in text:  # already explained by the worker
            return _first_line(text, "train.batch_size")
        if name == "OutOfMemoryError" or isinstance(cause, MemoryError):
            return (
                f"a training worker ran out of memory ({name}): lower train.batch_size "
                f"(now {train_cfg.batch_size}) and raise train.grad_accum (now "
                f"{train_cfg.grad_accum}) to keep the effective batch, or pick an offload "
                "preset (train.deepspeed_preset=zero2_offload); checkpoints already written "
                "are intact"
            )
    root = causes[-1]
    return f"{type(root).__name__}: {root}"


def _causes(err: BaseException):
    """``err``, what caused it, and each rank's failure of a Ray Train worker group."""
    seen: set[int] = set()
    stack = [err]
    while stack:
        cur = stack.pop(0)
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        stack.extend(getattr(cur, "worker_failures", {}).values())
        for attr in ("cause", "__cause__", "controller_failure"):
            nxt = getattr(cur, attr, None)
            if isinstance(nxt, BaseException):
                stack.append(nxt)


def _first_line(text: str, needle: str) -> str:
    """The line of ``text`` that holds ``needle``, without an exception-type prefix."""
    for line in text.splitlines():
        if needle in line:
            return line.strip().removeprefix("MemoryError: ")
    return text


def resolve_train_placement(train_cfg: TrainConfig, cuda_available: bool) -> TrainConfig:
    """The train section with ``device`` and ``precision`` turned from ``auto`` into a choice.

    Args:
        train_cfg: the train section as configured.
        cuda_available: whether the workers can have GPUs (a Ray driver asks its
            cluster, which may have GPUs its own node lacks).

    Raises:
        DeviceError: train.device=cuda where there is no GPU.
    """
    device = resolve_device(train_cfg.device, "train.device", cuda_available)
    precision = resolve_precision(train_cfg.precision, device)
    return train_cfg.model_copy(update={"device": device, "precision": precision})


def worker_config(
    job: TrainJob, train_cfg: TrainConfig, preset: dict, progress_actor: str | None = None
) -> WorkerConfig:
    """What every Ray worker receives: the dataset path, protocol, model, spec and train
    section (device and precision resolved) and the DeepSpeed preset; nothing of the source."""
    return WorkerConfig(
        dataset_path=job.dataset.path,
        protocol=job.protocol,
        model=job.model,
        spec=asdict(job.spec),
        train=train_cfg,
        ds_preset=preset,
        progress_actor=progress_actor,
        text_path=job.text_path,
        retrieval_path=job.retrieval_path,
    )


def launch_training(
    job: TrainJob, on_progress: ProgressCallback | None = None, callbacks: Sequence[Any] = ()
) -> TrainResult:
    """Train ``job.model`` on ``job.dataset`` with Ray Train; return the best checkpoint.

    A run with the same name and storage resumes from its latest checkpoint
    instead of starting over: Ray Train finds the run's checkpoint index in
    ``<storage>/<name>/`` and hands the latest checkpoint to the workers, which
    restore weights, optimizer state and counters. Callers name the run with
    :func:`effective_run_name`, so a fixed ``train.run_name`` rerun after the
    driver died continues that run.

    Args:
        job: dataset, protocol, model, train section, spec and run name (named by the
            caller with :func:`effective_run_name`).
        on_progress: called with (step, total_steps, last_loss) while training.
        callbacks: extra Ray Train callbacks (a tune trial passes Ray Tune's
            ``TuneReportCallback``, which hands each epoch's metrics to its scheduler).

    Returns:
        The run name, the exported model dir of the best checkpoint by val_loss,
        and the per-epoch curves.

    Raises:
        PresetError: unknown DeepSpeed preset or one that cannot run here.
        DeviceError: train.device=cuda on a cluster without GPUs.
        TrainingDiverged: the loss became NaN/inf (names the step and the knobs).
        TrainingFailed: the run failed after its allowed restarts (out of memory
            names train.batch_size).
    """
    import ray
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    train_cfg, run_name = job.train, job.run_name
    workers_cpus = train_cfg.num_workers * train_cfg.cpus_per_worker
    connect_ray(ray_address(train_cfg), num_cpus=max(os.cpu_count() or 1, workers_cpus))
    train_cfg = resolve_train_placement(train_cfg, ray.cluster_resources().get("GPU", 0) > 0)
    preset = check_preset(train_cfg.deepspeed_preset, train_cfg.device)
    use_gpu = train_cfg.device == "cuda"

    tracker = _ProgressPoller.start(run_name, on_progress) if on_progress else None
    wcfg = worker_config(job, train_cfg, preset, tracker.name if tracker else None)
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config=wcfg.model_dump(mode="json"),
        scaling_config=ScalingConfig(
            num_workers=train_cfg.num_workers,
            use_gpu=use_gpu,
            resources_per_worker={"CPU": train_cfg.cpus_per_worker},
        ),
        torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
        run_config=RunConfig(
            name=run_name,
            storage_path=storage_root(train_cfg.storage_path),
            callbacks=list(callbacks),
            failure_config=FailureConfig(max_failures=train_cfg.max_failures),
            checkpoint_config=CheckpointConfig(
                num_to_keep=train_cfg.keep_checkpoints,
                checkpoint_score_attribute="val_loss",
                checkpoint_score_order="min",
            ),
        ),
    )
    # A marker left by an earlier attempt of this run name (diverged, then rerun with
    # other settings) must not fail this one.
    marker = f"{storage_root(train_cfg.storage_path).rstrip('/')}/{run_name}/{DIVERGED_FILE}"
    _pop_marker(marker)
    started = time.perf_counter()
    try:
        result = trainer.fit()
    except ray.train.TrainingFailedError as err:
        raise TrainingFailed(
            f"training run {run_name} failed: {explain_failure(err, train_cfg)}"
        ) from None
    finally:
        if tracker:
            tracker.stop()
    if result.error is not None:
        raise TrainingFailed(
            f"training run {run_name} failed: {explain_failure(result.error, train_cfg)}"
        )
    diverged = _pop_marker(marker)
    if diverged is not None:
        raise TrainingDiverged(
            f"training run {run_name}: "
            + divergence_message(diverged["loss"], int(diverged["step"]), train_cfg)
        )
    if not result.best_checkpoints:
        raise TrainingFailed(f"training run {run_name} reported no checkpoint")
    best = min(result.best_checkpoints, key=lambda cm: cm[1]["val_loss"])[0]
    # Curves from the latest checkpoint's counters: they span restarts and resumed
    # runs, where Ray's metrics frame holds only this driver's kept checkpoints.
    curves = read_checkpoint_state(result.checkpoint or best).curves.flat()
    return TrainResult(
        model=job.model.name,
        run_name=run_name,
        checkpoint_uri=f"{best.path.rstrip('/')}/{MODEL_DIR}",
        curves=curves,
        train_seconds=time.perf_counter() - started,
        seed=train_cfg.seed,
    )


def _pop_marker(uri: str) -> dict | None:
    """Read and delete the divergence marker at ``uri`` (local path or s3://); None if absent."""
    import json

    import pyarrow.fs

    fs, path = pyarrow.fs.FileSystem.from_uri(uri if is_s3_uri(uri) else f"file://{uri}")
    if fs.get_file_info(path).type == pyarrow.fs.FileType.NotFound:
        return None
    with fs.open_input_stream(path) as f:
        payload = json.loads(f.read().decode())
    fs.delete_file(path)
    return payload


def read_checkpoint_state(checkpoint) -> TrainState:
    """``state.json`` of a Ray Train checkpoint, read through its filesystem (local or S3)."""
    with checkpoint.filesystem.open_input_stream(f"{checkpoint.path}/{STATE_FILE}") as f:
        return TrainState.from_json(f.read().decode())


class _ProgressPoller:
    """A named Ray actor the rank-0 worker updates, polled from a driver thread."""

    def __init__(self, name: str, actor, callback: ProgressCallback) -> None:
        self.name = name
        self._actor = actor
        self._callback = callback
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    @classmethod
    def start(cls, run_name: str, callback: ProgressCallback) -> _ProgressPoller:
        from tsalign.components.training.progress import ProgressActor

        name = f"progress-{run_name}"
        actor = ProgressActor.options(name=name, num_cpus=0).remote()
        poller = cls(name, actor, callback)
        poller._thread.start()
        return poller

    def _poll(self) -> None:
        import ray

        while not self._done.wait(0.5):
            step, total, loss = ray.get(self._actor.get.remote())
            if total:
                self._callback(step, total, loss)

    def stop(self) -> None:
        import ray

        self._done.set()
        self._thread.join(timeout=2)
        ray.kill(self._actor)
