"""Stage 2: profile the domain, characteristic and representation primitives.

Run alone: ``tsalign profile [--config ...] [key=value ...]`` (after ``tsalign ingest``).
Cached on the dataset content, the data protocol, the profile section and the profiler's code.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task

from tsalign.components.config import ProfileConfig, ProtocolConfig, RunConfig, Task
from tsalign.components.data import load_frame, load_meta, load_texts
from tsalign.components.data.splits import split_borders
from tsalign.components.fingerprint import outputs_exist, profile_key
from tsalign.components.profiling import profile_dataset
from tsalign.components.profiling.tasks import profile_task_data
from tsalign.components.refs import DatasetRef, ProfileRef
from tsalign.components.state import latest, record
from tsalign.flows import artifacts
from tsalign.flows.caching import CACHED, key_fn, run_cached
from tsalign.flows.confinement import confine


@task(name="profile-data", cache_key_fn=key_fn(profile_key), **CACHED)
def profile_data(
    task: Task,
    protocol: ProtocolConfig,
    profile_cfg: ProfileConfig,
    description: str,
    workdir: str,
    dataset: DatasetRef,
) -> ProfileRef:
    out_dir = Path(workdir) / dataset.name / "profile"
    if task != "forecast":
        return profile_task_data(task, dataset, out_dir, description)
    frame = load_frame(dataset.path)
    # Fitted on the training split only: the profile feeds the season, MASE and prompt text.
    train_rows = split_borders(len(frame), protocol).scaler
    texts = load_texts(dataset.path)
    _, ref = profile_dataset(
        frame, load_meta(dataset.path), profile_cfg, out_dir, train_rows, texts
    )
    return ref


@flow(name="profile", log_prints=True)
def profile_flow(config: RunConfig, dataset: DatasetRef | None = None) -> ProfileRef:
    """Profile the dataset version (the latest ingested one when none is given)."""
    config = confine(config)
    dataset = dataset or latest(config.workdir, config.data.name, DatasetRef)
    profile = run_cached(
        profile_data,
        outputs_exist,
        config.task,
        config.data.protocol(),
        config.profile,
        config.data.description,
        config.workdir,
        dataset,
    )
    record(config.workdir, dataset.name, profile)
    if config.task == "forecast":
        artifacts.publish_profile(dataset.name, profile)
    else:
        artifacts.publish_task_profile(dataset.name, profile)
    return profile
