"""Time-stamped text sources (``data.text``) -> one canonical text Parquet beside the series.

Each source row has a start time, an end time and one or more text columns (Time-MMD's
report and search files: ``start_date, end_date, fact, preds``). Every source is read
through the same source registry as the series (local path, ``s3://``, ``https://`` with a
sha256 pin, packaged ``time_mmd_<domain>_report|search``), validated, and written as
``data/<name>.text.parquet`` in the long form below, so the same ``dvc add`` versions
numbers and text under one md5:

    source (str) | start (timestamp[ns]) | end (timestamp[ns]) | field (str) | text (str)

One row per non-empty text cell, sorted by end time (then start, source order, column
order), so later stages can take "every text that ended before t" with one search.
Every failure is a :class:`DataError` naming the file, row and column and the fix.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tsalign.components.config import DataConfig, TextSourceConfig
from tsalign.components.data.canonical import check_text_file, parse_formatted, write_table
from tsalign.components.data.errors import DataError
from tsalign.components.data.packaged import packaged_names
from tsalign.components.data.sources import ResolvedSource, source_for
from tsalign.components.excerpt import name_list, quote
from tsalign.components.storage import sha256_file

TEXT_SUFFIX = ".text.parquet"
TEXT_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("start", pa.timestamp("ns")),
        ("end", pa.timestamp("ns")),
        ("field", pa.string()),
        ("text", pa.string()),
    ]
)


@dataclass
class TextSourceSummary:
    """What one source contributed (written to meta.json)."""

    source: str
    rows: int  # rows in the file
    texts: int  # non-empty text cells kept
    dropped_empty: int  # rows without any text, dropped under empty: drop
    text_cols: list[str]
    sha256: str


def text_path(parquet: Path | str) -> Path:
    """The text file beside a canonical series file: ``data/<name>.text.parquet``."""
    path = Path(parquet)
    return path.with_name(path.name.removesuffix(".parquet") + TEXT_SUFFIX)


def source_config(data: DataConfig, text: TextSourceConfig) -> DataConfig:
    """The data config a text source is opened with: the series' cache_dir and allowed
    roots, the text source's location and pins (so the source registry is reused as is)."""
    return data.model_copy(
        update={
            "source": text.source,
            "sha256": text.sha256,
            "endpoint_url": text.endpoint_url,
            "local_copy": text.local_copy,
            "delimiter": text.delimiter,
        }
    )


def text_fingerprints(data: DataConfig, project_root: Path) -> list[dict[str, Any]] | None:
    """Content identity of every text source (for the ingest cache key); None if unknown."""
    if data.text is None:
        return []
    prints = []
    for text in data.text.sources:
        try:
            found = source_for(source_config(data, text), project_root).fingerprint()
        except DataError:
            return None
        if found is None:
            return None
        prints.append(found)
    return prints


def _row(i: int, frame: pd.DataFrame, col: str) -> str:
    value = frame[col].iloc[i] if col in frame.columns else None
    shown = f", {col} {quote(str(value), 40)}" if value is not None and str(value) else ""
    return f"row {i} (0-based data row{shown})"


