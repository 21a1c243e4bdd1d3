"""Stage 4: score the trained candidates beside the baselines on the test split.

Run alone: ``tsalign evaluate [--config ...] [key=value ...]`` (after train).
Cached on the dataset version, the data and eval sections and the trained models, so
changing only ``eval`` re-evaluates without retraining.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from prefect import flow, task

from tsalign.components.config import RunConfig
from tsalign.components.evaluation.runner import evaluate
from tsalign.components.fingerprint import evaluate_key, outputs_exist
from tsalign.components.models import model_spec
from tsalign.components.preflight import check_task_stages
from tsalign.components.refs import (
    DatasetRef,
    EvalReport,
    ProfileRef,
    TrainedCandidates,
    TrainResult,
)
from tsalign.components.state import latest, record
from tsalign.flows import artifacts
from tsalign.flows.caching import CACHED, key_fn, run_cached
from tsalign.flows.confinement import confine

T = TypeVar("T")


def by_model(trained: TrainedCandidates, field: Callable[[TrainResult], T]) -> dict[str, list[T]]:
    """``field`` of every seed's run, grouped by candidate (model.name first)."""
    out: dict[str, list[T]] = {}
    for run in trained.runs:
        out.setdefault(run.model, []).append(field(run))
    return out


@task(name="evaluate-models", cache_key_fn=key_fn(evaluate_key), **CACHED)
def evaluate_models(
    config: RunConfig, dataset: DatasetRef, profile: ProfileRef, trained: TrainedCandidates
) -> EvalReport:
    out_dir = Path(config.workdir) / dataset.name / "eval" / trained.primary.run_name
    return evaluate(
        dataset.path,
        config.data,
        config.eval,
        by_model(trained, lambda run: run.checkpoint_uri),
        model_spec(dataset, config.data.window, profile, config.eval.season),
        out_dir,
        recommended_paradigm=profile.recommended_paradigm,
        curves=by_model(trained, lambda run: run.curves),
        context={
            "data_md5": dataset.md5,
            "config_sha256": config.fingerprint(),
            "train_seeds": config.train_seeds(),
            "ray_runs": [run.run_name for run in trained.runs],
        },
        select=config.publish.select,
        max_val_windows=config.train.max_val_windows,
        gate_metric=config.registry.test_metric,
        skipped=trained.skipped,
    )


@flow(name="evaluate", log_prints=True)
def evaluate_flow(
    config: RunConfig,
    dataset: DatasetRef | None = None,
    profile: ProfileRef | None = None,
    trained: TrainedCandidates | None = None,
) -> EvalReport:
    """Evaluate the latest (or given) trained candidates."""
    config = confine(config)
    check_task_stages(config, ("evaluate",), "evaluate config")
    name = config.data.name
    dataset = dataset or latest(config.workdir, name, DatasetRef)
    profile = profile or latest(config.workdir, name, ProfileRef)
    trained = trained or latest(config.workdir, name, TrainedCandidates)
    report = run_cached(evaluate_models, outputs_exist, config, dataset, profile, trained)
    record(config.workdir, name, report)
    artifacts.publish_metrics(name, report)
    artifacts.publish_scorecard(name, report)
    return report
