"""Anomaly data (task: anomaly): NAB series plus labelled windows, validated and versioned.

    ref = ingest_anomaly(cfg.data, project_root)
    # data/<name>.parquet       series (str), timestamp, value (float64), label (bool, in a window)
    # data/<name>.windows.json  the windows of the ingested series, NAB's format
    # data/<name>.meta.json     per series: rows, span, windows, anomalous share
    # one `dvc add data` for all three

``data.source`` is a NAB-layout corpus root (``data/<group>/<file>.csv`` plus
``labels/combined_windows.json``) or a single ``timestamp,value`` CSV whose windows
``data.anomaly.labels`` holds. Every series and window is checked before anything is
written (see :mod:`tsalign.components.data.anomaly`); windows must lie inside their series.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from tsalign.components.config import DataConfig
from tsalign.components.data.anomaly import (
    DATA_DIR,
    PROBATION_PERCENT,
    WINDOWS_FILE,
    AnomalySeries,
    load_nab_corpus,
    load_nab_series,
    read_windows,
    window_rows,
)
from tsalign.components.data.canonical import write_table
from tsalign.components.data.commit import commit_dataset
from tsalign.components.data.errors import DataError
from tsalign.components.data.sources import FileSource, check_allowed_root
from tsalign.components.refs import DatasetRef
from tsalign.components.storage import sha256_file


class SeriesSummary(BaseModel):
    """One ingested series."""

    model_config = ConfigDict(frozen=True)

    rows: int
    start: str
    end: str
    windows: int
    anomalous_rows: int


class AnomalyMeta(BaseModel):
    """What is known about one canonical anomaly corpus (``data/<name>.meta.json``)."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = 1
    kind: str = "anomaly"
    name: str
    source: str
    description: str = ""
    channels: list[str] = Field(default_factory=lambda: ["value"])
    series: dict[str, SeriesSummary] = Field(description="NAB name -> summary, sorted by name.")
    rows: int
    probation: float = PROBATION_PERCENT
    windows_file: str = Field(description="The windows JSON beside the Parquet file.")
    content_sha256: str = ""
    windows_sha256: str = ""


def _source_path(cfg: DataConfig, root: Path) -> Path:
    path = check_allowed_root(FileSource(cfg, root).path(), cfg, root, cfg.source)
    if not path.exists():
        raise DataError(
            cfg.source,
            f"not found ({path})",
            "point data.source at a NAB corpus root (data/ + labels/) or a timestamp,value CSV",
        )
    return path


def _labels_path(cfg: DataConfig, root: Path, source: Path) -> Path:
    if cfg.anomaly.labels is None:
        if source.is_dir():
            return source / WINDOWS_FILE
        raise DataError(
            "data.anomaly.labels",
            f"a single series ({source.name}) needs a windows file",
            "set data.anomaly.labels to a JSON in NAB's combined_windows.json format",
        )
    labels = Path(os.path.expanduser(cfg.anomaly.labels))
    labels = labels if labels.is_absolute() else root / labels
    return check_allowed_root(labels, cfg, root, "data.anomaly.labels")


def read_anomaly_source(cfg: DataConfig, root: Path) -> tuple[list[AnomalySeries], Path]:
    """Load and check every configured series with its windows.

    Returns:
        The series (sorted by name) and the windows file read.

    Raises:
        DataError: a missing file, unknown series name, bad row or window (e.g. a window
            outside its series).
    """
    source = _source_path(cfg, root)
    labels = _labels_path(cfg, root, source)
    if source.is_dir():
        names = sorted(cfg.anomaly.series) if cfg.anomaly.series else None
        return load_nab_corpus(source, names, labels), labels
    windows = read_windows(labels)
    names = cfg.anomaly.series or [n for n in windows if Path(n).name == source.name]
    if len(names) != 1:
        raise DataError(
            str(labels),
            f"{len(names)} entries match {source.name} (need exactly one)",
            "set data.anomaly.series to the one windows-file name of this CSV, e.g. "
            "[realKnownCause/nyc_taxi.csv]",
        )
    # The CSV itself is read from data.source, under the name its windows are keyed by.
    series = load_nab_series(source.parent, source.name, {source.name: windows[names[0]]})
    renamed = AnomalySeries(
        names[0], series.timestamps, series.values, series.windows, series.window_rows
    )
    return [renamed], labels


