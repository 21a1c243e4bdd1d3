"""Stage 5: publish the evaluated model as a new immutable registry version.

Run alone: ``tsalign publish [--config ...] [key=value ...]`` (after evaluate).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import deployment, flow_run

from components.config import RunConfig
from components.refs import DatasetRef, EvalReport, ProfileRef, PublishedVersion, TrainResult
from components.registry.release import publish_run
from components.state import latest, record


def orchestration_ids() -> dict[str, str | None]:
    """Which Prefect run (and deployment, when scheduled or triggered) produced this version."""
    return {
        "prefect_flow_run_id": flow_run.get_root_flow_run_id(),
        "prefect_flow_run_name": flow_run.get_name(),
        "prefect_deployment": deployment.get_name(),
    }


@task(name="publish-version", cache_policy=NO_CACHE)
def publish_version(
    config: RunConfig,
    dataset: DatasetRef,
    profile: ProfileRef,
    train: TrainResult,
    report: EvalReport,
    project_root: str,
) -> PublishedVersion:
    return publish_run(
        config, dataset, profile, train, report, Path(project_root), orchestration_ids()
    )


@flow(name="publish", log_prints=True)
def publish_flow(
    config: RunConfig,
    dataset: DatasetRef | None = None,
    profile: ProfileRef | None = None,
    train: TrainResult | None = None,
    report: EvalReport | None = None,
    project_root: str = ".",
) -> PublishedVersion:
    """Publish the latest (or given) evaluated run to the registry."""
    name = config.data.name
    dataset = dataset or latest(config.workdir, name, DatasetRef)
    profile = profile or latest(config.workdir, name, ProfileRef)
    train = train or latest(config.workdir, name, TrainResult)
    report = report or latest(config.workdir, name, EvalReport)
    version = publish_version(
        config, dataset, profile, train, report, str(Path(project_root).resolve())
    )
    record(config.workdir, name, version)
    print(f"published {version}; {version.promotion_reason}")
    return version
