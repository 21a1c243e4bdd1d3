"""Prefect artifacts the stage flows publish: what a run produced, readable in the UI.

- profile: one row per channel (role, unit, period, trend/seasonal strength,
  stationarity, forecastability, missing share) + the paradigm recommendation,
  and a link per plot;
- tune: one row per trial (settings, best validation loss, epochs, stopped early or not),
  with the search space, the budget and the chosen trial;
- evaluate: the metrics table, the trained model beside its baselines, with the
  ratio to seasonal-naive (the honest reference of Tan et al.), and the paradigm
  scorecard (cost against accuracy, bootstrap intervals against the ablations);
- publish: a link to the registry version and a summary of the promotion decision.

Artifact keys are stable per dataset (``<dataset>-profile`` ...), so the UI's
Artifacts page shows each one's history across runs.
"""

from __future__ import annotations

import re
from pathlib import Path

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)

from tsalign.components.evaluation.scorecard import (
    JSON_FILE,
    MARKDOWN_FILE,
    PLOT_FILE,
    load_scorecard,
    table_rows,
)
from tsalign.components.profiling import load_profile
from tsalign.components.refs import EvalReport, ProfileRef, PublishedVersion, TuneResult
from tsalign.components.storage import is_s3_uri

REFERENCE_BASELINE = "seasonal_naive"


def artifact_key(dataset: str, what: str) -> str:
    """A valid artifact key (lowercase letters, digits, dashes): ``<dataset>-<what>``."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{dataset}-{what}".lower()).strip("-")


def _link(path_or_uri: str) -> str:
    return path_or_uri if "://" in path_or_uri else Path(path_or_uri).resolve().as_uri()


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def profile_rows(ref: ProfileRef) -> list[dict[str, str]]:
    """One row per channel of the profile written at ``ref.profile_path``."""
    profile = load_profile(Path(ref.profile_path))
    chars = profile.characteristic.channels
    reps = profile.representation.channels
    rows = []
    for channel in profile.domain.channels:
        ch, rep = chars.get(channel.name), reps.get(channel.name)
        rows.append(
            {
                "channel": channel.name,
                "role": channel.role,
                "unit": channel.unit or "-",
                "dominant period": str(ch.dominant_period) if ch and ch.dominant_period else "-",
                "trend strength": _num(ch.trend_strength if ch else None, 2),
                "seasonal strength": _num(ch.seasonal_strength if ch else None, 2),
                "stationarity": str(ch.stationarity) if ch and ch.stationarity else "-",
                "forecastability": _num(ch.forecastability if ch else None, 2),
                "missing share": _num(rep.missing_share if rep else None, 4),
            }
        )
    return rows


def publish_profile(dataset: str, ref: ProfileRef) -> None:
    """Table of the primitives per channel, the recommendation, and a link per plot."""
    profile = load_profile(Path(ref.profile_path))
    rec = profile.recommendation
    reasons = "; ".join(r.text for r in rec.reasons[:3])
    create_table_artifact(
        profile_rows(ref),
        key=artifact_key(dataset, "profile"),
        description=(
            f"Primitive profile of {dataset}: {profile.representation.length} steps at "
            f"{profile.representation.freq}, dominant period {ref.dominant_period}; "
            f"recommended paradigm **{rec.paradigm}** ({reasons}). Report: {ref.report_path}"
        ),
    )
    for plot in ref.plot_paths:
        create_link_artifact(
            _link(plot),
            link_text=Path(plot).name,
            key=artifact_key(dataset, f"plot-{Path(plot).stem}"),
            description=f"Profile plot of {dataset}",
        )


def publish_task_profile(dataset: str, ref: ProfileRef) -> None:
    """The report of a panel or anomaly-corpus profile, as a Markdown artifact."""
    create_markdown_artifact(
        Path(ref.report_path).read_text(),
        key=artifact_key(dataset, "profile"),
        description=f"Profile of {dataset}. Report: {ref.report_path}",
    )


def tuning_rows(search: TuneResult) -> list[dict[str, str]]:
    """One row per trial of a search, the chosen one marked."""
    return [
        {
            "trial": trial.trial_id + (" (chosen)" if trial.trial_id == search.chosen else ""),
            "status": trial.status,
            "epochs": str(trial.epochs),
            "best val loss": _num(trial.val_loss, 4),
            "settings": ", ".join(
                f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in trial.overrides.items()
            ),
            "error": trial.error or "-",
        }
        for trial in search.trials
    ]


def publish_tuning(dataset: str, search: TuneResult) -> None:
    """The trials of one candidate's search, with its space, budget and choice."""
    space = "; ".join(f"`{path}` {dist}" for path, dist in search.space.items())
    create_table_artifact(
        tuning_rows(search),
        key=artifact_key(dataset, f"tune-{search.model}"),
        description=(
            f"Ray Tune search of {search.model} on {dataset} ({search.experiment}): "
            f"{search.num_samples} trials x at most {search.max_epochs} epochs, ASHA on "
            f"validation loss; chosen **{search.chosen}**. Space: {space}. "
            f"Record: {search.report_path}"
        ),
    )


