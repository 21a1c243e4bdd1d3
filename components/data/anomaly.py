"""Anomaly data in NAB's format: ``timestamp,value`` series plus labelled anomaly windows.

A corpus is a data folder of CSVs (``<group>/<file>.csv``) and a windows JSON
(NAB's ``labels/combined_windows.json``) mapping each file's path relative to the
data folder to a list of ``[start, end]`` timestamp pairs. Each window's ends must be
timestamps of the series itself, as NAB requires, so a window maps to row indices.

    corpus = load_nab_corpus(Path("../shared/data/nab"))     # 58 AnomalySeries
    series = load_nab_series(data_dir, "realKnownCause/nyc_taxi.csv", windows)

Every problem raises :class:`DataError` naming the file, the window or row and the fix.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tsalign.components.data.errors import DataError
from tsalign.components.excerpt import short_repr

WINDOWS_FILE = Path("labels") / "combined_windows.json"
"""Where a NAB-layout corpus keeps its windows, relative to the corpus root."""
DATA_DIR = Path("data")
"""Where a NAB-layout corpus keeps its series, relative to the corpus root."""

PROBATION_PERCENT = 0.15
"""Share of each series that is probationary (NAB's Runner.probationaryPercent): detectors
may learn from it without labels, the scorer ignores it."""
PROBATION_CAP_ROWS = 5000
"""NAB caps the probationary period at PROBATION_PERCENT of this many rows (750)."""

Window = tuple[pd.Timestamp, pd.Timestamp]


def probationary_rows(rows: int, percent: float = PROBATION_PERCENT) -> int:
    """How many leading rows of a ``rows``-long series are probationary (NAB's rule)."""
    return int(min(math.floor(percent * rows), percent * PROBATION_CAP_ROWS))


@dataclass(frozen=True)
class AnomalySeries:
    """One univariate series with its labelled anomaly windows.

    Attributes:
        name: the path relative to the data folder (``realKnownCause/nyc_taxi.csv``),
            the key used in the windows JSON.
        timestamps: [rows] datetime64 values in file order (a few NAB files repeat a
            timestamp or step back one, e.g. at a clock change).
        values: [rows] float64 values.
        windows: [(start, end)] timestamps, sorted, inclusive, not overlapping.
        window_rows: [(start_row, end_row)] inclusive row indices of each window (the
            first row carrying each end timestamp, as NAB's scorer finds them).
    """

    name: str
    timestamps: np.ndarray
    values: np.ndarray
    windows: tuple[Window, ...]
    window_rows: tuple[tuple[int, int], ...]

    @property
    def labels(self) -> np.ndarray:
        """[rows] booleans: True for rows inside an anomaly window."""
        inside = np.zeros(len(self.values), dtype=bool)
        for start, end in self.window_rows:
            inside[start : end + 1] = True
        return inside


def read_windows(path: Path) -> dict[str, list[Window]]:
    """Read a NAB windows JSON: ``{relative_path: [[start, end], ...]}``.

    Raises:
        DataError: a missing or unparsable file, a wrong shape, an unparsable
            timestamp, a window that ends before it starts, overlapping windows.
    """
    where = str(path)
    if not path.is_file():
        raise DataError(
            where,
            "the windows file does not exist",
            "pass the path of NAB's labels/combined_windows.json or a file in the same format",
        )
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(where, f"not valid JSON ({exc})", "fix the JSON syntax") from None
    if not isinstance(raw, dict):
        raise DataError(
            where,
            "the top level is not an object",
            'write {"group/file.csv": [["start", "end"], ...], ...}',
        )
    return {name: _parse_windows(where, name, pairs) for name, pairs in raw.items()}


def _parse_windows(where: str, name: str, pairs: object) -> list[Window]:
    fix_shape = 'give each window as ["YYYY-MM-DD HH:MM:SS", "YYYY-MM-DD HH:MM:SS"]'
    if not isinstance(pairs, list):
        raise DataError(f"{where} [{name}]", "the windows are not a list", fix_shape)
    windows: list[Window] = []
    for k, pair in enumerate(pairs):
        at = f"{where} [{name}] window {k}"
        if not (isinstance(pair, list) and len(pair) == 2):
            raise DataError(at, f"expected a [start, end] pair, got {short_repr(pair)}", fix_shape)
        try:
            start, end = (pd.Timestamp(t) for t in pair)
        except (ValueError, TypeError):
            raise DataError(at, f"unparsable timestamp in {short_repr(pair)}", fix_shape) from None
        if end < start:
            raise DataError(at, f"ends ({end}) before it starts ({start})", "swap start and end")
        if windows and start <= windows[-1][1]:
            raise DataError(
                at,
                f"starts at {start}, not after the previous window's end {windows[-1][1]}",
                "sort the windows and merge overlapping ones",
            )
        windows.append((start, end))
    return windows


def read_series_csv(path: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Read one ``timestamp,value`` CSV into ([rows] datetime64, [rows] float64).

    Raises:
        DataError: a missing file or column, an unparsable timestamp or value, or an
            empty series. Timestamps may repeat or step back (a few NAB files do).
    """
    where = f"{path} [{name}]"
    if not path.is_file():
        raise DataError(
            where,
            "the series file does not exist",
            "check the name against the data folder (group/file.csv)",
        )
    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(
            where,
            f"not a readable CSV ({exc})",
            "write a UTF-8 CSV with the header 'timestamp,value'",
        ) from None
    missing = {"timestamp", "value"} - set(frame.columns)
    if missing:
        raise DataError(
            where,
            f"missing column(s) {sorted(missing)} (has {list(frame.columns)})",
            "write a header line 'timestamp,value'",
        )
    if frame.empty:
        raise DataError(where, "the series has no rows", "give at least one row")
    stamps = pd.to_datetime(frame["timestamp"], errors="coerce")
    _reject_bad_rows(
        where,
        "timestamp",
        frame["timestamp"],
        stamps.isna(),
        "write timestamps as YYYY-MM-DD HH:MM:SS",
    )
    values = pd.to_numeric(frame["value"], errors="coerce")
    bad_values = values.isna() | ~np.isfinite(values.fillna(0.0))
    _reject_bad_rows(
        where, "value", frame["value"], bad_values, "write a finite number in every row"
    )
    return stamps.to_numpy(), values.to_numpy(dtype=np.float64)


def _reject_bad_rows(where: str, column: str, raw: pd.Series, bad: pd.Series, fix: str) -> None:
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        # +2: a 1-based line number counting the header line.
        raise DataError(
            f"{where} line {row + 2}",
            f"bad {column} '{raw.iloc[row]}' ({int(bad.sum())} such rows)",
            fix,
        )


def window_rows(
    name: str, timestamps: np.ndarray, windows: list[Window]
) -> tuple[tuple[int, int], ...]:
    """Map windows to inclusive row indices; each end must be a timestamp of the series.

    A timestamp maps to the first row carrying it, as NAB's ``list.index`` does.

    Raises:
        DataError: a window end that is not a timestamp of the series, or windows whose
            rows run backwards or overlap.
    """
    stamps = pd.DatetimeIndex(timestamps)
    first_row = pd.Series(np.arange(len(stamps)), index=stamps)
    first_row = first_row[~first_row.index.duplicated(keep="first")]
    rows: list[tuple[int, int]] = []
    for k, (start, end) in enumerate(windows):
        at = f"windows [{name}] window {k}"
        missing = [t for t in (start, end) if t not in first_row.index]
        if missing:
            raise DataError(
                at,
                f"{missing[0]} is not a timestamp of the series "
                f"({stamps.min()} .. {stamps.max()}, {len(stamps)} rows)",
                "use timestamps that appear in the series, or drop windows outside it",
            )
        lo, hi = int(first_row[start]), int(first_row[end])
        if hi < lo or (rows and lo <= rows[-1][1]):
            raise DataError(
                at,
                f"rows {lo}..{hi} run backwards or overlap the previous window",
                "check the series' row order around the window and the window ends",
            )
        rows.append((lo, hi))
    return tuple(rows)


def load_nab_series(data_dir: Path, name: str, windows: dict[str, list[Window]]) -> AnomalySeries:
    """Load one series by its relative name and attach its windows.

    Raises:
        DataError: a name with no entry in ``windows``, or any problem of the CSV or its windows.
    """
    if name not in windows:
        raise DataError(
            f"windows [{name}]",
            "the file has no entry in the windows file",
            'add "' + name + '": [] (no anomalies) or its windows',
        )
    timestamps, values = read_series_csv(data_dir / name, name)
    return AnomalySeries(
        name=name,
        timestamps=timestamps,
        values=values,
        windows=tuple(windows[name]),
        window_rows=window_rows(name, timestamps, windows[name]),
    )


def load_nab_corpus(
    root: Path, names: list[str] | None = None, windows_path: Path | None = None
) -> list[AnomalySeries]:
    """Load a NAB-layout corpus (``root/data/**.csv`` + ``root/labels/combined_windows.json``).

    Args:
        root: the corpus root.
        names: relative names to load; None loads every file listed in the windows file.
        windows_path: another windows file; defaults to ``root/labels/combined_windows.json``.

    Returns:
        The series in the order of ``names`` (or sorted by name).

    Raises:
        DataError: an unknown name, a CSV under ``data/`` without windows, or any problem
            of a series or its windows.
    """
    data_dir = root / DATA_DIR
    windows = read_windows(windows_path or root / WINDOWS_FILE)
    on_disk = sorted(p.relative_to(data_dir).as_posix() for p in data_dir.glob("**/*.csv"))
    unlabelled = sorted(set(on_disk) - set(windows))
    if names is None:
        if unlabelled:
            raise DataError(
                str(windows_path or root / WINDOWS_FILE),
                f"no windows for {unlabelled[:3]} ({len(unlabelled)} files)",
                'add "<file>": [] for files without anomalies',
            )
        names = sorted(windows)
    unknown = [n for n in names if n not in windows]
    if unknown:
        raise DataError(
            str(root),
            f"unknown file(s) {unknown[:3]}",
            f"use names listed in the windows file, e.g. {sorted(windows)[:2]}",
        )
    return [load_nab_series(data_dir, name, windows) for name in names]
