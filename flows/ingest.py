"""Stage 1: validate the configured source and version it with DVC.

Run alone: ``tsalign ingest [--config configs/default.yaml] [key=value ...]``.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from components.config import RunConfig
from components.data import ingest
from components.refs import DatasetRef
from components.state import record


@task(name="ingest-data", cache_policy=NO_CACHE)
def ingest_data(config: RunConfig, project_root: str) -> DatasetRef:
    return ingest(config.data, Path(project_root))


@flow(name="ingest", log_prints=True)
def ingest_flow(config: RunConfig, project_root: str = ".") -> DatasetRef:
    """Ingest ``config.data.source`` into data/ and return the new data version."""
    dataset = ingest_data(config, str(Path(project_root).resolve()))
    record(config.workdir, dataset.name, dataset)
    return dataset