def anomaly_fingerprint(cfg: DataConfig, root: Path) -> dict[str, Any] | None:
    """What identifies an anomaly source's content, for the ingest cache key (None: unknown)."""
    try:
        source = _source_path(cfg, root)
        labels = _labels_path(cfg, root, source)
    except DataError:
        return None
    files = sorted((source / DATA_DIR).rglob("*.csv")) if source.is_dir() else [source]
    if not labels.is_file():
        return None
    return {
        "labels": sha256_file(labels),
        "files": {str(p): [p.stat().st_size, p.stat().st_mtime_ns] for p in files},
    }


def _table(series: list[AnomalySeries]) -> pa.Table:
    return pa.table(
        {
            "series": np.concatenate(
                [np.full(len(s.values), s.name, dtype=object) for s in series]
            ),
            "timestamp": np.concatenate([s.timestamps for s in series]).astype("datetime64[ns]"),
            "value": np.concatenate([s.values for s in series]),
            "label": np.concatenate([s.labels for s in series]),
        }
    )


def _windows_json(series: list[AnomalySeries]) -> bytes:
    windows = {
        s.name: [[str(a), str(b)] for a, b in s.windows]
        for s in sorted(series, key=lambda s: s.name)
    }
    return (json.dumps(windows, indent=2, sort_keys=True) + "\n").encode()


def ingest_anomaly(cfg: DataConfig, root: Path, remote: str | None = None) -> DatasetRef:
    """Validate NAB-format series + windows and version them under ``data/`` (one DVC md5).

    Raises:
        DataError: the source fails a check (nothing is written), or DVC add/push failed
            (previous files restored).
    """
    series, _ = read_anomaly_source(cfg, root)
    series = sorted(series, key=lambda s: s.name)
    windows_bytes = _windows_json(series)
    tmp_dir = root / ".dvc" / "tmp"
    tmp_dir.mkdir(exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix=f".{cfg.name}.", suffix=".parquet")
    os.close(fd)
    staged = Path(name)
    try:
        table = _table(series)
        write_table(table, staged)
        content = sha256_file(staged)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    windows_name = f"{cfg.name}.windows.json"
    meta = AnomalyMeta(
        name=cfg.name,
        source=cfg.source,
        description=cfg.description,
        series={
            s.name: SeriesSummary(
                rows=len(s.values),
                start=pd.Timestamp(s.timestamps[0]).isoformat(),
                end=pd.Timestamp(s.timestamps[-1]).isoformat(),
                windows=len(s.windows),
                anomalous_rows=int(s.labels.sum()),
            )
            for s in series
        },
        rows=table.num_rows,
        windows_file=windows_name,
        content_sha256=content,
        windows_sha256=hashlib.sha256(windows_bytes).hexdigest(),
    )
    return commit_dataset(
        root,
        cfg.data_dir,
        cfg.name,
        staged,
        meta,
        remote,
        side_files={".windows.json": windows_bytes},
        timestamp_col="timestamp",
        freq="",
        task="anomaly",
    )


def load_anomaly_meta(meta_path: str | Path) -> AnomalyMeta:
    """The metadata of a canonical anomaly corpus.

    Raises:
        DataError: the file is missing (re-run ingest or ``dvc pull``).
    """
    path = Path(meta_path)
    if not path.is_file():
        raise DataError(
            str(path), "anomaly metadata not found", "run `tsalign ingest` or `dvc pull`"
        )
    return AnomalyMeta.model_validate_json(path.read_text())


def load_ingested(dataset_path: str | Path) -> list[AnomalySeries]:
    """The series of an ingested anomaly corpus, with their windows, sorted by name.

    Reads ``data/<name>.parquet`` and the windows JSON beside it (what
    :func:`ingest_anomaly` wrote), so training, evaluation and profiling read the
    versioned copy, never the source.

    Raises:
        DataError: a missing file (re-run ingest or ``dvc pull``), or windows that no
            longer fit their series.
    """
    path = Path(dataset_path)
    windows_path = path.with_name(f"{path.stem}.windows.json")
    for needed in (path, windows_path):
        if not needed.is_file():
            raise DataError(
                str(needed), "the ingested anomaly corpus is incomplete", "run `tsalign ingest`"
            )
    windows = read_windows(windows_path)
    frame = pd.read_parquet(path, columns=["series", "timestamp", "value"])
    series = []
    for name, rows in frame.groupby("series", sort=True):
        stamps = rows["timestamp"].to_numpy()
        series.append(
            AnomalySeries(
                name=str(name),
                timestamps=stamps,
                values=rows["value"].to_numpy(dtype=np.float64),
                windows=tuple(windows.get(str(name), [])),
                window_rows=window_rows(str(name), stamps, windows.get(str(name), [])),
            )
        )
    return series
