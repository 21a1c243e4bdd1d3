"""The ``tsalign`` command line.

``tsalign run`` runs the whole pipeline on the embedded defaults; each stage
also runs alone (``tsalign ingest``, ``profile``, ``train`` or ``tune``, ``evaluate``,
``publish``) against a YAML config plus ``key=value`` overrides.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tsalign.components.preflight import PIPELINE_STAGES
from tsalign.flows.cli import data as data_cli
from tsalign.flows.cli import registry as registry_cli
from tsalign.flows.cli.cluster import default_ray_auth_mode, jobs_cmd, submit_cmd
from tsalign.flows.cli.common import (
    ConfigOpt,
    DataRevOpt,
    Overrides,
    load_run,
    set_debug,
    user_errors,
)
from tsalign.flows.cli.init import init_cmd
from tsalign.flows.cli.predict import predict_cmd
from tsalign.flows.cli.serve import serve_cmd
from tsalign.flows.console import console, styled

if TYPE_CHECKING:
    from tsalign.components.refs import DatasetRef

app = typer.Typer(
    name="tsalign",
    help="Align pretrained language models with time series: ingest, profile, train, "
    "evaluate and publish, orchestrated by Prefect.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data_cli.app, name="data")
app.add_typer(registry_cli.app, name="registry")
app.command("init")(init_cmd)
app.command("predict")(predict_cmd)
app.command("submit")(submit_cmd)
app.command("jobs")(jobs_cmd)
app.command("serve")(serve_cmd)


def set_environment_defaults(env: os._Environ[str] | dict[str, str] = os.environ) -> None:
    """Quiet, offline process defaults, set before Ray, transformers or Prefect start.

    Called by the ``tsalign`` entry point (never at import), so importing the package
    leaves the environment of the importing process alone.
    """
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("RAY_DEDUP_LOGS", "1")
    # Token auth whenever a token exists; otherwise only the private local instance on
    # 127.0.0.1 runs without it (clusters: README "Exposing the servers safely").
    env["RAY_AUTH_MODE"] = default_ray_auth_mode(env, Path.home())
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The embedded server's 20 s start-up default is too short on a busy 2-core laptop.
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def entry(args: Sequence[str] | None = None) -> None:
    """The ``tsalign`` console script (and ``python -m tsalign``): defaults, then the CLI."""
    set_environment_defaults()
    app(args=list(args) if args is not None else None, prog_name="tsalign")


@app.callback()
def main(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="TSALIGN_DEBUG",
            help="Print the Python traceback of a user error too (it always goes to the "
            "log file, $TSALIGN_LOG_FILE or ~/.cache/tsalign/logs/tsalign.log).",
        ),
    ] = False,
) -> None:
    """Align pretrained language models with time series."""
    set_debug(debug)


ProjectOpt = Annotated[
    Path, typer.Option("--project", help="Project root holding data/, data.dvc and .dvc/.")
]


@app.command()
def run(
    config: ConfigOpt = None,
    overrides: Overrides = None,
    project: ProjectOpt = Path("."),
    data_rev: DataRevOpt = None,
) -> None:
    """Run the whole pipeline: ingest -> profile -> train -> evaluate -> publish.

    Example: tsalign run --config configs/default.yaml train.epochs=2
    """
    # Each command checks its config before importing its flow (Prefect, torch), so a
    # bad name fails in about a second with nothing written.
    cfg = load_run(config, overrides, data_rev, stages=PIPELINE_STAGES)
    from tsalign.flows.pipeline import pipeline
    from tsalign.flows.summary import print_summary

    with user_errors():
        version = pipeline(config=cfg, project_root=str(project))
    print_summary(cfg)
    typer.echo(str(version))


@app.command()
def ingest(
    config: ConfigOpt = None,
    overrides: Overrides = None,
    project: ProjectOpt = Path("."),
    data_rev: DataRevOpt = None,
) -> None:
    """Validate the configured source, write canonical Parquet under data/ and `dvc add` + push it."""
    cfg = load_run(config, overrides, data_rev, stages=("ingest",))
    from tsalign.flows.ingest import ingest_flow

    with user_errors():
        dataset = ingest_flow(cfg, str(project))
    console.print(
        styled(
            "ingested",
            "green",
            f" {dataset.name}: {_contents(dataset)}"
            + (f", texts {Path(dataset.text_path).name}" if dataset.text_path else "")
            + f", data version (md5) {dataset.md5}",
        )
    )


def _contents(dataset: DatasetRef) -> str:
    """What an ingested dataset holds, in the words of its task."""
    if dataset.task == "forecast":
        return f"{dataset.rows} rows, channels {dataset.channels}"
    from tsalign.components.data.ingest import load_any_meta

    meta = load_any_meta(dataset.meta_path)
    if dataset.task == "classify":
        splits = ", ".join(f"{split} {meta.instances[split]}" for split in ("train", "val", "test"))
        return (
            f"{sum(meta.instances.values())} instances ({splits}), {len(meta.classes)} classes, "
            f"{len(meta.channels)} channels x {meta.steps} steps"
        )
    windows = sum(s.windows for s in meta.series.values())
    return f"{len(meta.series)} series, {meta.rows} rows, {windows} anomaly windows"


@app.command()
def profile(config: ConfigOpt = None, overrides: Overrides = None) -> None:
    """Profile the latest ingested version: domain, characteristic and representation primitives."""
    cfg = load_run(config, overrides, stages=("profile",))
    from tsalign.components.profiling import load_profile, print_profile
    from tsalign.flows.profile import profile_flow

    with user_errors():
        ref = profile_flow(cfg)
    if cfg.task != "forecast":
        from tsalign.components.profiling.tasks import print_task_profile

        print_task_profile(Path(ref.profile_path), console)
    else:
        print_profile(load_profile(Path(ref.profile_path)), console)
    console.print(f"report: {ref.report_path}")


@app.command()
def train(config: ConfigOpt = None, overrides: Overrides = None) -> None:
    """Fine-tune the configured model on Ray Train + DeepSpeed (after ingest and profile)."""
    cfg = load_run(config, overrides, stages=("train",))
    from tsalign.flows.summary import run_line
    from tsalign.flows.train import train_flow

    with user_errors():
        result = train_flow(cfg)
    for run in result.runs:
        console.print(
            styled("trained", "green", f" {run_line(run)}; best checkpoint {run.checkpoint_uri}")
        )


@app.command()
def tune(config: ConfigOpt = None, overrides: Overrides = None) -> None:
    """Search each candidate's settings with Ray Tune + ASHA on validation loss (after ingest
    and profile); the chosen runs become the train output that evaluate and publish use.

    Example: tsalign tune --config configs/tiny.yaml tune.num_samples=8
    """
    cfg = load_run(config, overrides)
    from tsalign.flows.tune import search_line, tune_flow

    with user_errors():
        result = tune_flow(cfg)
    for run in result.runs:
        console.print(styled("tuned", "green", f" {search_line(run)}"), highlight=False)
        console.print(f"  best checkpoint {run.checkpoint_uri}", highlight=False)


@app.command()
def evaluate(config: ConfigOpt = None, overrides: Overrides = None) -> None:
    """Score the latest trained model beside the baselines on the test split."""
    cfg = load_run(config, overrides, stages=("evaluate",))
    from tsalign.flows.evaluate import evaluate_flow
    from tsalign.flows.summary import metrics_table, print_scorecard

    with user_errors():
        report = evaluate_flow(cfg)
    console.print(metrics_table(report))
    print_scorecard(report)


@app.command()
def publish(
    config: ConfigOpt = None, overrides: Overrides = None, project: ProjectOpt = Path(".")
) -> None:
    """Publish the latest evaluated model as a new immutable registry version."""
    cfg = load_run(config, overrides, stages=("publish",))
    from tsalign.flows.publish import publish_flow

    with user_errors():
        version = publish_flow(cfg, project_root=str(project))
    typer.echo(str(version))


@app.command()
def models(
    name: Annotated[
        str | None,
        typer.Argument(help="A catalogue entry: list the parameters its model.params takes."),
    ] = None,
) -> None:
    """List the model catalogue (names a config's model.name may use), or one entry's
    parameters with their defaults."""
    from rich.table import Table

    from tsalign.components.models.catalogue import get_entry, list_models

    if name is not None:
        with user_errors():
            params = get_entry(name).params
        table = Table("field", "default", "description", title=f"model.params of {name}")
        for field, info in params.model_fields.items():
            table.add_row(field, repr(info.default), info.description or "")
        console.print(table if params.model_fields else f"{name} takes no parameters")
        embed = get_entry(name).retrieval_embed
        if embed is not None:
            from tsalign.components.models.params import RetrievalConfig

            table = Table("field", "default", "description", title=f"model.retrieval of {name}")
            for field, info in RetrievalConfig.model_fields.items():
                default = embed if field == "embed" else info.default
                table.add_row(field, repr(default), info.description or "")
            console.print(table)
        return
    from tsalign.components.tasks import runnable_tasks

    # Only the tasks a config can run end to end with the entry today.
    table = Table("name", "paradigm", "tasks", "summary", title="model catalogue")
    for entry_name in list_models():
        entry = get_entry(entry_name)
        tasks = ", ".join(runnable_tasks(entry.tasks))
        table.add_row(entry_name, entry.paradigm, tasks, entry.summary)
    console.print(table)
