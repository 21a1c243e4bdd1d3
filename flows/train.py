"""Stage 3: fine-tune the configured model on Ray Train with DeepSpeed.

Run alone: ``tsalign train [--config ...] [key=value ...]`` (after ingest and profile).
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from components.config import RunConfig
from components.refs import DatasetRef, ProfileRef, TrainResult
from components.state import MissingStageOutput, latest, record
from components.training.launcher import launch_training, new_run_name
from components.training.spec import model_spec
from flows.console import training_progress


@task(name="train-model", cache_policy=NO_CACHE)
def train_model(config: RunConfig, dataset: DatasetRef, profile: ProfileRef | None) -> TrainResult:
    run_name = new_run_name(config.model.name)
    spec = model_spec(dataset, config.data, profile)
    with training_progress(run_name) as on_progress:
        return launch_training(
            dataset,
            config.data,
            config.model,
            config.train,
            spec,
            run_name,
            on_progress=on_progress,
        )


@flow(name="train", log_prints=True)
def train_flow(
    config: RunConfig, dataset: DatasetRef | None = None, profile: ProfileRef | None = None
) -> TrainResult:
    """Train on the dataset version; the profile (when present) gives period and context."""
    dataset = dataset or latest(config.workdir, config.data.name, DatasetRef)
    if profile is None:
        try:
            profile = latest(config.workdir, config.data.name, ProfileRef)
        except MissingStageOutput:
            profile = None  # training does not need a profile; it only enriches the spec
    result = train_model(config, dataset, profile)
    record(config.workdir, dataset.name, result)
    return result
