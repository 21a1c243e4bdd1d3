"""Ingest: source -> validated canonical Parquet + metadata under data/ -> DVC add + push.

Nothing is written until the data has passed every check; the Parquet and JSON
files are written to temporary names and moved into place with ``os.replace``;
if DVC then fails, the previous files and ``data.dvc`` are restored, so a failed
ingest leaves ``data/``, ``data.dvc`` and the remote as they were.

The Parquet bytes are deterministic (no write time in the metadata, fixed
compression and row-group size), so re-ingesting identical content gives the
identical DVC md5 and no new DVC object.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel

from tsalign.components.config import DataConfig, Task
from tsalign.components.data.canonical import (
    Canonical,
    NeedsFullRead,
    build_canonical,
    can_stream,
    stream_canonical,
    write_table,
)
from tsalign.components.data.commit import commit_dataset
from tsalign.components.data.errors import DataError
from tsalign.components.data.meta import TIMESTAMP, DatasetMeta, TextMeta, TextSourceMeta
from tsalign.components.data.packaged import packaged_names
from tsalign.components.data.sources import ResolvedSource, resolve_source
from tsalign.components.data.splits import split_borders, window_count
from tsalign.components.data.text import TextSourceSummary, stage_texts, text_path
from tsalign.components.data.versioning import (
    dvc_file,
    ensure_dvc_project,
    read_file_at_rev,
    recorded_md5,
    remote_url,
)
from tsalign.components.refs import DatasetRef
from tsalign.components.storage import sha256_file, write_bytes_atomic

STREAM_MIN_BYTES = 64 << 20
"""Files at least this large are streamed (bounded memory); smaller ones are read whole."""


def stage_canonical(src: ResolvedSource, cfg: DataConfig, tmp_dir: Path) -> tuple[Canonical, Path]:
    """Validate ``src`` and write its canonical Parquet to a temp file in ``tmp_dir``.

    Large clean files stream block by block (memory bounded by a row group);
    anything else, and every file that needs a policy or fails a check, goes
    through the in-memory path. Both write identical bytes.

    Returns:
        The canonical description and the staged Parquet path (caller moves or deletes it).

    Raises:
        DataError: validation failed (no staged file is left behind).
    """
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix=f".{cfg.name}.", suffix=".parquet")
    os.close(fd)
    staged = Path(name)
    try:
        if can_stream(src, cfg) and src.path.stat().st_size >= STREAM_MIN_BYTES:
            try:
                return stream_canonical(src, cfg, staged), staged
            except NeedsFullRead:
                pass  # the in-memory path reports the problem precisely or applies the policy
        canon = build_canonical(src, cfg)
        write_table(canon.table, staged)
        canon.table = None  # written; let the memory go before DVC runs
        return canon, staged
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


def _check_windows(canon: Canonical, cfg: DataConfig, where: str) -> None:
    """Every split must yield at least one window, else training/evaluation cannot run."""
    n = canon.rows
    borders = split_borders(n, cfg)
    w = cfg.window
    for split, (start, end) in borders.as_dict().items():
        if window_count(end - start, w.seq_len, w.horizon, 1) < 1:
            raise DataError(
                where,
                f"series too short for the {cfg.split} split: the {split} split spans rows {start}..{end - 1} "
                f"({end - start} rows) but one window needs seq_len + horizon = {w.seq_len + w.horizon}",
                "supply a longer series or lower data.window.seq_len / data.window.horizon",
            )


def build_meta(
    canon: Canonical,
    cfg: DataConfig,
    source: str,
    content_sha256: str,
    source_sha256: str = "",
    packaged_desc: str = "",
    packaged_units: dict[str, str] | None = None,
) -> DatasetMeta:
    """The metadata JSON for a canonical table (config description/units win over packaged ones)."""
    units = {c: u for c, u in (packaged_units or {}).items() if c in canon.channels}
    units.update(cfg.units)
    return DatasetMeta(
        name=cfg.name,
        source=source,
        description=cfg.description or packaged_desc,
        units=units,
        channels=canon.channels,
        targets=canon.targets,
        covariates=canon.covariates,
        freq=canon.freq,
        rows=canon.rows,
        start=pd.Timestamp(canon.start_ns).isoformat(),
        end=pd.Timestamp(canon.end_ns).isoformat(),
        inferred=canon.inferred,
        filled=canon.filled,
        content_sha256=content_sha256,
        timezone=canon.timezone,
        source_sha256=source_sha256,
    )


def ingest(
    cfg: DataConfig, project_root: Path, remote: str | None = None, task: Task = "forecast"
) -> DatasetRef:
    """Validate ``cfg.source`` and version it as ``data/<name>.parquet`` (+ ``.meta.json``).

    Args:
        cfg: the data section of the run config.
        project_root: the DVC project (see :func:`ensure_dvc_project`); ``data/``,
            ``data.dvc`` and the default remote live there.
        remote: DVC remote name to push to; the project's default when None.
        task: ``classify`` ingests a labelled panel (:mod:`.panel`), ``anomaly`` series
            with anomaly windows (:mod:`.anomaly_ingest`); ``forecast`` one series.

    Returns:
        A DatasetRef whose ``md5`` is the data version recorded in ``data.dvc``.

    When ``cfg.rev`` is set (``--data-rev``), nothing is ingested: the dataset at
    that data version is materialised through DVC (:func:`checkout_version`).

    Raises:
        DataError: the source cannot be read or fails validation (nothing is
            written), DVC add/push failed (previous files restored), or
            ``cfg.rev`` names an unknown version.
    """
    root = Path(project_root).resolve()
    if task != "forecast":
        return _ingest_task(cfg, root, remote, task)
    if cfg.rev is not None:
        # A pinned older version: read it through DVC instead of ingesting anew.
        return checkout_version(cfg.name, cfg.rev, root, cfg.data_dir)
    require_dvc_project(root)
    tmp_dir = root / ".dvc" / "tmp"
    tmp_dir.mkdir(exist_ok=True)
    with resolve_source(cfg, root) as src:
        if src.packaged is not None and src.packaged.kind != "series":
            raise DataError(
                src.label,
                "this packaged name is a text source, not a numeric series",
                "list it under data.text.sources and set data.source to the series "
                f"(one of {', '.join(packaged_names())})",
            )
        canon, staged = stage_canonical(src, cfg, tmp_dir)
        try:
            _check_windows(canon, cfg, src.label)
            source_sha = src.sha256 or sha256_file(src.path)
            texts = stage_texts(cfg, root, tmp_dir)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        pkg = src.packaged

    try:
        digest = sha256_file(staged)
        text_name = text_path(f"{cfg.name}.parquet").name
        text_meta = _describe_texts(texts, text_name) if texts is not None else None
        meta = build_meta(
            canon,
            cfg,
            cfg.source,
            digest,
            source_sha,
            pkg.description if pkg else "",
            pkg.units if pkg else None,
        ).model_copy(update={"text": text_meta})
    except BaseException:
        staged.unlink(missing_ok=True)
        if texts is not None:
            texts[2].unlink(missing_ok=True)
        raise
    # Without data.text, a text file of an earlier config is stale: commit_dataset removes it.
    text_file = text_path(root / cfg.data_dir / f"{cfg.name}.parquet")
    return commit_dataset(
        root,
        cfg.data_dir,
        cfg.name,
        staged,
        meta,
        remote,
        side_files={".text.parquet": texts[2]} if texts is not None else {},
        timestamp_col=TIMESTAMP,
        freq=meta.freq,
        text_path=str(text_file) if texts is not None else None,
    )


def _describe_texts(
    texts: tuple[pa.Table, list[TextSourceSummary], Path], file_name: str
) -> TextMeta:
    """Describe the staged text Parquet for meta.json (it is written as ``file_name``)."""
    table, summaries, staged = texts
    digest = sha256_file(staged)
    start = pc.min(table.column("start")).as_py()
    end = pc.max(table.column("end")).as_py()
    return TextMeta(
        file=file_name,
        rows=table.num_rows,
        start=pd.Timestamp(start).isoformat() if start is not None else "",
        end=pd.Timestamp(end).isoformat() if end is not None else "",
        content_sha256=digest,
        sources=[TextSourceMeta(**vars(s)) for s in summaries],
    )


def _ingest_task(cfg: DataConfig, root: Path, remote: str | None, task: Task) -> DatasetRef:
    # Imported here: the panel path needs sktime, which forecasting never loads.
    if cfg.rev is not None:
        raise DataError(
            f"data.rev={cfg.rev}",
            f"pinned data versions are read back for task=forecast only, not task={task}",
            "leave out data.rev (--data-rev) to ingest the source, or `git checkout` the "
            "version and `dvc checkout`",
        )
    if cfg.text is not None:
        raise DataError(
            "data.text",
            f"time-stamped text is aligned with forecast windows only, not task={task}",
            "remove data.text from this config",
        )
    require_dvc_project(root)
    if task == "classify":
        from tsalign.components.data.panel import ingest_panel

        return ingest_panel(cfg, root, remote)
    from tsalign.components.data.anomaly_ingest import ingest_anomaly

    return ingest_anomaly(cfg, root, remote)


def require_dvc_project(root: Path) -> None:
    """Refuse to ingest outside a DVC project.

    Raises:
        DataError: ``root`` has no ``.dvc`` directory, with the command that makes one.
    """
    if not (root / ".dvc").is_dir():
        raise DataError(
            str(root),
            "not a DVC project",
            "run `tsalign init` there (git + DVC project with a local remote)",
        )


def _paths(ref_or_path: DatasetRef | str | Path) -> tuple[Path, Path]:
    if isinstance(ref_or_path, DatasetRef):
        return Path(ref_or_path.path), Path(ref_or_path.meta_path)
    path = Path(ref_or_path)
    if path.suffix == ".json":
        return path.with_name(path.name.removesuffix(".meta.json") + ".parquet"), path
    return path, path.with_name(path.name.removesuffix(".parquet") + ".meta.json")


def load_frame(ref_or_path: DatasetRef | str | Path) -> pd.DataFrame:
    """The canonical frame: ``timestamp`` (datetime64[ns]) then float64 channels.

    Raises:
        DataError: the file is missing (re-run ingest or ``dvc pull``).
    """
    path, _ = _paths(ref_or_path)
    if not path.is_file():
        raise DataError(
            str(path),
            "canonical dataset file not found",
            "run `tsalign ingest` or `dvc pull` in the project",
        )
    return pq.read_table(path).to_pandas()


def load_any_meta(ref_or_path: DatasetRef | str | Path) -> BaseModel:
    """The metadata of a series, labelled panel or anomaly corpus, by its ``kind``.

    Raises:
        DataError: the file is missing (re-run ingest or ``dvc pull``).
    """
    _, path = _paths(ref_or_path)
    kind = json.loads(path.read_text()).get("kind", "series") if path.is_file() else "series"
    if kind == "panel":
        from tsalign.components.data.panel import load_panel_meta

        return load_panel_meta(path)
    if kind == "anomaly":
        from tsalign.components.data.anomaly_ingest import load_anomaly_meta

        return load_anomaly_meta(path)
    return load_meta(path)


def load_meta(ref_or_path: DatasetRef | str | Path) -> DatasetMeta:
    """The metadata written beside the canonical Parquet file.

    Raises:
        DataError: the file is missing (re-run ingest or ``dvc pull``).
    """
    _, path = _paths(ref_or_path)
    if not path.is_file():
        raise DataError(
            str(path),
            "dataset metadata not found",
            "run `tsalign ingest` or `dvc pull` in the project",
        )
    return DatasetMeta.model_validate_json(path.read_text())


def checkout_version(name: str, rev: str, project_root: Path, data_dir: str = "data") -> DatasetRef:
    """Materialise dataset ``name`` at data version ``rev`` and return a ref to it.

    The files are read through DVC (git rev via ``dvc.api``, bare md5 via the
    cache/remote) into ``.dvc/tmp/tsalign-revs/<md5>/`` — never into ``data/``,
    so the workspace version is untouched.

    Args:
        name: dataset name (``data/<name>.parquet``).
        rev: git revision or DVC md5 (see ``tsalign data versions``).
        project_root: the DVC project.
        data_dir: the tracked directory.

    Raises:
        DataError: unknown version, or the dataset is not part of it.
    """
    root = Path(project_root).resolve()
    parquet_bytes = read_file_at_rev(root, f"{name}.parquet", rev, data_dir)
    meta_bytes = read_file_at_rev(root, f"{name}.meta.json", rev, data_dir)
    kind = json.loads(meta_bytes).get("kind", "series")
    if kind != "series":
        raise DataError(
            f"{name} at {rev}",
            f"a {kind} dataset (task=classify/anomaly); pinned versions are read back for "
            "series only",
            "`git checkout` that revision and `dvc checkout` to restore it",
        )
    meta = DatasetMeta.model_validate_json(meta_bytes)
    key = meta.content_sha256[:16] or rev.replace("/", "_")
    out_dir = root / ".dvc" / "tmp" / "tsalign-revs" / key
    out_dir.mkdir(parents=True, exist_ok=True)
    parquet, meta_path = out_dir / f"{name}.parquet", out_dir / f"{name}.meta.json"
    write_bytes_atomic(parquet, parquet_bytes)
    write_bytes_atomic(meta_path, meta_bytes)
    texts = None
    if meta.text is not None:
        texts = out_dir / meta.text.file
        write_bytes_atomic(texts, read_file_at_rev(root, meta.text.file, rev, data_dir))
    md5 = rev if rev.endswith(".dir") and len(rev) == 36 else _md5_for(root, rev, data_dir)
    return DatasetRef(
        name=name,
        path=str(parquet),
        meta_path=str(meta_path),
        md5=md5,
        remote=remote_url(root),
        rows=meta.rows,
        channels=meta.channels,
        timestamp_col=TIMESTAMP,
        freq=meta.freq,
        text_path=str(texts) if texts else None,
    )


def _md5_for(root: Path, rev: str, data_dir: str) -> str:
    import subprocess

    if len(rev) == 32 and all(c in "0123456789abcdef" for c in rev):
        return rev + ".dir"
    shown = subprocess.run(
        ["git", "show", f"{rev}:{dvc_file(root, data_dir).name}"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    from tsalign.components.data.versioning import _md5_from_dvc_text

    return (_md5_from_dvc_text(shown.stdout) if shown.returncode == 0 else None) or (
        recorded_md5(root, data_dir) or ""
    )


def load_frame_at_rev(
    name: str, rev: str, project_root: Path, data_dir: str = "data"
) -> pd.DataFrame:
    """The canonical frame of ``name`` at data version ``rev`` (git rev or DVC md5).

    Raises:
        DataError: unknown version, or the dataset is not part of it.
    """
    data = read_file_at_rev(Path(project_root).resolve(), f"{name}.parquet", rev, data_dir)
    return pq.read_table(io.BytesIO(data)).to_pandas()


__all__ = [
    "checkout_version",
    "ensure_dvc_project",
    "ingest",
    "load_frame",
    "load_frame_at_rev",
    "load_meta",
]
