"""Checks and reads the history a forecast starts from: timestamps, channels, sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsalign.components.inference.errors import PredictError
from tsalign.components.layout import TIMESTAMP


def timestamp_column(frame: pd.DataFrame, given: str | None) -> str:
    """The column holding the timestamps: ``given``, ``timestamp``, the only datetime one."""
    if given is not None:
        if given not in frame.columns:
            raise PredictError(
                f"input has no timestamp column {given!r}; columns: {', '.join(map(str, frame.columns))}"
            )
        return given
    if TIMESTAMP in frame.columns:
        return TIMESTAMP
    datetimes = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    if len(datetimes) == 1:
        return datetimes[0]
    for candidate in ("date", "datetime", "time", "ds"):
        if candidate in frame.columns:
            return candidate
    raise PredictError(
        f"cannot tell which input column holds the timestamps (columns: "
        f"{', '.join(map(str, frame.columns))}); name it 'timestamp' or pass --timestamp-col"
    )


def history(
    frame: pd.DataFrame, channels: list[str], seq_len: int, ts_col: str, ref: str
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Last ``seq_len`` timestamps and values ``[seq_len, C]`` in the model's channel order."""
    missing = [c for c in channels if c not in frame.columns]
    if missing:
        raise PredictError(
            f"input lacks column(s) {missing} that {ref} was trained on; it needs "
            f"{channels} (input has {[str(c) for c in frame.columns]})"
        )
    try:
        stamps = pd.to_datetime(frame[ts_col])
    except (ValueError, TypeError) as err:
        raise PredictError(
            f"input column {ts_col!r} is not parseable as timestamps: {err}"
        ) from None
    order = np.argsort(stamps.to_numpy(), kind="stable")
    stamps = pd.DatetimeIndex(stamps.to_numpy()[order])
    if stamps.has_duplicates:
        dup = stamps[stamps.duplicated()][0]
        raise PredictError(
            f"input column {ts_col!r} repeats timestamp {dup}; keep one row per time"
        )
    if len(stamps) < seq_len:
        raise PredictError(
            f"input has {len(stamps)} rows but {ref} looks back {seq_len} steps; give at least "
            f"{seq_len} rows of history"
        )
    values = frame[channels].iloc[order].iloc[-seq_len:]
    try:
        array = values.to_numpy(dtype=np.float64)
    except (ValueError, TypeError):
        bad = [c for c in channels if not pd.api.types.is_numeric_dtype(values[c])]
        raise PredictError(f"input column(s) {bad} are not numeric") from None
    if not np.all(np.isfinite(array)):
        row, col = np.argwhere(~np.isfinite(array))[0]
        raise PredictError(
            f"input column {channels[col]!r} is missing/non-finite at {stamps[-seq_len:][row]}; "
            "fill the gap before forecasting"
        )
    return stamps[-seq_len:], array


def frequency(stamps: pd.DatetimeIndex, trained: str | None, ref: str) -> pd.DateOffset:
    """The input's sampling offset, refused when irregular or not what ``ref`` was trained on."""
    inferred = pd.infer_freq(stamps) if len(stamps) >= 3 else None
    if inferred is None:
        raise PredictError(
            "the last input rows are not evenly spaced, so the forecast timestamps cannot be "
            f"continued; resample the input to {trained or 'a regular frequency'} first"
        )
    offset = pd.tseries.frequencies.to_offset(inferred)
    if trained and offset != pd.tseries.frequencies.to_offset(trained):
        raise PredictError(
            f"input is sampled every {inferred!r} but {ref} was trained on {trained!r} data; "
            f"resample the input to {trained!r}"
        )
    return offset
