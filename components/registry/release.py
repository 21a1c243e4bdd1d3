"""Publish the outcome of a pipeline run as a registry version, with its lineage.

Assembles what a version holds — exported weights, the data scaler, the
resolved run config, metrics with the baselines beside them, the primitive
profile and its report — and the lineage that makes it reproducible: dataset
and DVC md5, DVC remote, git commit, orchestration ids, Ray run name, base model.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tsalign.components.config import ModelConfig, RunConfig
from tsalign.components.refs import (
    DatasetRef,
    EvalReport,
    ProfileRef,
    PublishedVersion,
    TrainResult,
)
from tsalign.components.registry.gates import GATE_BASELINE
from tsalign.components.registry.manifest import ModelCardInfo, VersionManifest
from tsalign.components.registry.registry import Registry, open_registry
from tsalign.components.storage import local_path

SCALER_FILE = "scaler.json"

ChampionScorer = Callable[[Registry, str, int], float]
"""Validation loss of registry version ``(name, version)`` on the windows of the run being
published (``ValidationScorer.score_published`` in tsalign.components.evaluation.validation);
the registry stores and verifies files but never loads models, so publishing is handed this."""


def git_commit(root: Path) -> str:
    """``<sha>`` of HEAD (``+dirty`` when the tree has changes), or ``unknown`` outside git."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}+dirty" if dirty else sha


def build_lineage(
    config: RunConfig,
    dataset: DatasetRef,
    train: TrainResult,
    model: ModelConfig,
    project_root: Path,
    orchestration: dict[str, Any],
) -> dict[str, Any]:
    """Everything needed to trace a version back to its data, code and runs."""
    return {
        "task": config.task,
        "dataset": dataset.name,
        "data_md5": dataset.md5,
        "dvc_remote": dataset.remote,
        "data_path": dataset.path,
        "git_commit": git_commit(project_root),
        "ray_run": train.run_name,
        "checkpoint": train.checkpoint_uri,
        "base_model": model.backbone,
        "model": train.model,
        **orchestration,
    }


def publish_run(
    config: RunConfig,
    dataset: DatasetRef,
    profile: ProfileRef | None,
    train: TrainResult,
    model: ModelConfig,
    report: EvalReport,
    project_root: Path,
    orchestration: dict[str, Any],
    champion_scorer: ChampionScorer,
) -> PublishedVersion:
    """Write a new immutable version of ``config.registry.model_name``.

    Args:
        config: the resolved run config (stored with the version).
        dataset, profile, report: the references the earlier stages returned.
        train: the run of the candidate the evaluation selected (``report.candidate``).
        model: that candidate's model section.
        project_root: where git is asked for the commit.
        orchestration: ids of the orchestrating run (flow-run id, deployment...).
        champion_scorer: re-scores the current champion on this run's validation windows,
            so the champion gate compares two losses over the same windows.

    Raises:
        RegistryError: the registry cannot be written (path, bucket, credentials).
    """
    model_dir = local_path(train.checkpoint_uri)
    files: dict[str, Path] = {
        "model": model_dir,
        SCALER_FILE: model_dir.parent / SCALER_FILE,
        "metrics.json": Path(report.report_path),
    }
    if report.leaderboard_path:
        files["leaderboard.md"] = Path(report.leaderboard_path)
    if report.plot_paths:
        files["plots"] = Path(report.plot_paths[0]).parent
    files.update({Path(p).name: Path(p) for p in report.scorecard_paths})
    if profile is not None:
        files["profile"] = Path(profile.profile_path).parent
    if report.candidate not in report.validation:
        raise ValueError(
            f"the evaluation report {report.report_path} has no validation loss for "
            f"{report.candidate!r} (it predates validation scoring); run `tsalign evaluate` again"
        )
    if train.model != report.candidate:
        raise ValueError(f"run {train.run_name} trained {train.model!r}, not {report.candidate!r}")
    lineage = build_lineage(config, dataset, train, model, project_root, orchestration)
    candidate = report.metrics[report.candidate]
    metrics = {
        "candidate": report.candidate,
        "selection_reason": report.selection_reason,
        "recommended_paradigm_won": report.recommended_won,
        "test": report.metrics,
        "validation": {"val_loss": report.validation[report.candidate]},
        "validation_by_candidate": report.validation,
        "test_windows": report.test_windows,
    }
    paradigm = profile.recommended_paradigm if profile else None
    card = ModelCardInfo(
        base_model=model.backbone,
        datasets=[dataset.name],
        tags=[
            model.name,
            f"task:{config.task}",
            f"recommended-paradigm:{paradigm or 'unprofiled'}",
        ],
        summary=(
            f"{model.name} forecaster for {dataset.name}: horizon "
            f"{config.data.window.horizon} from {config.data.window.seq_len} steps; "
            f"test MSE {candidate['mse']:.4f} (standardised)."
        ),
    )
    registry = open_registry(config.registry)
    version = registry.publish(
        config.registry.model_name,
        files,
        config=json.loads(config.model_dump_json()),
        metrics=metrics,
        lineage=lineage,
        description=f"Trained in Ray run {train.run_name} on data version {dataset.md5}.",
        tags={
            "task": config.task,
            "dataset": dataset.name,
            "model": model.name,
            "data_md5": dataset.md5,
        },
        card=card,
    )
    version = version.model_copy(
        update={"model": report.candidate, "selection_reason": report.selection_reason}
    )
    return _promote(registry, config, version, metrics, report, champion_scorer)


def gate_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The flat metrics the promotion gates compare, from a version's metrics layout."""
    return {
        "val_loss": metrics["validation"]["val_loss"],
        "mse": metrics["test"][metrics["candidate"]]["mse"],
    }


def rescored_champion(
    registry: Registry, scorer: ChampionScorer, val_metric: str
) -> Callable[[VersionManifest], dict[str, float]]:
    """The champion's gate metrics with its validation loss measured again, on this run's
    windows: a loss recorded on another data version or window sample is not comparable."""

    def metrics(manifest: VersionManifest) -> dict[str, float]:
        return {val_metric: scorer(registry, manifest.name, manifest.version)}

    return metrics


def _promote(
    registry: Registry,
    config: RunConfig,
    version: PublishedVersion,
    metrics: dict[str, Any],
    report: EvalReport,
    champion_scorer: ChampionScorer,
) -> PublishedVersion:
    """Move the promotion alias only if the gates pass; say why either way."""
    alias = config.registry.promote_alias
    if GATE_BASELINE not in report.metrics:
        reason = (
            f"not promoted: eval.baselines lacks {GATE_BASELINE!r}, which the gate compares against"
        )
        return version.model_copy(update={"promotion_reason": reason})
    moved, reason = registry.promote_if_better(
        version.name,
        version.version,
        alias,
        candidate_metrics=gate_metrics(metrics),
        baseline_metrics=report.metrics[GATE_BASELINE],
        champion_metrics=rescored_champion(registry, champion_scorer, config.registry.val_metric),
        val_metric=config.registry.val_metric,
        test_metric=config.registry.test_metric,
    )
    return version.model_copy(
        update={"promoted_to": alias if moved else None, "promotion_reason": reason}
    )
