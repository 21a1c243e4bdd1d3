"""The pipeline: ingest -> profile -> train (or tune) -> evaluate -> publish.

With ``tune.enabled=true`` the tune stage (a Ray Tune search per candidate) takes the
place of the train stage and the chosen trials are evaluated and published.

Run: ``tsalign run`` (embedded defaults) or ``python -m tsalign run``; with a
config: ``tsalign run --config configs/default.yaml train.epochs=2``.
"""

from __future__ import annotations

from prefect import flow

from tsalign.components.config import RunConfig
from tsalign.components.preflight import PIPELINE_STAGES, check_run_config
from tsalign.components.refs import PublishedVersion
from tsalign.flows.confinement import confine
from tsalign.flows.evaluate import evaluate_flow
from tsalign.flows.ingest import ingest_flow
from tsalign.flows.profile import profile_flow
from tsalign.flows.publish import publish_flow
from tsalign.flows.train import train_flow
from tsalign.flows.tune import tune_flow


@flow(name="pipeline", log_prints=True)
def pipeline(config: RunConfig = RunConfig(), project_root: str = ".") -> PublishedVersion:  # noqa: B008
    """Version the data, profile it, train (or tune), evaluate against baselines, publish."""
    # Runs started from the UI skip the CLI's loading: refuse a bad catalogue name or preset
    # or a task a later stage cannot run here, before ingest and profile rewrite their outputs.
    check_run_config(config, "pipeline config", PIPELINE_STAGES)
    config = confine(config, project_root)
    dataset = ingest_flow(config, project_root)
    profile = profile_flow(config, dataset)
    trained = (tune_flow if config.tune.enabled else train_flow)(config, dataset, profile)
    report = evaluate_flow(config, dataset, profile, trained)
    return publish_flow(config, dataset, profile, trained, report, project_root)
