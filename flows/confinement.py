"""Runs of served deployments read and write only where the operator served them.

A run started from the Prefect UI, the API or a schedule carries a config anyone with access
to the UI can edit, including ``data.allowed_roots`` itself. So `tsalign serve` exports, from
its own config and ``--project``:

- ``TSALIGN_DATA_ROOTS``: where local data may be read (``data.allowed_roots``, default the
  project); it replaces whatever roots a submitted config names;
- ``TSALIGN_WRITE_ROOTS``: the project and the served config's own local output locations
  (``workdir``, ``registry.uri``, ``train.storage_path``, ``data.cache_dir``); a submitted
  config whose local locations (or ``project_root``) lie elsewhere is refused.

Its flow-run subprocesses inherit both; every flow calls :func:`confine` first. A process work
pool gets the same by setting the variables on the worker.
"""

from __future__ import annotations

import os
from pathlib import Path

from tsalign.components.config import ConfigError, RunConfig
from tsalign.components.storage import StorageURIError, parse_uri

DATA_ROOTS_ENV = "TSALIGN_DATA_ROOTS"
"""Absolute data roots, separated by ``os.pathsep``, that bind every run of this process."""
WRITE_ROOTS_ENV = "TSALIGN_WRITE_ROOTS"
"""Absolute directories, separated by ``os.pathsep``, that runs of this process may write under."""


def _local(location: str, base: Path) -> Path | None:
    """The absolute local directory ``location`` names (relative to ``base``); None for s3://."""
    try:
        if parse_uri(location).scheme != "file":
            return None
    except StorageURIError:
        return None
    path = Path(os.path.expanduser(location.removeprefix("file://")))
    return Path(os.path.realpath(path if path.is_absolute() else base / path))


def write_locations(config: RunConfig, project_root: str | Path | None) -> dict[str, Path]:
    """Local directories a run of ``config`` writes to, by config field."""
    cwd = Path.cwd()
    found = {
        "workdir": _local(config.workdir, cwd),
        "registry.uri": _local(config.registry.uri, cwd),
        "train.storage_path": _local(config.train.storage_path, cwd),
    }
    if project_root is not None:
        root = Path(os.path.realpath(project_root))
        found |= {
            "project_root": root,
            "data.cache_dir": _local(config.data.cache_dir, root),
            "data.data_dir": _local(config.data.data_dir, root),
        }
    return {field: path for field, path in found.items() if path is not None}


def served_roots(config: RunConfig, project_root: str | Path) -> list[str]:
    """The absolute roots a served process confines data reads to: the config's, else the project."""
    root = Path(project_root).resolve()
    roots = config.data.allowed_roots if config.data.allowed_roots is not None else ["."]
    return [str((root / os.path.expanduser(r)).resolve()) for r in roots]


def export_roots(config: RunConfig, project_root: str | Path) -> list[str]:
    """Bind this process and every flow run it starts to the roots of the served ``config``.

    Returns:
        The data roots (for the serve command to print).
    """
    data = served_roots(config, project_root)
    writes = [str(p) for p in write_locations(config, project_root).values()]
    os.environ[DATA_ROOTS_ENV] = os.pathsep.join(data)
    os.environ[WRITE_ROOTS_ENV] = os.pathsep.join(dict.fromkeys(writes))
    return data


def _roots(name: str) -> list[Path] | None:
    raw = os.environ.get(name)
    return None if raw is None else [Path(r) for r in raw.split(os.pathsep) if r]


def confine(config: RunConfig, project_root: str | Path | None = None) -> RunConfig:
    """``config`` bound to the served roots, when this process serves deployments.

    Returns:
        ``config`` with ``data.allowed_roots`` replaced by the served data roots (unchanged
        outside a served process).

    Raises:
        ConfigError: a local output location or ``project_root`` outside the served ones.
    """
    writes = _roots(WRITE_ROOTS_ENV)
    if writes is not None:
        for field, path in write_locations(config, project_root).items():
            if not any(path.is_relative_to(root) for root in writes):
                raise ConfigError(
                    f"{field} resolves to {path}, outside the locations this server writes to "
                    f"({', '.join(map(str, writes))}); a run started from the UI or API may "
                    "only write under the served project and the served config's own locations"
                )
    data = _roots(DATA_ROOTS_ENV)
    if data is None:
        return config
    confined = config.data.model_copy(update={"allowed_roots": [str(r) for r in data]})
    return config.model_copy(update={"data": confined})