def metrics_rows(report: EvalReport) -> list[dict[str, str]]:
    """One row per model (candidate first), with the MSE ratio to seasonal-naive."""
    reference = report.metrics.get(REFERENCE_BASELINE, {}).get("mse")
    order = [report.candidate, *(m for m in report.metrics if m != report.candidate)]
    if "mse" not in report.metrics[report.candidate]:  # another task: its own metrics
        return [
            {"model": n, **{k: _num(v, 4) for k, v in report.metrics[n].items()}} for n in order
        ]
    rows = []
    for name in order:
        m = report.metrics.get(name)
        if m is None:
            continue
        rows.append(
            {
                "model": name,
                "MSE": _num(m.get("mse"), 4),
                "MAE": _num(m.get("mae"), 4),
                "MAE (orig)": _num(m.get("mae_orig"), 3),
                "sMAPE %": _num(m.get("smape"), 2),
                "MASE": _num(m.get("mase"), 3),
                f"MSE / {REFERENCE_BASELINE}": _num(m["mse"] / reference, 3)
                if reference and m.get("mse") is not None
                else "-",
            }
        )
    return rows


def publish_metrics(dataset: str, report: EvalReport) -> None:
    """The candidate beside its baselines on the same test windows."""
    create_table_artifact(
        metrics_rows(report),
        key=artifact_key(dataset, "metrics"),
        description=(
            f"Test split of {dataset}, {report.test_windows} windows; MSE/MAE on the "
            f"standardised scale, MAE (orig) in data units. Report: {report.report_path}"
        ),
    )


def publish_scorecard(dataset: str, report: EvalReport) -> None:
    """The paradigm scorecard (markdown with the intervals) and its rows as a table."""
    paths = {Path(p).name: Path(p) for p in report.scorecard_paths}
    if JSON_FILE not in paths:
        return  # a report written before scorecards existed
    card = load_scorecard(paths[JSON_FILE])
    create_markdown_artifact(
        paths[MARKDOWN_FILE].read_text(),
        key=artifact_key(dataset, "scorecard"),
        description=f"Paradigm scorecard of {dataset}: cost against accuracy. Plot: "
        f"{paths[PLOT_FILE]}",
    )
    create_table_artifact(
        table_rows(card),
        key=artifact_key(dataset, "scorecard-table"),
        description=f"Paradigm scorecard of {dataset}, {card.test_windows} test windows",
    )


def publish_version(dataset: str, version: PublishedVersion) -> None:
    """A link to the registry version and why the promotion alias moved or stayed."""
    uri = version.uri
    create_link_artifact(
        uri if is_s3_uri(uri) or "://" in uri else _link(uri),
        link_text=str(version),
        key=artifact_key(dataset, "registry-version"),
        description=f"Registry version {version}",
    )
    promoted = (
        f"alias **{version.promoted_to}** now points at it"
        if version.promoted_to
        else "no alias moved"
    )
    create_markdown_artifact(
        f"### Published `{version}`\n\n- location: `{uri}`\n"
        f"- candidate: **{version.model}**: {version.selection_reason}\n- {promoted}: "
        f"{version.promotion_reason}\n\n"
        f"`tsalign registry show {version}` lists its files, metrics and lineage.",
        key=artifact_key(dataset, "publish"),
        description=f"Publish summary of {version}",
    )
