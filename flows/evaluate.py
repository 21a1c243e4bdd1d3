"""Stage 4: score the trained candidates beside the baselines on the test split.

Run alone: ``tsalign evaluate [--config ...] [key=value ...]`` (after train).
Cached on the dataset version, the data protocol, the eval section and the trained
models, so changing only ``eval`` re-evaluates without retraining.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from prefect import flow, task

from tsalign.components.config import EvalConfig, ProtocolConfig, RunConfig, SelectMode, Task
from tsalign.components.data.text_features import load_window_texts
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
from tsalign.components.tasks import get_task
from tsalign.components.tasks.base import EvalRequest
from tsalign.components.training.candidates import window_texts_file
from tsalign.flows import artifacts
from tsalign.flows.caching import CACHED, key_fn, run_cached
from tsalign.flows.confinement import confine

T = TypeVar("T")


def by_model(trained: TrainedCandidates, field: Callable[[TrainResult], T]) -> dict[str, list[T]]:
    """``field`` of every seed's run, grouped by candidate label (model.name first)."""
    out: dict[str, list[T]] = {}
    for run in trained.runs:
        out.setdefault(run.key, []).append(field(run))
    return out


@task(name="evaluate-models", cache_key_fn=key_fn(evaluate_key), **CACHED)
def evaluate_models(
    task: Task,
    protocol: ProtocolConfig,
    eval_cfg: EvalConfig,
    select: SelectMode,
    max_val_windows: int | None,
    gate_metric: str,
    workdir: str,
    dataset: DatasetRef,
    profile: ProfileRef,
    trained: TrainedCandidates,
    provenance: dict[str, Any],
    text_path: str | None = None,
) -> EvalReport:
    out_dir = Path(workdir) / dataset.name / "eval" / trained.primary.run_name
    request = EvalRequest(
        dataset.path,
        protocol,
        eval_cfg,
        by_model(trained, lambda run: run.checkpoint_uri),
        model_spec(dataset, protocol.window, profile, eval_cfg.season),
        out_dir,
        recommended_paradigm=profile.recommended_paradigm,
        curves=by_model(trained, lambda run: run.curves),
        context={
            "data_md5": dataset.md5,
            **provenance,
            "ray_runs": [run.run_name for run in trained.runs],
        },
        select=select,
        max_val_windows=max_val_windows,
        gate_metric=gate_metric,
        skipped=trained.skipped,
        window_texts=load_window_texts(text_path) if text_path else None,
        text_twins=trained.twins,
    )
    return get_task(task).evaluate(request)


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
    provenance = {"config_sha256": config.fingerprint(), "train_seeds": config.train_seeds()}
    report = run_cached(
        evaluate_models,
        outputs_exist,
        config.task,
        config.data.protocol(),
        config.eval,
        config.publish.select,
        config.train.max_val_windows,
        config.registry.test_metric,
        config.workdir,
        dataset,
        profile,
        trained,
        provenance,
        window_texts_file(config, dataset, profile.recommended_paradigm),
    )
    record(config.workdir, name, report)
    artifacts.publish_metrics(name, report)
    artifacts.publish_scorecard(name, report)
    return report
