"""Runs of served deployments read data only from the roots the operator served them with.

A run started from the Prefect UI, the API or a schedule carries a config anyone with access
to the UI can edit, including ``data.allowed_roots`` itself. So `tsalign serve` exports the
roots from its own config (default: the project root) as ``TSALIGN_DATA_ROOTS``; its flow-run
subprocesses inherit it, and :func:`confine` replaces whatever roots the submitted config
names. A process work pool gets the same by setting the variable on the worker.
"""

from __future__ import annotations

import os
from pathlib import Path

from components.config import RunConfig

DATA_ROOTS_ENV = "TSALIGN_DATA_ROOTS"
"""Absolute data roots, separated by ``os.pathsep``, that bind every run of this process."""


def served_roots(config: RunConfig, project_root: str | Path) -> list[str]:
    """The absolute roots a served process confines runs to: the config's, else the project."""
    root = Path(project_root).resolve()
    roots = config.data.allowed_roots if config.data.allowed_roots is not None else ["."]
    return [str((root / os.path.expanduser(r)).resolve()) for r in roots]


def export_roots(roots: list[str]) -> None:
    """Bind this process and every flow run it starts to ``roots``."""
    os.environ[DATA_ROOTS_ENV] = os.pathsep.join(roots)


def confine(config: RunConfig) -> RunConfig:
    """``config`` with ``data.allowed_roots`` replaced by the served roots, when there are any."""
    raw = os.environ.get(DATA_ROOTS_ENV)
    if raw is None:
        return config
    roots = [r for r in raw.split(os.pathsep) if r]
    data = config.data.model_copy(update={"allowed_roots": roots})
    return config.model_copy(update={"data": data})
