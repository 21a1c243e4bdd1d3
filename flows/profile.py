"""Stage 2: profile the domain, characteristic and representation primitives.

Run alone: ``tsalign profile [--config ...] [key=value ...]`` (after ``tsalign ingest``).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from components.config import RunConfig
from components.data import load_frame, load_meta
from components.profiling import profile_dataset
from components.refs import DatasetRef, ProfileRef
from components.state import latest, record


@task(name="profile-data", cache_policy=NO_CACHE)
def profile_data(config: RunConfig, dataset: DatasetRef) -> ProfileRef:
    out_dir = Path(config.workdir) / dataset.name / "profile"
    _, ref = profile_dataset(
        load_frame(dataset.path), load_meta(dataset.path), config.profile, out_dir
    )
    return ref


@flow(name="profile", log_prints=True)
def profile_flow(config: RunConfig, dataset: DatasetRef | None = None) -> ProfileRef:
    """Profile the dataset version (the latest ingested one when none is given)."""
    dataset = dataset or latest(config.workdir, config.data.name, DatasetRef)
    profile = profile_data(config, dataset)
    record(config.workdir, dataset.name, profile)
    return profile
