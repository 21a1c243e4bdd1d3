"""Prefect deployments of the pipeline and of each stage flow, with cron schedules from config.

One machine: ``tsalign serve --config configs/default.yaml`` serves them all from one
process (each flow run starts in a subprocess); a team: ``prefect deploy --all`` with
infra/prefect/prefect.yaml creates the same deployments for a work pool and
``prefect worker start --pool tsalign`` runs them.

Every deployment carries the run config as its ``config`` parameter (a RunConfig,
so the UI renders a form from its schema) and the project root. A run started from
the UI, ``prefect deployment run`` or ``run_deployment`` with other values is
validated against that schema, and fails with the dotted field path on a bad value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import Flow
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType

from components.config import ConfigError, RunConfig
from flows.evaluate import evaluate_flow
from flows.ingest import ingest_flow
from flows.pipeline import pipeline
from flows.profile import profile_flow
from flows.publish import publish_flow
from flows.train import train_flow

DEPLOYMENT_NAME = "tsalign"
"""Deployment name shared by every flow: runs are addressed as ``<flow>/tsalign``."""

FLOWS: dict[str, Flow] = {
    "pipeline": pipeline,
    "ingest": ingest_flow,
    "profile": profile_flow,
    "train": train_flow,
    "evaluate": evaluate_flow,
    "publish": publish_flow,
}
"""Schedule field (``schedule.<name>``) -> flow; the flow names equal these keys."""

DESCRIPTIONS = {
    "pipeline": "ingest -> profile -> train -> evaluate -> publish; stages reuse cached outputs",
    "ingest": "Validate the source and version it with DVC (new md5 only when the data changed)",
    "profile": "Primitive profile of the latest ingested data version",
    "train": "Ray Train + DeepSpeed fine-tuning on the latest data version",
    "evaluate": "Score the latest trained models beside the baselines",
    "publish": "Publish the latest evaluated model as a new registry version",
}


def deployment_parameters(name: str, config: RunConfig, project_root: str) -> dict[str, Any]:
    """The default parameters of deployment ``name``: the config, and the project when used."""
    params: dict[str, Any] = {"config": config.model_dump(mode="json")}
    if "project_root" in FLOWS[name].parameters.properties:
        params["project_root"] = project_root
    return params


def schedules_for(name: str, config: RunConfig) -> list:
    """The cron schedule of deployment ``name`` from ``config.schedule`` (empty when null).

    Raises:
        ConfigError: a cron expression or time zone Prefect refuses, naming the field.
    """
    cron = getattr(config.schedule, name)
    if cron is None:
        return []
    try:
        return [Cron(cron, timezone=config.schedule.timezone, active=config.schedule.active)]
    except ValueError as err:
        raise ConfigError(
            f"schedule.{name} / schedule.timezone: {err} (got {cron!r}, "
            f"{config.schedule.timezone!r}); use 5 cron fields and an IANA zone such as UTC"
        ) from None


def build_deployments(
    config: RunConfig,
    project_root: str | Path = ".",
    name: str = DEPLOYMENT_NAME,
    only: list[str] | None = None,
) -> list[RunnerDeployment]:
    """Runner deployments for ``tsalign serve``: the pipeline and each stage flow.

    Args:
        config: the run config every deployment runs by default (its ``schedule``
            section gives the cron schedules).
        project_root: the DVC project the flows ingest into and publish from.
        name: deployment name (``<flow>/<name>`` in the UI and CLI).
        only: flow names to deploy (default: all of :data:`FLOWS`).

    Raises:
        ConfigError: an unknown name in ``only`` or a schedule Prefect refuses.
    """
    root = str(Path(project_root).resolve())
    wanted = list(FLOWS) if only is None else only
    unknown = sorted(set(wanted) - set(FLOWS))
    if unknown:
        raise ConfigError(f"unknown flow(s) {unknown}; choose from {sorted(FLOWS)}")
    return [
        FLOWS[flow_name].to_deployment(
            name=name,
            parameters=deployment_parameters(flow_name, config, root),
            schedules=schedules_for(flow_name, config),
            description=DESCRIPTIONS[flow_name],
            tags=["tsalign", config.data.name],
            enforce_parameter_schema=True,
            # Import by module path: the served process may start anywhere.
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        for flow_name in wanted
    ]


def serve_deployments(deployments: list[RunnerDeployment], limit: int | None = 1) -> None:
    """Serve ``deployments`` until interrupted; each flow run executes in a subprocess.

    Args:
        deployments: from :func:`build_deployments`.
        limit: flow runs executing at once (1: Ray and DeepSpeed use the whole machine).
    """
    from prefect import serve

    serve(*deployments, limit=limit)