def _read_frame(src: ResolvedSource, text: TextSourceConfig) -> pd.DataFrame:
    """The file as a frame of strings (CSV) or as stored (Parquet)."""
    where = src.label
    if src.path.stat().st_size == 0:
        raise DataError(where, "the file is empty", "supply a header line and text rows")
    if src.fmt == "parquet":
        try:
            return pq.read_table(src.path).to_pandas()
        except (pa.ArrowInvalid, OSError) as err:
            raise DataError(
                where,
                f"cannot read the Parquet file ({quote(str(err), 160)[1:-1]})",
                "re-export it as Parquet (pandas.DataFrame.to_parquet) or use a CSV",
            ) from None
    check_text_file(src)
    raw = src.path.read_bytes()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise DataError(
            where,
            f"not UTF-8 text: byte 0x{raw[err.start]:02x} on line {line}",
            "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 FILE)",
        ) from None
    try:
        return pd.read_csv(
            io.StringIO(content), dtype=str, keep_default_na=False, sep=text.delimiter
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(
            where,
            f"cannot parse the CSV file ({quote(str(err).strip(), 160)[1:-1]})",
            f"check delimiter ({text.delimiter!r}) and the quoting of multi-line texts",
        ) from None


def _times(
    frame: pd.DataFrame, col: str, text: TextSourceConfig, where: str, field_name: str
) -> np.ndarray:
    """One time column as datetime64[ns] (naive UTC when the source has offsets)."""
    if col not in frame.columns:
        raise DataError(
            f"{where}, column {quote(col, 40)}",
            f"no timestamps: the column is not in the file; columns are "
            f"{name_list(list(frame.columns))}",
            f"set {field_name} to the column holding the times",
        )
    values = frame[col]
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
        if getattr(values.dt, "tz", None) is not None:
            parsed = values.dt.tz_convert("UTC").dt.tz_localize(None)
        cells = values.astype(str)
    else:
        cells = values.astype(str).str.strip()
        blank = (cells == "") | values.isna()
        if blank.any():
            i = int(np.flatnonzero(blank.to_numpy())[0])
            raise DataError(
                f"{where}, column {quote(col, 40)}",
                f"no timestamp at {_row(i, frame, col)}",
                "fill in the time or remove the row",
            )
        if text.timestamp_format:
            parsed = parse_formatted(cells, text.timestamp_format)
        else:
            parsed = pd.to_datetime(cells, format="ISO8601", errors="coerce", utc=True)
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        how = (
            f"text.sources[].timestamp_format {text.timestamp_format!r}"
            if text.timestamp_format
            else "ISO 8601 (2020-01-31)"
        )
        raise DataError(
            f"{where}, column {quote(col, 40)}",
            f"cannot parse timestamp {quote(str(cells.iloc[i]), 60)} at {_row(i, frame, col)} "
            f"as {how} ({len(bad)} such rows)",
            "fix the cell, or set timestamp_format on this text source (strftime codes)",
        )
    return parsed.to_numpy(dtype="datetime64[ns]")


def _text_columns(frame: pd.DataFrame, text: TextSourceConfig, where: str) -> list[str]:
    times = {text.start_col, text.end_col}
    if text.text_cols is not None:
        missing = [c for c in text.text_cols if c not in frame.columns]
        if missing:
            raise DataError(
                f"{where}, column {quote(missing[0], 40)}",
                f"text_cols names a column that is not in the file; columns are "
                f"{name_list(list(frame.columns))}",
                "fix the spelling in text_cols",
            )
        columns = list(text.text_cols)
    else:
        # Text columns: not a time, not an unnamed index column, not all numbers.
        columns = [
            c
            for c in frame.columns
            if c not in times
            and not (c == "" or str(c).startswith("Unnamed: "))
            and not pd.to_numeric(frame[c], errors="coerce").notna().all()
        ]
        if not columns:
            raise DataError(
                where,
                f"no text column among {name_list(list(frame.columns))}",
                "set text_cols to the column(s) holding the text",
            )
    for col in columns:
        if not (
            pd.api.types.is_string_dtype(frame[col]) or pd.api.types.is_object_dtype(frame[col])
        ):
            raise DataError(
                f"{where}, column {quote(col, 40)}",
                f"a text column must hold text, not {frame[col].dtype}",
                "list only text columns in text_cols",
            )
    return columns


def read_text_source(
    text: TextSourceConfig, data: DataConfig, project_root: Path
) -> tuple[pd.DataFrame, TextSourceSummary]:
    """Read and validate one text source into the long form of :data:`TEXT_SCHEMA`.

    Raises:
        DataError: unreadable/non-UTF-8 file, no or unparsable timestamps, an end before
            its start, a row without text (unless ``empty: drop``), a missing column.
    """
    where = text.source
    with source_for(source_config(data, text), project_root).open() as src:
        if src.packaged is not None and src.packaged.kind != "text":
            raise DataError(
                where,
                "this packaged name is a numeric series, not a text source",
                f"use one of {', '.join(packaged_names('text'))}",
            )
        frame = _read_frame(src, text)
        sha = src.sha256 or sha256_file(src.path)
    if frame.empty:
        raise DataError(where, "the file has a header but no rows", "supply text rows")
    start = _times(frame, text.start_col, text, where, "start_col")
    end = (
        _times(frame, text.end_col, text, where, "end_col")
        if text.end_col is not None
        else start.copy()
    )
    backwards = np.flatnonzero(end < start)
    if len(backwards):
        i = int(backwards[0])
        raise DataError(
            f"{where}, column {quote(text.end_col or '', 40)}",
            f"end before start at {_row(i, frame, text.start_col)}: ends "
            f"{pd.Timestamp(end[i])}, starts {pd.Timestamp(start[i])} ({len(backwards)} such rows)",
            "swap or fix the times (start_col and end_col may be the wrong way round)",
        )
    columns = _text_columns(frame, text, where)
    cells = {}
    for col in columns:
        values = frame[col].astype("string").str.strip()
        cells[col] = values.mask(values.isin(text.na_values) | (values == ""))
    has_text = pd.DataFrame(cells).notna().any(axis=1).to_numpy()
    empty_rows = np.flatnonzero(~has_text)
    if len(empty_rows) and text.empty == "refuse":
        i = int(empty_rows[0])
        raise DataError(
            f"{where}, column {quote(columns[0], 40)}",
            f"empty text at {_row(i, frame, text.start_col)}: no text in "
            f"{name_list(columns)} ({len(empty_rows)} such rows)",
            "fill in the text, remove the rows, or set empty: drop on this text source",
        )
    parts = [
        pd.DataFrame(
            {
                "source": text.source,
                "start": start,
                "end": end,
                "field": col,
                "text": cells[col],
                "_row": np.arange(len(frame)),
                "_col": k,
            }
        ).dropna(subset=["text"])
        for k, col in enumerate(columns)
    ]
    long = pd.concat(parts, ignore_index=True)
    summary = TextSourceSummary(
        source=text.source,
        rows=len(frame),
        texts=len(long),
        dropped_empty=len(empty_rows),
        text_cols=columns,
        sha256=sha,
    )
    return long, summary


def build_texts(data: DataConfig, project_root: Path) -> tuple[pa.Table, list[TextSourceSummary]]:
    """Every ``data.text`` source validated and merged into one canonical text table.

    Raises:
        DataError: from :func:`read_text_source`; nothing is written.
    """
    assert data.text is not None
    frames, summaries = [], []
    for k, text in enumerate(data.text.sources):
        long, summary = read_text_source(text, data, project_root)
        frames.append(long.assign(_source=k))
        summaries.append(summary)
    merged = pd.concat(frames, ignore_index=True)
    merged = merged.sort_values(["end", "start", "_source", "_row", "_col"], kind="stable")
    table = pa.Table.from_pandas(
        merged[TEXT_SCHEMA.names].astype({"text": object}), schema=TEXT_SCHEMA, preserve_index=False
    )
    return table, summaries


def stage_texts(
    data: DataConfig, project_root: Path, tmp_dir: Path
) -> tuple[pa.Table, list[TextSourceSummary], Path] | None:
    """Validate ``data.text`` and write its canonical Parquet to a temp file in ``tmp_dir``.

    Returns:
        (table, per-source summaries, staged path), or None when ``data.text`` is unset.

    Raises:
        DataError: a source failed validation (no staged file is left behind).
    """
    if data.text is None:
        return None
    table, summaries = build_texts(data, project_root)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix=f".{data.name}.text.", suffix=".parquet")
    os.close(fd)
    staged = Path(name)
    try:
        write_table(table, staged)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return table, summaries, staged


def load_texts(ref_or_path: Any) -> pd.DataFrame | None:
    """The text table beside a canonical series file (a DatasetRef or the series path),
    or None when the dataset has no text."""
    series = getattr(ref_or_path, "path", ref_or_path)
    path = text_path(series)
    if not path.is_file():
        return None
    return pq.read_table(path).to_pandas()


__all__ = [
    "TEXT_SCHEMA",
    "TextSourceSummary",
    "build_texts",
    "load_texts",
    "read_text_source",
    "stage_texts",
    "text_fingerprints",
    "text_path",
]
