"""Put validated files into data/ and version them with one ``dvc add`` + push, or not at all.

Every ingest path (series, labelled panels, anomaly corpora) ends here once its data has
passed every check: the files are moved (staged temp files, via ``os.replace``) or written
atomically (small JSON), then ``dvc add data`` + ``dvc push`` records one md5 for all of
them. If any step fails, the previous files and ``data.dvc`` are restored, so a failed
ingest leaves ``data/``, ``data.dvc`` and the remote as they were.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tsalign.components.data.versioning import add_and_push, dvc_file, remote_url
from tsalign.components.refs import DatasetRef
from tsalign.components.storage import default_file_mode, write_bytes_atomic

# The files a dataset named <name> may have in data/, besides <name>.parquet and
# <name>.meta.json. Each ingest writes those of its kind and removes the others, which
# an earlier dataset of that name (another kind, or with text) left behind.
SIDE_FILES = (".text.parquet", ".windows.json")


def commit_files(
    root: Path, data_dir: str, files: dict[str, Path | bytes | None], remote: str | None = None
) -> str:
    """Place ``files`` under ``root/data_dir`` and ``dvc add`` + push the directory.

    Args:
        root: the DVC project root.
        data_dir: the tracked directory, relative to ``root``.
        files: file name under ``data_dir`` -> a staged file (moved into place; on the same
            file system, e.g. under ``.dvc/tmp``), the bytes to write, or None to remove a
            stale file of that name.
        remote: DVC remote name; the project's default when None.

    Returns:
        The md5 of ``data_dir`` recorded in its ``.dvc`` file: the data version.

    Raises:
        DataError: DVC add/push failed (everything restored as it was).
    """
    target_dir = root / data_dir
    created_dir = not target_dir.exists()
    target_dir.mkdir(parents=True, exist_ok=True)
    targets = [target_dir / name for name in files]
    tracker = dvc_file(root, data_dir)
    tmp_dir = root / ".dvc" / "tmp"
    tmp_dir.mkdir(exist_ok=True)
    backup = Path(tempfile.mkdtemp(prefix=".ingest-backup-", dir=tmp_dir))
    saved: dict[Path, Path | None] = {}
    for k, path in enumerate([*targets, tracker]):
        copy = backup / str(k) if path.exists() else None
        if copy is not None:
            shutil.copy2(path, copy)
        saved[path] = copy
    try:
        for path, content in zip(targets, files.values(), strict=True):
            if content is None:
                path.unlink(missing_ok=True)
            elif isinstance(content, Path):
                os.chmod(content, default_file_mode())  # mkstemp creates 0600; data is shared
                os.replace(content, path)
            else:
                write_bytes_atomic(path, content)
        return add_and_push(root, data_dir, remote)
    except BaseException:
        for path, copy in saved.items():
            if copy is not None:
                shutil.copy2(copy, path)
            else:
                path.unlink(missing_ok=True)
        if created_dir and not any(target_dir.iterdir()):
            target_dir.rmdir()
        raise
    finally:
        for content in files.values():
            if isinstance(content, Path):
                content.unlink(missing_ok=True)
        shutil.rmtree(backup, ignore_errors=True)


def commit_dataset(
    root: Path,
    data_dir: str,
    name: str,
    table: Path,
    meta: BaseModel,
    remote: str | None = None,
    side_files: dict[str, Path | bytes] | None = None,
    **ref_fields: Any,
) -> DatasetRef:
    """Version one dataset (its staged table, metadata and side files) and return its reference.

    Args:
        root: the DVC project root.
        data_dir: the tracked directory, relative to ``root``.
        name: the dataset name; files are ``<name>.parquet``, ``<name>.meta.json`` and the
            ``SIDE_FILES`` suffixes.
        table: the staged canonical Parquet file (moved into place).
        meta: the dataset's metadata; it must have ``rows`` and ``channels``.
        remote: DVC remote name; the project's default when None.
        side_files: suffix from ``SIDE_FILES`` -> staged file or bytes; the other side files
            are removed.
        **ref_fields: the rest of the ``DatasetRef`` (``timestamp_col``, ``freq``, ``task``...).

    Raises:
        DataError: DVC add/push failed (everything restored as it was).
    """
    side_files = side_files or {}
    unknown = set(side_files) - set(SIDE_FILES)
    if unknown:
        raise ValueError(f"unknown side files {sorted(unknown)}; known: {SIDE_FILES}")
    meta_json = json.dumps(meta.model_dump(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    files: dict[str, Path | bytes | None] = {
        f"{name}.parquet": table,
        f"{name}.meta.json": meta_json.encode(),
        **{f"{name}{suffix}": side_files.get(suffix) for suffix in SIDE_FILES},
    }
    md5 = commit_files(root, data_dir, files, remote)
    target = root / data_dir
    return DatasetRef(
        name=name,
        path=str(target / f"{name}.parquet"),
        meta_path=str(target / f"{name}.meta.json"),
        md5=md5,
        remote=remote_url(root, remote),
        rows=meta.rows,
        channels=meta.channels,
        **ref_fields,
    )
