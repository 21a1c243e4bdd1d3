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

from pydantic import BaseModel, ConfigDict, Field

from tsalign.components.config import (
    ModelConfig,
    RegistryConfig,
    RunConfig,
    Task,
    WindowConfig,
    apply_settings,
)
from tsalign.components.layout import SCALER_FILE
from tsalign.components.refs import (
    DatasetRef,
    EvalReport,
    ProfileRef,
    PublishedVersion,
    TrainResult,
    TuneResult,
)
from tsalign.components.registry.manifest import ModelCardInfo, VersionManifest
from tsalign.components.registry.registry import Registry, open_registry
from tsalign.components.storage import local_path
from tsalign.components.tasks import get_task
from tsalign.components.tasks.base import ChampionScorer, GateRule

# ChampionScorer (tasks.base): the validation loss of registry version ``(name, version)`` on
# the data of the run being published, from the task (``TaskKind.champion_scorer``); the
# registry stores and verifies files but never loads models, so publishing is handed this.


class PublishSettings(BaseModel):
    """What publishing reads from a run: where to publish, the gates, what the model is."""

    model_config = ConfigDict(frozen=True)

    registry: RegistryConfig
    task: Task
    model: str = Field(description="Catalogue name of the candidate being published.")
    base_model: str = Field(description="Its LM backbone reference (card and lineage).")
    window: WindowConfig = Field(description="Input and forecast lengths, for the card.")
    run_config: dict[str, Any] = Field(
        description="The resolved run config as JSON, stored with the version so it "
        "describes itself; stored, never read."
    )

    @classmethod
    def from_run(
        cls, config: RunConfig, model: ModelConfig, train: TrainResult | None = None
    ) -> PublishSettings:
        """The settings for publishing the candidate ``model`` (model.name or a compare entry)
        from its run ``train``; a tuned run stores the configuration its search chose."""
        if train is not None and train.overrides:
            config = tuned_config(config, model, train)
            model = config.model
        return cls(
            registry=config.registry,
            task=config.task,
            model=model.name,
            base_model=model.backbone,
            window=config.data.window,
            run_config=json.loads(config.model_dump_json()),
        )


def tuned_config(config: RunConfig, model: ModelConfig, train: TrainResult) -> RunConfig:
    """The run config a tuned run trained with: its candidate as ``model`` (no ``compare``)
    and the settings the search chose applied."""
    candidate = config.model_copy(update={"model": model, "compare": []})
    return apply_settings(candidate, train.overrides, f"settings of run {train.run_name}")


def tuning_lineage(search: TuneResult) -> dict[str, Any]:
    """The search that chose a version: space, budget, every trial and the chosen settings."""
    return {
        **search.model_dump(mode="json", exclude={"report_path"}),
        "chosen_settings": search.chosen_trial.overrides,
    }


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
    dataset: DatasetRef,
    train: TrainResult,
    settings: PublishSettings,
    project_root: Path,
    orchestration: dict[str, Any],
) -> dict[str, Any]:
    """Everything needed to trace a version back to its data, code and runs.

    A dataset with text (``data.text``) adds the text file's sha256 beside the data md5
    (which covers it too: one ``dvc add``).
    """
    from tsalign.components.data import load_meta
    from tsalign.components.data.text import text_path

    text = load_meta(dataset.path).text if text_path(dataset.path).is_file() else None
    return {
        "task": settings.task,
        "dataset": dataset.name,
        "data_md5": dataset.md5,
        **({"text_sha256": text.content_sha256, "text_file": text.file} if text else {}),
        "dvc_remote": dataset.remote,
        "data_path": dataset.path,
        "git_commit": git_commit(project_root),
        "ray_run": train.run_name,
        "checkpoint": train.checkpoint_uri,
        "base_model": settings.base_model,
        "model": settings.model,
        "candidate": train.key,
        **({"tuning": tuning_lineage(train.tuning)} if train.tuning else {}),
        **orchestration,
    }


