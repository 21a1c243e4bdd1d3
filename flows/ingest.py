"""Stage 1: validate the configured source and version it with DVC.

Run alone: ``tsalign ingest [--config configs/default.yaml] [key=value ...]``.

Cached on the source's identity and content fingerprint (see
:mod:`tsalign.components.fingerprint`), so a scheduled run re-ingests — and gets a new
DVC md5 — only when the source changed.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from prefect import flow, task

from tsalign.components.config import DataConfig, RunConfig, Task
from tsalign.components.data import ingest
from tsalign.components.fingerprint import ingest_key, outputs_exist
from tsalign.components.refs import DatasetRef
from tsalign.components.state import record
from tsalign.flows.caching import CACHED, key_fn, run_cached
from tsalign.flows.confinement import confine


@task(name="ingest-data", cache_key_fn=key_fn(ingest_key), **CACHED)
def ingest_data(task: Task, data: DataConfig, project_root: str) -> DatasetRef:
    return ingest(data, Path(project_root), task=task)


@flow(name="ingest", log_prints=True)
def ingest_flow(config: RunConfig, project_root: str = ".") -> DatasetRef:
    """Ingest ``config.data.source`` into data/ and return the new data version."""
    config = confine(config, project_root)
    root = str(Path(project_root).resolve())
    current = partial(outputs_exist, project_root=root, data_dir=config.data.data_dir)
    dataset = run_cached(ingest_data, current, config.task, config.data, root)
    record(config.workdir, dataset.name, dataset)
    print(f"data version {dataset.md5} ({dataset.rows} rows)")
    return dataset
