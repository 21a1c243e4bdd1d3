"""Stage 4: score the trained model beside the baselines on the test split.

Run alone: ``tsalign evaluate [--config ...] [key=value ...]`` (after train).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from components.config import RunConfig
from components.evaluation.runner import evaluate
from components.refs import DatasetRef, EvalReport, ProfileRef, TrainResult
from components.state import latest, record


@task(name="evaluate-model", cache_policy=NO_CACHE)
def evaluate_model(
    config: RunConfig, dataset: DatasetRef, profile: ProfileRef, train: TrainResult
) -> EvalReport:
    out_dir = Path(config.workdir) / dataset.name / "eval" / train.run_name
    return evaluate(
        dataset.path,
        config.data,
        config.eval,
        train.checkpoint_uri,
        profile.dominant_period,
        out_dir,
    )


@flow(name="evaluate", log_prints=True)
def evaluate_flow(
    config: RunConfig,
    dataset: DatasetRef | None = None,
    profile: ProfileRef | None = None,
    train: TrainResult | None = None,
) -> EvalReport:
    """Evaluate the latest (or given) training run."""
    name = config.data.name
    dataset = dataset or latest(config.workdir, name, DatasetRef)
    profile = profile or latest(config.workdir, name, ProfileRef)
    train = train or latest(config.workdir, name, TrainResult)
    report = evaluate_model(config, dataset, profile, train)
    record(config.workdir, name, report)
    return report
