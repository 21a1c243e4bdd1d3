"""Parse a resolved source into the canonical table and validate it.

The canonical table is what every later stage reads: a ``timestamp`` column
(``timestamp[ns]``, naive; UTC when the source carried offsets) on a regular grid,
strictly increasing, followed by float64 channels (a bool flag becomes 0/1). Every
check happens here, in memory, before anything is written, and every failure is a
:class:`DataError` naming the file, the column/row and the fix.

Large files stay in Arrow/NumPy (no pandas round trip): a 10-million-row CSV is
parsed by pyarrow's multi-threaded reader and each channel is converted and
checked one at a time, dropping its Arrow column afterwards so peak memory stays
near one copy of the data.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tsalign.components.config import QUARTER_TOKENS, DataConfig
from tsalign.components.data.errors import DataError
from tsalign.components.data.meta import TIMESTAMP
from tsalign.components.data.sources import ResolvedSource
from tsalign.components.excerpt import name_list, quote

_TS_NAMES = ("timestamp", "datetime", "date_time", "time", "date", "ds", "period", "time_idx")
_ID_NAMES = ("unique_id", "series_id", "item_id", "id", "series", "channel", "variable", "key")
_VALUE_NAMES = ("value", "y", "target", "val", "observation")
_OFFSET_RE = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
_NULL_MARKERS = ("", "NA", "N/A", "NaN", "nan", "null", "NULL")


def null_values(cfg: DataConfig) -> list[str]:
    """Cell values read as missing: the usual markers plus ``data.na_values``."""
    return list(dict.fromkeys([*_NULL_MARKERS, *cfg.na_values]))


@dataclass
class Canonical:
    """The validated dataset, ready to write."""

    table: pa.Table | None  # [timestamp, *channels]; None when streamed straight to Parquet
    channels: list[str]
    targets: list[str]
    covariates: list[str]
    freq: str
    inferred: dict[str, str] = field(default_factory=dict)
    filled: dict[str, int] = field(default_factory=dict)
    timezone: str = ""
    rows: int = 0
    start_ns: int = 0  # first timestamp, ns since the epoch
    end_ns: int = 0  # last timestamp
    streamed: bool = False  # written block by block by stream_canonical


PARQUET_ROW_GROUP = 1 << 20
"""Rows per Parquet row group: large sequential reads, bounded write memory."""


def parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """The one writer configuration of canonical files (deterministic bytes).

    No pandas/Arrow schema metadata and no write time are stored, so identical
    content gives identical bytes and therefore the identical DVC md5.
    """
    # snappy without dictionaries: float channels rarely repeat, and this writes about twice
    # as fast as zstd for ~1.4x the size (benchmarks/ingest.py), keeping ingest parse-bound.
    return pq.ParquetWriter(
        path,
        schema.remove_metadata(),
        compression="snappy",
        use_dictionary=False,
        write_statistics=True,
        store_schema=False,
    )


def write_table(table: pa.Table, path: Path) -> None:
    """Write a canonical table in fixed-size row groups (same layout as streaming)."""
    with parquet_writer(path, table.schema) as writer:
        writer.write_table(table.replace_schema_metadata(None), row_group_size=PARQUET_ROW_GROUP)


def _where(src: ResolvedSource, column: str | None = None) -> str:
    text = src.label
    if src.label != str(src.path) and src.fmt:
        text = f"{src.label} ({src.path.name})" if src.path.name not in src.label else src.label
    return f"{text}, column {quote(column, 40)}" if column else text


def _row_text(src: ResolvedSource, i: int) -> str:
    # Data rows are 0-based; CSV files have a header line, so row i is on line i + 2.
    if src.row_order is not None and 0 <= i < len(src.row_order):
        i = int(src.row_order[i])
    if src.fmt == "csv":
        return f"row {i} (line {i + 2} of the file)"
    return f"row {i}"


# --------------------------------------------------------------------------- reading

_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it first (gunzip FILE)"),
    (b"BZh", "a bzip2-compressed file", "decompress it first (bunzip2 FILE)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file", "decompress it first (unxz FILE)"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file", "decompress it first (unzstd FILE)"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old Excel workbook (.xls)",
        "export the sheet as CSV (Save As > CSV UTF-8)",
    ),
    (b"PAR1", "a Parquet file", "rename it to .parquet"),
)


def check_text_file(src: ResolvedSource) -> None:
    """Refuse a ``.csv`` whose content is compressed, a spreadsheet or not UTF-8 text.

    Only the first bytes and the header line are read, so this is cheap for any size.

    Raises:
        DataError: naming what the file really is and how to get a CSV from it.
    """
    with open(src.path, "rb") as fh:
        head = fh.read(1 << 16)
    for magic, what, fix in _MAGIC:
        if head.startswith(magic):
            raise DataError(_where(src), f"this is {what}, not CSV text", fix)
    if head.startswith(b"PK\x03\x04"):
        what, fix = "a ZIP archive", "extract the CSV from it (unzip FILE)"
        if zipfile.is_zipfile(src.path):
            with zipfile.ZipFile(src.path) as archive:
                if any(n.startswith("xl/") for n in archive.namelist()):
                    what = "an Excel workbook (.xlsx)"
                    fix = "export the sheet as CSV (Save As > CSV UTF-8)"
        raise DataError(_where(src), f"this is {what}, not CSV text", fix)
    header = head.split(b"\n", 1)[0]
    try:
        header.decode("utf-8")
    except UnicodeDecodeError as err:
        if len(header) == len(head) and err.start >= len(head) - 3:
            return  # a multi-byte character cut by the 64 KiB read, not a bad byte
        raise DataError(
            _where(src),
            f"the header line is not UTF-8 text (byte 0x{header[err.start]:02x} at "
            f"column {err.start + 1})",
            "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 FILE)",
        ) from None


def read_raw(src: ResolvedSource, cfg: DataConfig) -> pa.Table:
    """Read the whole file into an Arrow table with inferred column types.

    Raises:
        DataError: empty file, unparsable CSV/Parquet, header without rows,
            a single column (usually a wrong delimiter), duplicate column names.
    """
    where = _where(src)
    if src.path.stat().st_size == 0:
        raise DataError(
            where, "the file is empty", "supply a file with a header line and data rows"
        )
    if src.fmt == "csv":
        check_text_file(src)
        _check_line_count(src, cfg)
    bad_rows: list[tuple[int | None, int, int, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        # Record the first ragged line (number is 1-based, None when not known) and go on,
        # so the error can name the line instead of Arrow's bare "Expected N columns".
        if not bad_rows:
            bad_rows.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "skip"

    try:
        if src.fmt == "csv":
            table = pacsv.read_csv(
                src.path,
                parse_options=pacsv.ParseOptions(
                    delimiter=cfg.delimiter, invalid_row_handler=on_invalid
                ),
                convert_options=pacsv.ConvertOptions(
                    strings_can_be_null=True,
                    null_values=null_values(cfg),
                    # A formatted timestamp is parsed by data.timestamp_format, never guessed.
                    column_types=(
                        {cfg.timestamp_col: pa.string()} if cfg.timestamp_format else None
                    ),
                ),
            )
        else:
            table = pq.read_table(src.path)
    except UnicodeDecodeError as err:
        raise DataError(
            where,
            f"not UTF-8 text (byte 0x{err.object[err.start]:02x})",
            "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 FILE)",
        ) from None
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as err:
        msg = str(err).strip().splitlines()[0]
        if "invalid UTF8" in msg or "invalid UTF-8" in msg:
            raise DataError(
                where,
                f"not UTF-8 text ({quote(msg, 120)[1:-1]})",
                "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 FILE)",
            ) from None
        msg = quote(msg, 200)[1:-1]
        fix = (
            f"check data.delimiter ({cfg.delimiter!r}) and that every line has the same number of fields"
            if src.fmt == "csv"
            else "re-export the file as Parquet (pandas.DataFrame.to_parquet) or use a CSV"
        )
        raise DataError(where, f"cannot parse the {src.fmt.upper()} file: {msg}", fix) from None
    if bad_rows:
        number, expected, actual, text = bad_rows[0]
        if number is None:
            number = _line_of(src, text)
        line = f"line {number}" if number else "a line"
        raise DataError(
            where,
            f"{line} has {actual} fields, the header has {expected} ({quote(text)})",
            f"check data.delimiter ({cfg.delimiter!r}) and that every line has the same number of fields",
        )
    names = table.column_names
    if src.fmt == "csv" and len(names) == 1:
        for delim, text in ((";", "';'"), ("\t", "'\\t'"), ("|", "'|'"), (",", "','")):
            if delim != cfg.delimiter and delim in names[0]:
                raise DataError(
                    where,
                    f"only one column found ({quote(names[0])}); the header looks {text}-delimited",
                    f"set data.delimiter: {text}",
                )
    if len(names) < 2:
        raise DataError(
            where,
            f"only {len(names)} column(s) found ({name_list(names)})",
            "supply a timestamp column and at least one value column",
        )
    dupes = sorted(n for n, count in Counter(names).items() if count > 1)
    if dupes:
        raise DataError(
            where, f"duplicate column names {name_list(dupes)}", "give every column a unique name"
        )
    if table.num_rows == 0:
        raise DataError(
            where,
            "the file has a header but no data rows",
            "supply at least seq_len + horizon rows of data",
        )
    return table


def _can_only_shrink(cfg: DataConfig) -> bool:
    """Without resampling or gap filling, the series has at most as many rows as the file."""
    return cfg.resample is None and cfg.missing == "refuse"


def _check_line_count(src: ResolvedSource, cfg: DataConfig) -> None:
    """Refuse a CSV with fewer data lines than one window needs, before parsing it.

    Every data row takes at least one non-blank line, so non-blank lines minus the
    header bound the row count from above. Reading stops as soon as there are enough.
    """
    if not _can_only_shrink(cfg):
        return
    need = cfg.window.seq_len + cfg.window.horizon
    lines = 0
    with open(src.path, "rb") as fh:
        for line in fh:
            lines += bool(line.strip())
            if lines > need:
                return
    if lines >= 2:  # a header without rows gets its own message from the parser
        _check_length(lines - 1, cfg, src)


def _line_of(src: ResolvedSource, text: str) -> int | None:
    """1-based line number of the first line equal to ``text`` (for ragged-row errors)."""
    with open(src.path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if line.rstrip("\r\n") == text:
                return number
    return None


# --------------------------------------------------------------------------- timestamps


def _is_temporal(t: pa.DataType) -> bool:
    return pa.types.is_timestamp(t) or pa.types.is_date(t)


def _pick_timestamp(
    table: pa.Table, cfg: DataConfig, src: ResolvedSource, inferred: dict[str, str]
) -> str:
    names = table.column_names
    if cfg.timestamp_col is not None:
        if cfg.timestamp_col not in names:
            raise DataError(
                _where(src, cfg.timestamp_col),
                f"timestamp column not found; columns are {name_list(names)}",
                "set data.timestamp_col to one of these (or remove it to infer)",
            )
        return cfg.timestamp_col
    temporal = [n for n in names if pa.types.is_timestamp(table.schema.field(n).type)]
    temporal += [n for n in names if pa.types.is_date(table.schema.field(n).type)]
    if temporal:
        inferred["timestamp_col"] = f"{temporal[0]} (first column with a timestamp/date type)"
        return temporal[0]
    by_name = [n for key in _TS_NAMES for n in names if n.strip().lower() == key]
    if by_name:
        inferred["timestamp_col"] = f"{by_name[0]} (column name)"
        return by_name[0]
    raise DataError(
        _where(src),
        f"no timestamp column found among {name_list(names)}",
        "set data.timestamp_col to the column holding the time stamps (ISO 8601 text)",
    )


def _timestamps_ns(
    col: pa.ChunkedArray,
    name: str,
    src: ResolvedSource,
    inferred: dict[str, str],
    fmt: str | None = None,
) -> tuple[np.ndarray, str]:
    """Timestamps as int64 ns since the epoch (naive; UTC if the source had offsets).

    ``fmt`` (``data.timestamp_format``) parses text timestamps; typed ones need none.
    """
    typ = col.type
    tz = ""
    if fmt is not None and not _is_temporal(typ):
        return _formatted_timestamps(col, name, src, fmt), tz
    if pa.types.is_timestamp(typ) or pa.types.is_date(typ):
        if col.null_count:
            first = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise DataError(
                _where(src, name),
                f"empty timestamp at {_row_text(src, first)}",
                "fill in or remove that row",
            )
        if pa.types.is_timestamp(typ) and typ.tz is not None:
            tz = "UTC"
            inferred["timezone"] = f"stored as naive UTC (source time zone {typ.tz})"
        try:
            ts = col.cast(pa.timestamp("ns"))  # tz-aware values are UTC underneath
        except pa.ArrowInvalid:
            raise DataError(
                _where(src, name),
                "timestamps outside 1677-09-21 .. 2262-04-11 (the nanosecond range)",
                "check the timestamp column (wrong century or unit?) and fix those rows",
            ) from None
        return ts.to_numpy().astype("datetime64[ns]").view(np.int64), tz
    # Text timestamps pyarrow could not type: mixed offsets, odd formats.
    text = pd.Series(col.to_numpy(zero_copy_only=False), dtype=object)
    nulls = text.isna().to_numpy()
    if nulls.any():
        first = int(np.flatnonzero(nulls)[0])
        raise DataError(
            _where(src, name),
            f"empty timestamp at {_row_text(src, first)}",
            "fill in or remove that row",
        )
    text = text.astype(str).str.strip()
    aware = text.str.contains(_OFFSET_RE).to_numpy()
    if aware.any() and not aware.all():
        first = int(np.flatnonzero(aware != aware[0])[0])
        kind = "with a UTC offset" if aware[first] else "without a UTC offset"
        raise DataError(
            _where(src, name),
            f"mixed time zones: {_row_text(src, first)} ({quote(text.iloc[first])}) is {kind} unlike row 0 ({quote(text.iloc[0])})",
            "write every timestamp with an offset (e.g. 2020-01-01T00:00:00Z) or none of them",
        )
    try:
        parsed = pd.to_datetime(text, format="ISO8601", utc=bool(aware.all()))
    except (ValueError, TypeError, OverflowError):
        parsed = None
    if parsed is None:
        first = _first_unparsable(text, bool(aware.all()))
        raise DataError(
            _where(src, name),
            f"cannot parse timestamp {quote(text.iloc[first])} at {_row_text(src, first)}",
            "write timestamps as ISO 8601 (2020-01-31 13:30:00) or set data.timestamp_col to the right column",
        )
    if aware.all():
        tz = "UTC"
        inferred["timezone"] = "converted to UTC from the offsets in the text timestamps"
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.to_numpy(dtype="datetime64[ns]").view(np.int64), tz


def parse_formatted(text: pd.Series, fmt: str) -> pd.Series:
    """Parse text with a strftime format (``%q``: quarter 1-4, the quarter's first day).

    Returns:
        datetime64[ns] values, NaT where a cell does not match the format.
    """
    if "%q" not in fmt:
        return pd.to_datetime(text, format=fmt, errors="coerce")
    # strftime has no quarter: build a pattern from the format and take the quarter's start.
    pattern = "".join(
        QUARTER_TOKENS.get(piece, re.escape(piece.replace("%%", "%")))
        for piece in re.split(r"(%[Yyq])", fmt)
    )
    parts = text.str.fullmatch(pattern)
    found = text.str.extract(f"^{pattern}$")
    if "yy" in found:
        yy = pd.to_numeric(found["yy"])
        year = yy + np.where(yy < 69, 2000, 1900)  # strptime's %y pivot
    else:
        year = pd.to_numeric(found["year"])
    month = (pd.to_numeric(found["quarter"]) - 1) * 3 + 1
    stamps = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": 1}), errors="coerce")
    return stamps.where(parts.fillna(False).astype(bool))


def _formatted_timestamps(
    col: pa.ChunkedArray, name: str, src: ResolvedSource, fmt: str
) -> np.ndarray:
    """Text (or integer, e.g. 20240514) timestamps parsed by ``data.timestamp_format``."""
    text = pd.Series(pc.cast(col, pa.string()).to_numpy(zero_copy_only=False), dtype=object)
    empty = np.flatnonzero(text.isna().to_numpy())
    if len(empty):
        raise DataError(
            _where(src, name),
            f"empty timestamp at {_row_text(src, int(empty[0]))}",
            "fill in or remove that row",
        )
    text = text.astype(str).str.strip()
    parsed = parse_formatted(text, fmt)
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        raise DataError(
            _where(src, name),
            f"timestamp {quote(text.iloc[i])} at {_row_text(src, i)} does not match "
            f"data.timestamp_format {fmt!r} ({len(bad)} such rows)",
            "fix data.timestamp_format (strftime codes, e.g. '%B %Y' for 'January 2024', "
            "'%Y Q%q' for '1998 Q1') or the cells",
        )
    return parsed.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _first_unparsable(text: pd.Series, utc: bool) -> int:
    """Row of the first timestamp that fails ISO 8601 parsing on its own.

    The whole-column parse fails on one bad row, a different format in some rows, or a
    date out of range; parsing each row alone (coerced) finds the first culprit.
    """
    coerced = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=utc)
    bad = np.flatnonzero(coerced.isna().to_numpy())
    if len(bad):
        return int(bad[0])
    # Every row parses alone, so the rows disagree in format: name the first that
    # differs in shape (digits -> 9) from row 0.
    shapes = text.str.replace(r"\d", "9", regex=True)
    differ = np.flatnonzero((shapes != shapes.iloc[0]).to_numpy())
    return int(differ[0]) if len(differ) else 0


# --------------------------------------------------------------------------- channels


def _channel_values(
    col: pa.ChunkedArray, name: str, src: ResolvedSource, na_values: list[str] | None = None
) -> np.ndarray:
    """A channel as a float64 array (NaN where missing: nulls and ``na_values`` cells);
    bool -> 0/1."""
    typ = col.type
    if pa.types.is_boolean(typ):
        return (
            pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        )
    if (
        pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
        or pa.types.is_decimal(typ)
        or pa.types.is_null(typ)
    ):
        return (
            pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        )
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        text = pd.Series(col.to_numpy(zero_copy_only=False), dtype=object)
        nul = np.flatnonzero(text.str.contains("\x00", regex=False).fillna(False).to_numpy(bool))
        if len(nul):
            i = int(nul[0])
            raise DataError(
                _where(src, name),
                f"NUL byte (\\x00) inside the value {quote(text.iloc[i])} at "
                f"{_row_text(src, i)} ({len(nul)} such cells)",
                "a number never contains NUL bytes: the file is corrupted or binary; "
                "re-export it as plain text",
            )
        if na_values:  # Parquet strings; a CSV reader already read these cells as nulls
            text = text.mask(text.str.strip().isin(na_values))
        lowered = text.str.strip().str.lower()
        if lowered.dropna().isin(["true", "false"]).all() and lowered.notna().any():
            return lowered.map({"true": 1.0, "false": 0.0}).to_numpy(
                dtype=np.float64, na_value=np.nan
            )
        values = pd.to_numeric(text, errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() & text.notna().to_numpy())
        if len(bad):
            i = int(bad[0])
            raise DataError(
                _where(src, name),
                f"non-numeric value {quote(text.iloc[i])} at {_row_text(src, i)} ({len(bad)} such cells)",
                "list the placeholder in data.na_values (e.g. na_values: [X]) or fix or blank "
                "those cells (missing cells follow data.missing), or leave the column out via "
                "data.targets/data.covariates",
            )
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    raise DataError(
        _where(src, name),
        f"column type {typ} cannot be a channel",
        "leave the column out by listing the channels in data.targets/data.covariates",
    )


def _select_channels(
    table: pa.Table,
    ts_col: str,
    cfg: DataConfig,
    src: ResolvedSource,
    inferred: dict[str, str],
    default_targets: list[str] | None,
    default_covs: list[str],
) -> tuple[list[str], list[str]]:
    names = [n for n in table.column_names if n != ts_col]
    declared = cfg.targets is not None or bool(cfg.covariates)
    for group, field_name in (
        (cfg.targets or [], "data.targets"),
        (cfg.covariates, "data.covariates"),
    ):
        for col in group:
            if col not in names:
                raise DataError(
                    _where(src, col),
                    f"{field_name} names a column that is not in the file; "
                    f"columns are {name_list(names)}",
                    f"fix the spelling in {field_name} or add the column to the file",
                )
    if declared:
        targets = (
            list(cfg.targets)
            if cfg.targets is not None
            else [
                n
                for n in names
                if n not in cfg.covariates and not _is_temporal(table.schema.field(n).type)
            ]
        )
        covs = list(cfg.covariates)
    elif default_targets is not None:
        targets, covs = list(default_targets), list(default_covs)
        inferred["targets"] = f"{targets} with covariates {covs} (packaged dataset defaults)"
    else:
        targets = [n for n in names if not _is_temporal(table.schema.field(n).type)]
        covs = []
        inferred["targets"] = "all value columns (data.targets not set)"
    overlap = sorted(set(targets) & set(covs))
    if overlap:
        raise DataError(
            _where(src, overlap[0]),
            "a column is both a target and a covariate",
            "list it in only one of data.targets / data.covariates",
        )
    if not targets:
        raise DataError(
            _where(src),
            f"no target channel among {name_list(names)}",
            "set data.targets to the column(s) to forecast",
        )
    keep = set(targets) | set(covs)
    ignored = [n for n in names if n not in keep]
    if ignored:
        inferred["ignored_columns"] = ", ".join(ignored) + " (not a target or covariate)"
    if TIMESTAMP in keep:
        raise DataError(
            _where(src, TIMESTAMP),
            f"a channel may not be called {TIMESTAMP!r}",
            "rename the column",
        )
    return targets, covs


def _pivot_long(
    table: pa.Table, ts_col: str, cfg: DataConfig, src: ResolvedSource, inferred: dict[str, str]
) -> pa.Table:
    names = [n for n in table.column_names if n != ts_col]
    id_col, value_col = cfg.id_col, cfg.value_col
    for col, field_name in ((id_col, "data.id_col"), (value_col, "data.value_col")):
        if col is not None and col not in names:
            raise DataError(
                _where(src, col),
                f"{field_name} is not a column; columns are {name_list(names)}",
                f"fix {field_name}",
            )
    if id_col is None:
        cands = [n for key in _ID_NAMES for n in names if n.lower() == key and n != value_col]
        cands = cands or [
            n for n in names if pa.types.is_string(table.schema.field(n).type) and n != value_col
        ]
        if not cands:
            raise DataError(
                _where(src), "long layout but no series-id column found", "set data.id_col"
            )
        id_col = cands[0]
        inferred["id_col"] = id_col
    if value_col is None:
        cands = [n for key in _VALUE_NAMES for n in names if n.lower() == key and n != id_col]
        cands = cands or [n for n in names if n != id_col]
        if len(cands) != 1 and not any(n.lower() in _VALUE_NAMES for n in names):
            raise DataError(
                _where(src),
                f"long layout but the value column is ambiguous among {name_list(cands)}",
                "set data.value_col",
            )
        value_col = cands[0]
        inferred["value_col"] = value_col
    frame = table.select([ts_col, id_col, value_col]).to_pandas()
    if frame[id_col].isna().any():
        i = int(np.flatnonzero(frame[id_col].isna().to_numpy())[0])
        raise DataError(
            _where(src, id_col),
            f"empty series id at {_row_text(src, i)}",
            "fill in or remove that row",
        )
    frame[id_col] = frame[id_col].astype(str)
    dup = frame.duplicated([ts_col, id_col]).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataError(
            _where(src, ts_col),
            f"duplicated (series, timestamp) at {_row_text(src, i)}: {quote(str(frame[id_col].iloc[i]))} at {frame[ts_col].iloc[i]}",
            "keep one value per series and timestamp (aggregate or drop duplicates)",
        )
    order = list(dict.fromkeys(frame[id_col]))  # channels in order of first appearance
    wide = frame.pivot(index=ts_col, columns=id_col, values=value_col)[order]
    wide.columns = [str(c) for c in wide.columns]
    wide = wide.reset_index()
    inferred["layout_pivot"] = (
        f"long -> wide: {len(order)} series from {id_col!r}, values from {value_col!r}"
    )
    return pa.Table.from_pandas(wide, preserve_index=False)


def _looks_long(table: pa.Table, ts_col: str) -> bool:
    rest = [table.schema.field(n) for n in table.column_names if n != ts_col]
    if len(rest) != 2:
        return False
    kinds = sorted(
        "text"
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        else "num"
        if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
        else "other"
        for f in rest
    )
    if kinds != ["num", "text"]:
        return False
    text_col = next(
        f.name for f in rest if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    )
    # A text column that is mostly numbers is a broken channel, not a series id.
    sample = pd.Series(table.column(text_col).slice(0, 1000).to_numpy(zero_copy_only=False))
    return bool(pd.to_numeric(sample, errors="coerce").isna().mean() > 0.5)


# --------------------------------------------------------------------------- grid and missing values


def _merge_duplicates(
    ts: np.ndarray, values: dict[str, np.ndarray], policy: str, src: ResolvedSource
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One row per timestamp of a sorted series: per channel, the first/last non-missing
    value or the mean of the rows sharing it (pandas groupby semantics)."""
    starts = np.flatnonzero(np.r_[True, np.diff(ts) != 0])
    group = np.cumsum(np.r_[True, np.diff(ts) != 0]) - 1
    merged = pd.DataFrame(values).groupby(group, sort=False).agg(policy)
    if src.row_order is None:
        src.row_order = np.arange(len(ts))
    src.row_order = src.row_order[starts]  # a merged row is named by its first file row
    return ts[starts], {c: merged[c].to_numpy(dtype=np.float64) for c in values}


def _freq_alias(step_ns: int) -> str:
    return pd.tseries.frequencies.to_offset(pd.Timedelta(int(step_ns), unit="ns")).freqstr


def _fill(values: np.ndarray, policy: str) -> int:
    """Fill NaNs in place; returns how many were filled. values: [T] float64."""
    missing = np.isnan(values)
    count = int(missing.sum())
    if count == 0:
        return 0
    idx = np.arange(len(values))
    valid = ~missing
    if policy == "interpolate":
        # Linear in time on the regular grid; edges take the nearest observed value.
        values[missing] = np.interp(idx[missing], idx[valid], values[valid])
    else:  # ffill; leading gaps take the first observed value (nothing to carry forward)
        last = np.where(valid, idx, -1)
        np.maximum.accumulate(last, out=last)
        first_valid = int(np.argmax(valid))
        last[last < 0] = first_valid
        values[:] = values[last]
    return count


def magnitude_limit(rows: int) -> float:
    """Largest |value| whose square, summed over ``rows`` values, stays finite in float64.

    Variances, standardisation and the squared-error loss all sum squares; beyond this
    limit they overflow to inf (the profile crashes, training "diverges").
    """
    return float(np.sqrt(np.finfo(np.float64).max / max(rows, 1)))


def _check_magnitude(arr: np.ndarray, limit: float, name: str, src: ResolvedSource) -> None:
    big = np.flatnonzero(np.abs(arr) > limit)
    if len(big):
        i = int(big[0])
        raise DataError(
            _where(src, name),
            f"value {arr[i]:.6g} at {_row_text(src, i)} is too large for float64 statistics: "
            f"squares of values beyond ±{limit:.3g} overflow over {len(arr)} rows "
            f"({len(big)} such cells)",
            "rescale the column (e.g. divide it by a power of ten and note the unit in "
            "data.units), or fix the cells if they are sentinel values",
        )


def _check_length(rows: int, cfg: DataConfig, src: ResolvedSource) -> None:
    need = cfg.window.seq_len + cfg.window.horizon
    if rows < need:
        raise DataError(
            _where(src),
            f"series too short: {rows} rows but seq_len + horizon = "
            f"{cfg.window.seq_len} + {cfg.window.horizon} = {need}",
            "supply a longer series or lower data.window.seq_len / data.window.horizon",
        )


def build_canonical(src: ResolvedSource, cfg: DataConfig) -> Canonical:
    """Read, validate and regularise a resolved source.

    Args:
        src: the local file to read (see :func:`tsalign.components.data.sources.resolve_source`).
        cfg: the data config (timestamp/targets/covariates/freq/missing/resample/max_rows,
            window sizes for the minimum length).

    Returns:
        The canonical table with channels, targets, frequency and what was inferred/filled.

    Raises:
        DataError: any validation failure, naming file, column/row and fix.
    """
    inferred: dict[str, str] = {}
    table = read_raw(src, cfg)
    if _can_only_shrink(cfg):
        # Cheap first: without resampling or gap filling the series cannot gain rows
        # (a long layout only loses them), so a short file is refused before any
        # per-column work (a 20,000-column, 3-row file used to take minutes).
        _check_length(table.num_rows, cfg, src)
    ts_col = _pick_timestamp(table, cfg, src, inferred)
    pkg = src.packaged

    layout = cfg.layout
    if layout == "auto":
        layout = "long" if (cfg.id_col or cfg.value_col or _looks_long(table, ts_col)) else "wide"
        inferred["layout"] = f"{layout} (column types)"
    if layout == "long":
        table = _pivot_long(table, ts_col, cfg, src, inferred)

    ts, tz = _timestamps_ns(table.column(ts_col), ts_col, src, inferred, cfg.timestamp_format)
    n = len(ts)
    duplicated = False
    if n >= 2:
        diffs = np.diff(ts)
        back = np.flatnonzero(diffs < 0)
        if len(back) and cfg.sort:
            order = np.argsort(ts, kind="stable")  # stable: duplicates keep their file order
            ts, table = ts[order], table.take(pa.array(order))
            src.row_order = order
            diffs = np.diff(ts)
            inferred["sorted"] = f"rows sorted by {ts_col} (data.sort)"
        elif len(back):
            i = int(back[0]) + 1
            raise DataError(
                _where(src, ts_col),
                f"timestamps are not sorted: {_row_text(src, i)} ({pd.Timestamp(ts[i])}) comes before the previous row ({pd.Timestamp(ts[i - 1])})",
                "set data.sort: true to sort the rows by timestamp, or sort the file",
            )
        same = np.flatnonzero(diffs == 0)
        duplicated = bool(len(same))
        if duplicated and cfg.duplicates == "refuse":
            i = int(same[0]) + 1
            raise DataError(
                _where(src, ts_col),
                f"duplicated timestamp {pd.Timestamp(ts[i])} at {_row_text(src, i - 1)} and {_row_text(src, i)} ({len(same)} duplicates)",
                "set data.duplicates: first, last or mean to keep one row per timestamp, or "
                "drop the duplicates from the file",
            )

    targets, covs = _select_channels(
        table,
        ts_col,
        cfg,
        src,
        inferred,
        pkg.targets if pkg else None,
        pkg.covariates if pkg else [],
    )
    keep = set(targets) | set(covs)
    channels = [n for n in table.column_names if n in keep]  # file order
    # Hold each channel once and release it after conversion, so peak memory stays near
    # one copy of the data (popping from a dict is O(1); drop_columns would copy the schema).
    pending = dict(zip(channels, table.select(channels).columns, strict=True))
    del table
    limit = magnitude_limit(n)
    values: dict[str, np.ndarray] = {}
    for name in channels:
        arr = _channel_values(pending.pop(name), name, src, cfg.na_values)
        bad = np.flatnonzero(np.isinf(arr))
        if len(bad):
            i = int(bad[0])
            raise DataError(
                _where(src, name),
                f"infinite value {arr[i]} at {_row_text(src, i)} ({len(bad)} such cells)",
                "replace ±inf by a finite value or blank it (blanks follow data.missing)",
            )
        _check_magnitude(arr, limit, name, src)
        if n and np.isnan(arr).all():
            raise DataError(
                _where(src, name),
                "every value is missing (all-NaN channel)",
                "drop the column or list only the usable channels in data.targets/data.covariates",
            )
        values[name] = arr

    if duplicated:
        ts, values = _merge_duplicates(ts, values, cfg.duplicates, src)
        inferred["duplicates"] = (
            f"{n - len(ts)} rows sharing a timestamp merged by {cfg.duplicates} (data.duplicates)"
        )
        n = len(ts)

    # ---- frequency and the regular grid
    if cfg.resample is not None:
        frame = pd.DataFrame(values, index=pd.DatetimeIndex(ts.view("datetime64[ns]")))
        try:
            frame = frame.resample(cfg.resample).agg(cfg.resample_agg)
        except (ValueError, TypeError) as err:
            raise DataError(
                "data.resample",
                f"{cfg.resample!r} is not a pandas frequency ({err})",
                "use an alias such as 30min, h, D",
            ) from None
        ts = frame.index.to_numpy(dtype="datetime64[ns]").view(np.int64)
        values = {c: frame[c].to_numpy(dtype=np.float64) for c in channels}
        inferred["resampled"] = f"onto {cfg.resample} by {cfg.resample_agg} ({n} -> {len(ts)} rows)"
        n = len(ts)
    declared = cfg.resample or cfg.freq
    if declared is not None:
        try:
            offset = pd.tseries.frequencies.to_offset(declared)
        except ValueError:
            raise DataError(
                "data.freq",
                f"{declared!r} is not a pandas frequency alias",
                "use an alias such as 30min, h, D, MS",
            ) from None
    elif n >= 2:
        head = ts[: min(n, 10_001)]
        steps, counts = np.unique(np.diff(head), return_counts=True)
        offset = None
        if len(steps) > 1:
            guess = (
                pd.infer_freq(pd.DatetimeIndex(head.view("datetime64[ns]")))
                if len(head) >= 3
                else None
            )
            if guess is not None:
                offset = pd.tseries.frequencies.to_offset(guess)
        if offset is None:
            offset = pd.tseries.frequencies.to_offset(
                pd.Timedelta(int(steps[np.argmax(counts)]), unit="ns")
            )
        inferred["freq"] = f"{offset.freqstr} (most common step between timestamps)"
    else:
        offset = pd.tseries.frequencies.to_offset(pkg.freq if pkg else "D")
    freq = offset.freqstr

    if n >= 2:
        if isinstance(offset, pd.offsets.Tick):
            step = int(pd.Timedelta(offset).value)
            rel = ts - ts[0]
            off = np.flatnonzero(rel % step)
            grid_pos = rel // step
            n_grid = int(grid_pos[-1]) + 1
        else:
            grid = (
                pd.date_range(pd.Timestamp(ts[0]), pd.Timestamp(ts[-1]), freq=offset)
                .to_numpy(dtype="datetime64[ns]")
                .view(np.int64)
            )
            grid_pos = np.searchsorted(grid, ts)
            inside = grid_pos < len(grid)
            off = np.flatnonzero(~inside | (grid[np.minimum(grid_pos, len(grid) - 1)] != ts))
            n_grid = len(grid)
        if len(off):
            i = int(off[0])
            raise DataError(
                _where(src, ts_col),
                f"irregular sampling: {_row_text(src, i)} ({pd.Timestamp(ts[i])}) is not on the {freq} grid starting at {pd.Timestamp(ts[0])} ({len(off)} such rows)",
                f"set data.resample: {freq} to aggregate onto the grid, set data.freq to the true sampling interval, or fix the timestamps",
            )
        gaps = n_grid - n
        if gaps:
            jump = np.flatnonzero(np.diff(grid_pos) > 1)
            i = int(jump[0])
            if cfg.missing == "refuse":
                raise DataError(
                    _where(src, ts_col),
                    f"{gaps} timestamps missing from the {freq} grid; the first gap follows {_row_text(src, i)} ({pd.Timestamp(ts[i])} -> {pd.Timestamp(ts[i + 1])})",
                    "set data.missing: interpolate or ffill to fill the gaps, or supply the missing rows",
                )
            # Scatter the observed rows onto the full grid; gaps become NaN for the policy below.
            full_ts = np.empty(n_grid, dtype=np.int64)
            if isinstance(offset, pd.offsets.Tick):
                full_ts[:] = ts[0] + np.arange(n_grid, dtype=np.int64) * step
            else:
                full_ts[:] = grid
            for c in channels:
                full = np.full(n_grid, np.nan)
                full[grid_pos] = values[c]
                values[c] = full
            ts, n = full_ts, n_grid
            inferred["gaps"] = f"{gaps} missing timestamps inserted on the {freq} grid"

    # ---- keep the LAST max_rows rows (most recent history)
    if cfg.max_rows is not None and n > cfg.max_rows:
        ts = ts[-cfg.max_rows :]
        values = {c: v[-cfg.max_rows :] for c, v in values.items()}
        inferred["max_rows"] = f"kept the last {cfg.max_rows} of {n} rows"
        n = cfg.max_rows

    # ---- missing values
    filled: dict[str, int] = {}
    for c in channels:
        nan = np.isnan(values[c])
        if not nan.any():
            continue
        if nan.all():
            raise DataError(
                _where(src, c),
                "every value is missing in the kept rows",
                "drop the column or raise data.max_rows",
            )
        if cfg.missing == "refuse":
            i = int(np.flatnonzero(nan)[0])
            raise DataError(
                _where(src, c),
                f"{int(nan.sum())} missing values, the first at {_row_text(src, i)}",
                "set data.missing: interpolate or ffill, or fill the cells",
            )
        values[c] = np.array(values[c], dtype=np.float64)  # own the buffer before filling in place
        filled[c] = _fill(values[c], cfg.missing)

    _check_length(n, cfg, src)

    columns = [pa.array(ts.view("datetime64[ns]"), type=pa.timestamp("ns"))]
    columns += [pa.array(values[c], type=pa.float64()) for c in channels]
    out = pa.Table.from_arrays(columns, names=[TIMESTAMP, *channels])
    return Canonical(
        out, channels, targets, covs, freq, inferred, filled, tz,
        rows=n, start_ns=int(ts[0]), end_ns=int(ts[-1]),
    )  # fmt: skip


# --------------------------------------------------------------------------- streaming fast path


class NeedsFullRead(Exception):
    """The streaming path met something only the in-memory path handles (or reports) well."""


STREAM_BLOCK_BYTES = 16 << 20  # CSV bytes parsed per block


def can_stream(src: ResolvedSource, cfg: DataConfig) -> bool:
    """Whether the source is a candidate for :func:`stream_canonical`."""
    return (
        src.packaged is None
        and cfg.layout != "long"
        and cfg.id_col is None
        and cfg.resample is None
        and cfg.max_rows is None
        and cfg.timestamp_format is None
    )


def _batches(src: ResolvedSource, cfg: DataConfig):
    if src.fmt == "csv":
        reader = pacsv.open_csv(
            src.path,
            read_options=pacsv.ReadOptions(block_size=STREAM_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(delimiter=cfg.delimiter),
            convert_options=pacsv.ConvertOptions(
                strings_can_be_null=True, null_values=null_values(cfg)
            ),
        )
        yield from reader
    else:
        yield from pq.ParquetFile(src.path).iter_batches(batch_size=PARQUET_ROW_GROUP)


def stream_canonical(src: ResolvedSource, cfg: DataConfig, out_path: Path) -> Canonical:
    """Validate and write a clean, regular wide file block by block (bounded memory).

    Only the happy path is handled here: the first anomaly (missing or
    non-numeric cells, ±inf, unsorted/duplicate/off-grid/missing timestamps, text
    timestamps, a long layout...) raises :class:`NeedsFullRead` and the caller
    reruns :func:`build_canonical`, which reports the problem precisely or applies
    the declared policy. Output bytes equal those of the in-memory path.

    Raises:
        NeedsFullRead: fall back to the in-memory path; ``out_path`` may be partial.
    """
    inferred: dict[str, str] = {}
    writer: pq.ParquetWriter | None = None
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    rows, first_ns, last_ns = 0, None, None
    step = 0
    channels: list[str] = []
    tz = ""
    peak = 0.0  # largest |value| seen, checked against magnitude_limit(rows) at the end
    if src.fmt == "csv":
        check_text_file(src)
    try:
        for batch in _batches(src, cfg):
            if batch.num_rows == 0:
                continue
            if writer is None:
                head = pa.Table.from_batches([batch])
                if src.fmt == "csv" and head.num_columns < 2:
                    raise NeedsFullRead("single column")
                ts_col = _pick_timestamp(head, cfg, src, inferred)
                ts_type = head.schema.field(ts_col).type
                if not pa.types.is_timestamp(ts_type):
                    raise NeedsFullRead("text timestamps")
                if cfg.layout == "auto":
                    if _looks_long(head, ts_col):
                        raise NeedsFullRead("long layout")
                    inferred["layout"] = "wide (column types)"
                targets, covs = _select_channels(head, ts_col, cfg, src, inferred, None, [])
                keep = set(targets) | set(covs)
                channels = [n for n in head.column_names if n in keep]
                for name in channels:
                    typ = head.schema.field(name).type
                    if not (
                        pa.types.is_floating(typ)
                        or pa.types.is_integer(typ)
                        or pa.types.is_boolean(typ)
                    ):
                        raise NeedsFullRead(f"{name} is {typ}")
                if ts_type.tz is not None:
                    tz = "UTC"
                    inferred["timezone"] = f"stored as naive UTC (source time zone {ts_type.tz})"
                ts0 = _batch_ts(batch, ts_col)
                offset = _stream_offset(cfg, ts0, inferred)
                step = int(pd.Timedelta(offset).value)
                freq = offset.freqstr
                schema = pa.schema(
                    [(TIMESTAMP, pa.timestamp("ns"))] + [(c, pa.float64()) for c in channels]
                )
                writer = parquet_writer(out_path, schema)
            ts = _batch_ts(batch, ts_col)
            if first_ns is None:
                first_ns = int(ts[0])
            prev = np.concatenate([[last_ns if last_ns is not None else ts[0] - step], ts])
            if (np.diff(prev) != step).any():
                raise NeedsFullRead("timestamps not on a gap-free grid")
            last_ns = int(ts[-1])
            cols = [pa.array(ts.view("datetime64[ns]"), type=pa.timestamp("ns"))]
            for name in channels:
                col = pc.cast(batch.column(name), pa.float64())
                if (
                    col.null_count
                    or pc.any(pc.is_nan(col)).as_py()
                    or pc.any(pc.is_inf(col)).as_py()
                ):
                    raise NeedsFullRead(f"missing/infinite values in {name}")
                peak = max(peak, pc.max(pc.abs(col)).as_py() or 0.0)
                cols.append(col)
            pending.append(pa.RecordBatch.from_arrays(cols, schema=writer.schema))
            pending_rows += batch.num_rows
            rows += batch.num_rows
            if pending_rows >= PARQUET_ROW_GROUP:
                pending, pending_rows = _flush(writer, pending, full_only=True)
        if writer is None or rows < cfg.window.seq_len + cfg.window.horizon:
            raise NeedsFullRead("empty or short")
        if peak > magnitude_limit(rows):
            raise NeedsFullRead("values too large for float64 statistics")
        _flush(writer, pending, full_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, DataError) as err:
        raise NeedsFullRead(str(err)) from None
    finally:
        if writer is not None:
            writer.close()
    return Canonical(
        None, channels, targets, covs, freq, inferred, {}, tz,
        rows=rows, start_ns=first_ns, end_ns=last_ns, streamed=True,
    )  # fmt: skip


def _batch_ts(batch: pa.RecordBatch, ts_col: str) -> np.ndarray:
    col = batch.column(ts_col)
    if col.null_count:
        raise NeedsFullRead("empty timestamp")
    return col.cast(pa.timestamp("ns")).to_numpy().astype("datetime64[ns]").view(np.int64)


def _stream_offset(cfg: DataConfig, ts: np.ndarray, inferred: dict[str, str]) -> pd.DateOffset:
    if cfg.freq is not None:
        try:
            offset = pd.tseries.frequencies.to_offset(cfg.freq)
        except ValueError:
            raise NeedsFullRead("bad freq") from None
    else:
        if len(ts) < 2:
            raise NeedsFullRead("too few rows to infer the frequency")
        head = ts[: min(len(ts), 10_001)]
        steps = np.unique(np.diff(head))
        if len(steps) > 1:
            raise NeedsFullRead("irregular head")
        offset = pd.tseries.frequencies.to_offset(pd.Timedelta(int(steps[0]), unit="ns"))
        inferred["freq"] = f"{offset.freqstr} (most common step between timestamps)"
    if not isinstance(offset, pd.offsets.Tick):
        raise NeedsFullRead("calendar frequency")
    return offset


def _flush(
    writer: pq.ParquetWriter, pending: list[pa.RecordBatch], full_only: bool
) -> tuple[list[pa.RecordBatch], int]:
    """Write pending batches as whole row groups of PARQUET_ROW_GROUP rows; keep the rest."""
    table = pa.Table.from_batches(pending, schema=writer.schema)
    full = (
        (table.num_rows // PARQUET_ROW_GROUP) * PARQUET_ROW_GROUP if full_only else table.num_rows
    )
    if full:
        writer.write_table(table.slice(0, full), row_group_size=PARQUET_ROW_GROUP)
    rest = table.slice(full)
    return rest.to_batches(), rest.num_rows
