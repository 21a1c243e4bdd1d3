"""Stage 5: publish the evaluated model as a new immutable registry version.

Run alone: ``tsalign publish [--config ...] [key=value ...]`` (after evaluate).
Never cached (each publish is a new version); retried with backoff on network errors
(an S3 registry), never on user errors (bad bucket, credentials, gates).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import deployment, flow_run

from tsalign.components.config import RunConfig
from tsalign.components.data.text_features import load_window_texts
from tsalign.components.preflight import check_task_stages
from tsalign.components.refs import (
    DatasetRef,
    EvalReport,
    ProfileRef,
    PublishedVersion,
    TrainedCandidates,
)
from tsalign.components.registry.release import PublishSettings, publish_run
from tsalign.components.state import latest, record
from tsalign.components.tasks import get_task
from tsalign.components.training.candidates import candidate_model, window_texts_file
from tsalign.flows import artifacts
from tsalign.flows.caching import NETWORK_RETRIES, retry_transient
from tsalign.flows.confinement import confine


def orchestration_ids() -> dict[str, str | None]:
    """Which Prefect run (and deployment, when scheduled or triggered) produced this version."""
    return {
        "prefect_flow_run_id": flow_run.get_root_flow_run_id(),
        "prefect_flow_run_name": flow_run.get_name(),
        "prefect_deployment": deployment.get_name(),
    }


@task(
    name="publish-version",
    cache_policy=NO_CACHE,
    retry_condition_fn=retry_transient,
    **NETWORK_RETRIES,
)
def publish_version(
    config: RunConfig,
    dataset: DatasetRef,
    profile: ProfileRef,
    trained: TrainedCandidates,
    report: EvalReport,
    project_root: str,
) -> PublishedVersion:
    # The champion gate re-scores the champion on this version's validation data (with the
    # windows' texts, which a fused model reads).
    recommended = profile.recommended_paradigm if profile else None
    texts = window_texts_file(config, dataset, recommended)
    score_champion = get_task(config.task).champion_scorer(
        dataset.path,
        config.data.protocol(),
        config.train.max_val_windows,
        config.eval.batch_size,
        config.eval.device,
        load_window_texts(texts) if texts else None,
    )
    model = candidate_model(config, recommended, report.candidate)
    run = trained.run_of(report.candidate)
    return publish_run(
        PublishSettings.from_run(config, model, run),
        dataset,
        profile,
        run,
        report,
        Path(project_root),
        orchestration_ids(),
        score_champion,
    )


@flow(name="publish", log_prints=True)
def publish_flow(
    config: RunConfig,
    dataset: DatasetRef | None = None,
    profile: ProfileRef | None = None,
    trained: TrainedCandidates | None = None,
    report: EvalReport | None = None,
    project_root: str = ".",
) -> PublishedVersion:
    """Publish the latest (or given) evaluated run to the registry."""
    config = confine(config, project_root)
    check_task_stages(config, ("publish",), "publish config")
    name = config.data.name
    dataset = dataset or latest(config.workdir, name, DatasetRef)
    profile = profile or latest(config.workdir, name, ProfileRef)
    trained = trained or latest(config.workdir, name, TrainedCandidates)
    report = report or latest(config.workdir, name, EvalReport)
    version = publish_version(
        config, dataset, profile, trained, report, str(Path(project_root).resolve())
    )
    record(config.workdir, name, version)
    artifacts.publish_version(name, version)
    print(f"published {version}: {version.model} ({version.selection_reason})")
    print(f"promotion: {version.promotion_reason}")
    return version