def publish_run(
    settings: PublishSettings,
    dataset: DatasetRef,
    profile: ProfileRef | None,
    train: TrainResult,
    report: EvalReport,
    project_root: Path,
    orchestration: dict[str, Any],
    champion_scorer: ChampionScorer,
) -> PublishedVersion:
    """Write a new immutable version of ``settings.registry.model_name``.

    Args:
        settings: registry, gates, the candidate's names and the config stored with it.
        dataset, profile, report: the references the earlier stages returned.
        train: the run of the candidate the evaluation selected (``report.candidate``).
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
    files.update({name: Path(p) for name, p in report.files.items()})
    if profile is not None:
        files["profile"] = Path(profile.profile_path).parent
    if report.candidate not in report.validation:
        raise ValueError(
            f"the evaluation report {report.report_path} has no validation loss for "
            f"{report.candidate!r} (it predates validation scoring); run `tsalign evaluate` again"
        )
    if report.candidate != train.key or train.model != settings.model:
        raise ValueError(
            f"publishing {settings.model!r} from run {train.run_name} ({train.key!r}), but the "
            f"evaluation selected {report.candidate!r}"
        )
    if train.tuning is not None and train.tuning.report_path:
        files["tuning.json"] = Path(train.tuning.report_path)
    lineage = build_lineage(dataset, train, settings, project_root, orchestration)
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
    kind = get_task(settings.task)
    card = ModelCardInfo(
        base_model=settings.base_model,
        datasets=[dataset.name],
        tags=[
            settings.model,
            f"task:{settings.task}",
            f"recommended-paradigm:{paradigm or 'unprofiled'}",
        ],
        summary=kind.card_summary(settings.model, dataset.name, settings.window, candidate),
    )
    registry = open_registry(settings.registry)
    version = registry.publish(
        settings.registry.model_name,
        files,
        config=settings.run_config,
        metrics=metrics,
        lineage=lineage,
        description=f"Trained in Ray run {train.run_name} on data version {dataset.md5}.",
        tags={
            "task": settings.task,
            "dataset": dataset.name,
            "model": settings.model,
            "data_md5": dataset.md5,
        },
        card=card,
    )
    version = version.model_copy(
        update={"model": report.candidate, "selection_reason": report.selection_reason}
    )
    gate = kind.gate(settings.registry.test_metric)
    return _promote(registry, settings.registry, gate, version, metrics, report, champion_scorer)


def gate_metrics(metrics: dict[str, Any], test_metric: str = "mse") -> dict[str, float]:
    """The flat metrics the promotion gates compare, from a version's metrics layout."""
    return {
        "val_loss": metrics["validation"]["val_loss"],
        test_metric: metrics["test"][metrics["candidate"]][test_metric],
    }


def rescored_champion(
    registry: Registry, scorer: ChampionScorer, val_metric: str
) -> Callable[[VersionManifest], dict[str, float]]:
    """The champion's gate metrics with its validation loss measured again, on this run's
    data: a loss recorded on another data version or window sample is not comparable."""

    def metrics(manifest: VersionManifest) -> dict[str, float]:
        return {val_metric: scorer(registry, manifest.name, manifest.version)}

    return metrics


def _promote(
    registry: Registry,
    gates: RegistryConfig,
    gate: GateRule,
    version: PublishedVersion,
    metrics: dict[str, Any],
    report: EvalReport,
    champion_scorer: ChampionScorer,
) -> PublishedVersion:
    """Move the promotion alias only if the gates pass; say why either way."""
    alias = gates.promote_alias
    if gate.baseline not in report.metrics:
        reason = (
            f"not promoted: the evaluation has no {gate.baseline!r} score (eval.baselines), "
            "which the gate compares against"
        )
        return version.model_copy(update={"promotion_reason": reason})
    moved, reason = registry.promote_if_better(
        version.name,
        version.version,
        alias,
        candidate_metrics=gate_metrics(metrics, gate.metric),
        baseline_metrics=report.metrics[gate.baseline],
        champion_metrics=rescored_champion(registry, champion_scorer, gates.val_metric),
        val_metric=gates.val_metric,
        test_metric=gate.metric,
        baseline_label=gate.name,
    )
    return version.model_copy(
        update={"promoted_to": alias if moved else None, "promotion_reason": reason}
    )
