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
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from components.config import DataConfig, ModelConfig, TrainConfig
from components.models import ModelSpec
from components.refs import DatasetRef, TrainResult
from components.storage import is_s3_uri
from components.training.deepspeed_config import check_preset
from components.training.worker import MODEL_DIR, WorkerConfig, train_loop_per_worker, worker_env

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, float | None], None]
"""Called with (step, total_steps, last_loss) while training runs."""


class TrainingFailed(RuntimeError):
    """The Ray Train run ended with an error; the message carries the worker's reason."""


def connect_ray(address: str | None, num_cpus: int | None = None) -> None:
    """Attach to a Ray cluster, or start a quiet local instance.

    Args:
        address: ``ray://host:port``, ``host:port`` or ``auto``; None uses RAY_ADDRESS
            when set and a new local instance otherwise.
        num_cpus: logical CPUs of a local instance (ignored for a cluster).
    """
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    runtime_env = {"env_vars": worker_env()}
    if address:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
        return
    ray.init(
        num_cpus=num_cpus,
        include_dashboard=True,  # Ray Train's state API needs it; bound to 127.0.0.1
        dashboard_host="127.0.0.1",
        runtime_env=runtime_env,
        log_to_driver=False,
        logging_level=logging.WARNING,
        configure_logging=True,
    )


def storage_root(path: str) -> str:
    """Ray Train wants an absolute local path or a URI."""
    return path if is_s3_uri(path) else str(Path(path).expanduser().resolve())


def new_run_name(prefix: str) -> str:
    """A unique, sortable run name: ``<prefix>-YYYYmmdd-HHMMSS-<hex>``."""
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def launch_training(
    dataset: DatasetRef,
    data_cfg: DataConfig,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    spec: ModelSpec,
    run_name: str,
    on_progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train ``model_cfg`` on ``dataset`` with Ray Train; return the best checkpoint.

    A run with the same ``run_name`` and storage resumes from its latest
    checkpoint instead of starting over (Ray Train restores the run state).

    Raises:
        PresetError: unknown DeepSpeed preset or one that cannot run here.
        TrainingFailed: the run failed after its allowed restarts.
    """
    import ray
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    preset = check_preset(train_cfg.deepspeed_preset, train_cfg.use_gpu)
    workers_cpus = train_cfg.num_workers * train_cfg.cpus_per_worker
    connect_ray(train_cfg.ray_address, num_cpus=max(os.cpu_count() or 1, workers_cpus))

    tracker = _ProgressPoller.start(run_name, on_progress) if on_progress else None
    wcfg = WorkerConfig(
        dataset_path=dataset.path,
        data=data_cfg,
        model=model_cfg,
        spec=asdict(spec),
        train=train_cfg,
        ds_preset=preset,
        progress_actor=tracker.name if tracker else None,
    )
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config=wcfg.model_dump(mode="json"),
        scaling_config=ScalingConfig(
            num_workers=train_cfg.num_workers,
            use_gpu=train_cfg.use_gpu,
            resources_per_worker={"CPU": train_cfg.cpus_per_worker},
        ),
        torch_config=TorchConfig(backend="nccl" if train_cfg.use_gpu else "gloo"),
        run_config=RunConfig(
            name=run_name,
            storage_path=storage_root(train_cfg.storage_path),
            failure_config=FailureConfig(max_failures=train_cfg.max_failures),
            checkpoint_config=CheckpointConfig(
                num_to_keep=train_cfg.keep_checkpoints,
                checkpoint_score_attribute="val_loss",
                checkpoint_score_order="min",
            ),
        ),
    )
    started = time.perf_counter()
    try:
        result = trainer.fit()
    except ray.train.TrainingFailedError as err:
        raise TrainingFailed(f"training run {run_name} failed: {_root_cause(err)}") from None
    finally:
        if tracker:
            tracker.stop()
    if result.error is not None:
        raise TrainingFailed(f"training run {run_name} failed: {_root_cause(result.error)}")
    best = min(result.best_checkpoints, key=lambda cm: cm[1]["val_loss"])[0]
    frame = result.metrics_dataframe
    curves = {
        col: [float(v) for v in frame[col]]
        for col in ("train_loss", "val_loss", "samples_per_s")
        if frame is not None and col in frame
    }
    return TrainResult(
        run_name=run_name,
        checkpoint_uri=f"{best.path.rstrip('/')}/{MODEL_DIR}",
        curves=curves,
        train_seconds=time.perf_counter() - started,
    )


def _root_cause(err: BaseException) -> str:
    while err.__cause__ is not None:
        err = err.__cause__
    return f"{type(err).__name__}: {err}"


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
        from components.training.progress import ProgressActor

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
