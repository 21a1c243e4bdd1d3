"""The end-of-run summary the CLI prints."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from tsalign.components.config import RunConfig
from tsalign.components.evaluation.intervals import describe
from tsalign.components.evaluation.scorecard import (
    JSON_FILE,
    MARKDOWN_FILE,
    PLOT_FILE,
    load_scorecard,
    table_rows,
)
from tsalign.components.refs import (
    DatasetRef,
    EvalReport,
    ProfileRef,
    PublishedVersion,
    TrainedCandidates,
    TrainResult,
)
from tsalign.components.state import latest
from tsalign.components.tasks import get_task
from tsalign.flows.console import console

FORECAST_COLUMNS = (
    ("MSE", "mse", ".4f"),
    ("MAE", "mae", ".4f"),
    ("MAE (orig)", "mae_orig", ".3f"),
    ("sMAPE %", "smape", ".2f"),
    ("MASE", "mase", ".3f"),
)
NAB_COLUMNS = (
    ("NAB standard", "nab_standard", ".1f"),
    ("NAB low FP", "nab_reward_low_FP_rate", ".1f"),
    ("NAB low FN", "nab_reward_low_FN_rate", ".1f"),
    ("point-wise F1", "pointwise_f1", ".3f"),
    ("point-adjusted F1", "point_adjusted_f1", ".3f"),
)


def metrics_table(report: EvalReport) -> Table:
    """Candidate and baselines side by side on the same test data (forecast windows, test
    instances, or every row of an anomaly corpus scored NAB's way)."""
    if all("nab_standard" in m for m in report.metrics.values()):
        columns = NAB_COLUMNS
        title = (
            f"NAB score over {report.test_windows} rows, one threshold per profile tuned over "
            "the corpus (F1 at the standard threshold: not NAB's score)"
        )
    elif all("mse" in m for m in report.metrics.values()):
        columns = FORECAST_COLUMNS
        title = f"test split, {report.test_windows} windows (MSE/MAE standardised)"
    else:
        return _task_metrics_table(report)
    table = Table("model", *(label for label, _, _ in columns), title=title)
    for name, m in report.metrics.items():
        table.add_row(name, *(format(m[key], fmt) for _, key, fmt in columns))
    return table


def _task_metrics_table(report: EvalReport) -> Table:
    """Another task's metrics (accuracy, macro-F1...), one column per metric the report has."""
    keys = list(dict.fromkeys(k for m in report.metrics.values() for k in m))
    table = Table("model", *keys, title=f"test split, {report.test_windows} instances")
    for name, m in report.metrics.items():
        table.add_row(name, *(f"{m[k]:.4f}" if k in m else "-" for k in keys))
    return table


def print_scorecard(report: EvalReport) -> None:
    """The paradigm scorecard and one line per bootstrap interval (none for older reports)."""
    path = next((Path(p) for p in report.scorecard_paths if Path(p).name == JSON_FILE), None)
    if path is None:
        return
    card = load_scorecard(path)
    # One column per model, one row per field: a dozen fields fit a terminal only this way.
    rows = table_rows(card)
    if rows:
        table = Table(
            "",
            *(row["model"] for row in rows),
            title=f"paradigm scorecard, {card.test_windows} test windows (ranked by MSE)",
        )
        for field in list(rows[0])[1:]:
            table.add_row(field, *(row[field] for row in rows))
        console.print(table)
    for c in card.comparisons:
        console.print(describe(c))
    console.print(f"scorecard: {path.with_name(MARKDOWN_FILE)}, plot {path.with_name(PLOT_FILE)}")


def run_line(run: TrainResult) -> str:
    """One line per Ray Train run: model, run name, wall time, best validation loss."""
    val = run.curves.get("val_loss", [])
    best = f", best val loss {min(val):.4f}" if val else ""
    return f"{run.key} run {run.run_name}, {run.train_seconds:.0f}s{best}"


def search_line(run: TrainResult) -> str:
    """One line per search: budget, trials stopped early, the chosen trial and its settings."""
    tuning = run.tuning
    if tuning is None and run.overrides:  # a further seed of eval.seeds retrains the choice
        settings = ", ".join(f"{k}={_short(v)}" for k, v in run.overrides.items())
        return f"{run.key}: the chosen settings trained again under seed {run.seed}: {settings}"
    if tuning is None:
        return f"{run.key}: not searched (nothing to tune)"
    stopped = sum(t.status == "stopped_early" for t in tuning.trials)
    chosen = tuning.chosen_trial
    settings = ", ".join(f"{k}={_short(v)}" for k, v in chosen.overrides.items())
    resumed = " (resumed)" if tuning.restored else ""
    return (
        f"{run.key}: {len(tuning.trials)} trials x {tuning.max_epochs} epochs{resumed}, "
        f"{stopped} stopped early by ASHA; chosen {chosen.trial_id} "
        f"(val loss {chosen.val_loss:.4f}): {settings}"
    )


def _short(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def print_summary(cfg: RunConfig) -> None:
    """What each stage of the last run produced."""
    name = cfg.data.name
    dataset = latest(cfg.workdir, name, DatasetRef)
    profile = latest(cfg.workdir, name, ProfileRef)
    trained = latest(cfg.workdir, name, TrainedCandidates)
    report = latest(cfg.workdir, name, EvalReport)
    version = latest(cfg.workdir, name, PublishedVersion)
    stages = Table("stage", "result", title="tsalign run")
    stages.add_row(
        "ingest",
        f"{dataset.name}: {dataset.rows} rows x {len(dataset.channels)} channels, md5 {dataset.md5}",
    )
    stages.add_row(
        "profile",
        profile.headline
        or f"dominant period {profile.dominant_period}, "
        f"recommended paradigm {profile.recommended_paradigm}",
    )
    for run in trained.runs:
        stages.add_row(*(("tune", search_line(run)) if run.tuning else ("train", run_line(run))))
    for name, why in trained.skipped.items():
        stages.add_row("train", f"{name} (chosen by compare: auto) not trained: {why}")
    stages.add_row(
        "evaluate",
        f"{report.test_windows} {get_task(dataset.task).scored}; "
        f"leaderboard {report.leaderboard_path}",
    )
    stages.add_row("select", f"{report.candidate}: {report.selection_reason}")
    stages.add_row("publish", f"{version} at {version.uri}")
    stages.add_row("promote", version.promotion_reason)
    console.print(stages)
    console.print(metrics_table(report))
    print_scorecard(report)
