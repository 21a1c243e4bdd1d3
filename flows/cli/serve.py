"""`tsalign serve`: serve the pipeline and stage deployments with their cron schedules.

tsalign serve [--config configs/default.yaml] [--project .] [--only pipeline] [key=value ...]

Needs a Prefect server (``PREFECT_API_URL``; see infra/local/prefect-server-start.sh):
the schedules live there, and the UI triggers runs through it. Mounted on the main CLI
as ``app.command("serve")(serve_cmd)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tsalign.flows.cli.common import ConfigOpt, Overrides, fail, load
from tsalign.flows.console import console, styled


def serve_cmd(
    config: ConfigOpt = None,
    overrides: Overrides = None,
    project: Annotated[
        Path, typer.Option("--project", help="Project root holding data/, data.dvc and .dvc/.")
    ] = Path("."),
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Serve only these flows (repeatable): pipeline, train, ..."),
    ] = None,
    name: Annotated[
        str, typer.Option("--name", help="Deployment name: <flow>/<name>.")
    ] = "tsalign",
    limit: Annotated[int, typer.Option("--limit", min=1, help="Flow runs executing at once.")] = 1,
) -> None:
    """Serve the pipeline and each stage as Prefect deployments (cron schedules from `schedule:`).

    Example: PREFECT_API_URL=http://127.0.0.1:4200/api tsalign serve --config configs/default.yaml
    """
    import os

    from tsalign.components.config import ConfigError
    from tsalign.flows.confinement import export_roots
    from tsalign.flows.deployments import build_deployments, serve_deployments

    cfg = load(config, overrides)
    if not os.environ.get("PREFECT_API_URL"):
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            fail(
                "tsalign serve needs a Prefect server: start one with "
                "`bash infra/local/prefect-server-start.sh .prefect-server` and export "
                "PREFECT_API_URL=http://127.0.0.1:4200/api"
            )
    try:
        deployments = build_deployments(cfg, project, name=name, only=only)
    except ConfigError as err:
        fail(str(err))
    # Every run of these deployments reads local data only under these roots, whatever
    # config the UI submits (tsalign.flows.confinement).
    roots = export_roots(cfg, project)
    console.print(f"runs read local data only under: {', '.join(roots)}")
    for dep in deployments:
        crons = ", ".join(s.schedule.cron for s in dep.schedules) or "no schedule"
        console.print("serving", styled(f"{dep.flow_name}/{dep.name}", "bold", f" ({crons})"))
    serve_deployments(deployments, limit=limit)
