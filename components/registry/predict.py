"""Forecast with a published model: ``forecast(registry, "my-model@champion", frame)``.

A forecaster version holds ``model/`` (a directory written by
``components.models.persistence.save_pretrained``) and ``scaler.json``
(``{"channels": [...], "mean": [...], "std": [...], "freq": "h"}``, fit on the training split).
The last ``seq_len`` rows of the input are standardised with that scaler, the model maps
``[1, seq_len, C] -> [1, horizon, C]``, and the forecast is brought back to the input's units
with the input's timestamps continued at the series' frequency.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components.registry.errors import RegistryError
from components.registry.registry import Registry

MODEL_DIR = "model"
SCALER_FILE = "scaler.json"
TIMESTAMP = "timestamp"  # the canonical timestamp column name (components.data.meta.TIMESTAMP)


class PredictError(RegistryError):
    """Input or version that cannot produce a forecast; the message says what to change."""


def _load_scaler(path: Path, ref: str) -> dict[str, Any]:
    try:
        scaler = json.loads(path.read_text())
        channels = [str(c) for c in scaler["channels"]]
        mean = np.asarray(scaler["mean"], dtype=np.float64)  # [C]
        std = np.asarray(scaler["std"], dtype=np.float64)  # [C]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise PredictError(
            f"{ref}: {SCALER_FILE} is not a scaler ({err!r}); expected "
            '{"channels": [...], "mean": [...], "std": [...]} — republish the version'
        ) from None
    if not (len(channels) == mean.shape[0] == std.shape[0]) or mean.ndim != 1:
        raise PredictError(
            f"{ref}: {SCALER_FILE} has {len(channels)} channels but {mean.shape} means and "
            f"{std.shape} stds; republish the version"
        )
    if not np.all(np.isfinite(std)) or np.any(std <= 0):
        raise PredictError(f"{ref}: {SCALER_FILE} has non-positive std; republish the version")
    return {"channels": channels, "mean": mean, "std": std, "freq": scaler.get("freq")}


def _timestamp_column(frame: pd.DataFrame, given: str | None) -> str:
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


def _history(
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


def _frequency(stamps: pd.DatetimeIndex, trained: str | None, ref: str) -> pd.DateOffset:
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


def forecast(
    registry: Registry,
    ref: str,
    frame: pd.DataFrame,
    *,
    horizon: int | None = None,
    timestamp_col: str | None = None,
    device: str = "auto",
) -> pd.DataFrame:
    """Forecast the channels of ``frame`` with a published model.

    Args:
        registry: the registry holding the model.
        ref: ``name``, ``name:VERSION`` or ``name@ALIAS``.
        frame: history with a timestamp column and (at least) the model's channels; the last
            ``seq_len`` rows are used.
        horizon: steps to forecast; the model's own horizon when None. Longer horizons roll the
            model forward on its own predictions (errors compound).
        timestamp_col: timestamp column; ``timestamp``, the only datetime column, or
            ``date``/``datetime``/``time``/``ds`` when None.
        device: ``auto`` (cuda when available), ``cpu`` or ``cuda``; the model runs there
            in its fp32 weights.

    Returns:
        A frame with the timestamp column (the input's timestamps continued at the series'
        frequency) and one column per channel, in the input's units.

    Raises:
        RefError, NotFoundError: bad reference or missing version/alias.
        IntegrityError: a stored file failed sha256 verification.
        PredictError: not a forecaster version, or input without the channels, with too few
            rows, gaps, irregular or different sampling.
        DeviceError: ``device="cuda"`` where there is no CUDA device.
    """
    import torch

    from components.device import resolve_device, torch_device
    from components.models.persistence import load_pretrained
    from components.models.spec import ModelBuildError

    if horizon is not None and horizon < 1:
        raise PredictError(f"horizon must be >= 1, got {horizon}")
    target = torch_device(resolve_device(device, "--device"))
    name, version = registry.resolve(ref)
    exact = f"{name}:{version}"
    manifest = registry.show(exact)
    needed = [SCALER_FILE, f"{MODEL_DIR}/tsalign_model.json"]
    if any(f not in manifest.files for f in needed):
        raise PredictError(
            f"{exact} is not a forecaster version: it needs {needed} but has "
            f"{sorted(manifest.files)[:8]}; publish the trained model with the pipeline"
        )
    with tempfile.TemporaryDirectory(prefix="tsalign-predict-") as tmp:
        local = registry.download(exact, Path(tmp) / "version")
        scaler = _load_scaler(local / SCALER_FILE, exact)
        try:
            model, _, spec = load_pretrained(local / MODEL_DIR)
        except ModelBuildError as err:
            raise PredictError(f"{exact}: the model cannot be loaded: {err}") from None
    if spec.task != "forecast":
        raise PredictError(f"{exact} is a {spec.task!r} model, not a forecaster")
    channels = scaler["channels"]
    if spec.n_channels != len(channels):
        raise PredictError(
            f"{exact}: model expects {spec.n_channels} channels but {SCALER_FILE} lists "
            f"{len(channels)}; republish the version"
        )
    ts_col = _timestamp_column(frame, timestamp_col)
    stamps, values = _history(frame, channels, spec.seq_len, ts_col, exact)
    offset = _frequency(stamps, scaler["freq"], exact)

    model.to(target)
    steps = horizon or spec.horizon
    window = (values - scaler["mean"]) / scaler["std"]  # [seq_len, C], standardised
    out: list[np.ndarray] = []
    produced = 0
    with torch.no_grad():
        while produced < steps:
            x = torch.from_numpy(window[-spec.seq_len :].astype(np.float32))[None].to(target)
            y = model(x)[0].float().cpu().numpy()  # [H_model, C], x: [1, L, C]
            out.append(y)
            produced += y.shape[0]
            window = np.concatenate([window, y], axis=0)
    pred = np.concatenate(out, axis=0)[:steps] * scaler["std"] + scaler["mean"]  # [steps, C]
    future = pd.date_range(stamps[-1], periods=steps + 1, freq=offset)[1:]
    result = pd.DataFrame(pred, columns=channels)
    result.insert(0, ts_col, future)
    return result
