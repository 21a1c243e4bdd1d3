"""A forecast-error anomaly detector: per-row anomaly scores in [0, 1], computed causally.

The model is a one-model-for-the-corpus forecaster trained on the probationary rows
(``components.data.anomaly_windows``). A series is scored online, as NAB runs a detector:

1. it is standardised with the mean and std of its own probationary rows;
2. row t's forecast error is ``|x_t - f(x_{t-L} .. x_{t-1})|`` (the first forecast step);
3. the error becomes an anomaly likelihood as Numenta's HTM detector does (Ahmad et al.
   2017, ``anomaly_likelihood.py``): the mean of the last ``short_window`` errors is
   compared with a Gaussian fit to that mean over the previous ``history_window`` rows;
   the score is the log upper-tail probability, ``log(tail + 1e-10) / log(1e-10)``.

Row t's score uses rows 0..t only; no label is read. Rows before the first full input
window score 0 (they lie in the probationary period NAB does not score).

A detector directory (an exported run once evaluated, or a registry version) holds
``model/`` and ``detector.json`` (:class:`DetectorSettings`: the scoring settings and the
thresholds evaluation tuned per NAB profile)::

    detector = Detector.load(directory)
    frame = detector.detect(pd.read_csv("nyc_taxi.csv"))  # timestamp, value, anomaly_score, anomaly
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import norm

from tsalign.components.data.anomaly import PROBATION_PERCENT, probationary_rows
from tsalign.components.data.anomaly_windows import ProbationScaler
from tsalign.components.device import resolve_device, torch_device
from tsalign.components.inference.errors import PredictError
from tsalign.components.layout import MODEL_DIR
from tsalign.components.models.persistence import load_pretrained
from tsalign.components.models.spec import ModelBuildError, ModelSpec

DETECTOR_FILE = "detector.json"
"""Beside ``model/``: the scoring settings and tuned thresholds of a detector."""
SHORT_WINDOW = 10
"""Errors averaged into the recent error (HTM anomaly likelihood's averagingWindow)."""
HISTORY_WINDOW = 8640
"""Rows whose recent errors the Gaussian is fit to (HTM's historicWindowSize)."""
MIN_HISTORY = 20
"""Rows of error history before a row can score above 0."""
LOG_FLOOR = 1e-10
"""HTM's log-likelihood floor: a score of 1 means a tail probability of 1e-10 or less."""
STD_FLOOR = 1e-6
"""Smallest error spread the Gaussian may have (a perfectly predicted flat stretch)."""


class DetectorSettings(BaseModel):
    """How a detector scores and flags rows (``detector.json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    probation_percent: float = PROBATION_PERCENT
    short_window: int = Field(SHORT_WINDOW, ge=1)
    history_window: int = Field(HISTORY_WINDOW, ge=2)
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="NAB profile -> the score threshold tuned over the evaluation corpus.",
    )
    profile: str = Field("standard", description="The profile whose threshold flags rows.")

    @property
    def threshold(self) -> float:
        """The threshold of :attr:`profile` (a row is flagged when its score >= it).

        Raises:
            PredictError: the detector was never evaluated (no tuned threshold), or it was
                and ``profile`` is not one of its profiles.
        """
        if not self.thresholds:
            raise PredictError(
                f"the detector has no tuned threshold for profile {self.profile!r}; evaluate "
                "it (`tsalign evaluate`) before publishing"
            )
        if self.profile not in self.thresholds:
            raise PredictError(
                f"--profile {self.profile!r} is not a profile this detector was tuned for; "
                f"choose one of {', '.join(sorted(self.thresholds))}"
            )
        return self.thresholds[self.profile]

    def flagging(self, profile: str | None) -> DetectorSettings:
        """These settings, flagging at ``profile``'s threshold (unchanged when None)."""
        return self if profile is None else self.model_copy(update={"profile": profile})


def forecast_errors(
    model: torch.nn.Module,
    scaled: np.ndarray,
    seq_len: int,
    batch_size: int = 512,
    device: torch.device | None = None,
) -> np.ndarray:
    """Absolute one-step forecast errors of a standardised series.

    Args:
        model: maps [B, seq_len, 1] to [B, horizon, 1].
        scaled: [rows] standardised values.
        seq_len: the model's input length L.
        batch_size: windows per forward pass.
        device: where the passes run; the CPU when None.

    Returns:
        [rows] errors on the standardised scale; NaN for the first L rows.
    """
    device = device or torch.device("cpu")
    model.to(device).eval()
    scaled = np.asarray(scaled, dtype=np.float32)
    errors = np.full(scaled.size, np.nan)
    if scaled.size <= seq_len:
        return errors
    # Window k holds rows k .. k+L-1 and forecasts row k+L.
    windows = np.lib.stride_tricks.sliding_window_view(scaled, seq_len)[:-1]
    preds = []
    with torch.no_grad():
        for start in range(0, len(windows), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(windows[start : start + batch_size]))
            preds.append(model(x[..., None].to(device))[:, 0, 0].float().cpu().numpy())
    errors[seq_len:] = np.abs(np.concatenate(preds) - scaled[seq_len:])
    return errors


def likelihood_scores(
    errors: np.ndarray, short_window: int = SHORT_WINDOW, history_window: int = HISTORY_WINDOW
) -> np.ndarray:
    """HTM-style anomaly likelihood of each row's recent error, as a score in [0, 1].

    Args:
        errors: [rows] forecast errors, NaN where there is none yet.
        short_window: errors averaged into the recent error.
        history_window: earlier rows the Gaussian of recent errors is fit to.

    Returns:
        [rows] scores; 0 until MIN_HISTORY recent errors precede the row.
    """
    recent = pd.Series(errors).rolling(short_window, min_periods=1).mean()
    past = recent.shift(1).rolling(history_window, min_periods=MIN_HISTORY)
    z = ((recent - past.mean()) / past.std(ddof=0).clip(lower=STD_FLOOR)).to_numpy()
    known = np.isfinite(z)  # rows with an error and enough history before them
    log_tail = np.zeros(z.size)  # log(1): no evidence, score 0
    log_tail[known] = np.logaddexp(norm.logsf(z[known]), math.log(LOG_FLOOR))
    # + 0.0 turns the -0.0 of 0 / log(LOG_FLOOR) into 0.0, which a CSV writes as 0.0.
    return np.clip(log_tail / math.log(LOG_FLOOR), 0.0, 1.0) + 0.0


def score_series(
    model: torch.nn.Module,
    spec: ModelSpec,
    values: np.ndarray,
    settings: DetectorSettings,
    batch_size: int = 512,
    device: torch.device | None = None,
) -> np.ndarray:
    """[rows] anomaly scores in [0, 1] of one raw series (see the module docstring)."""
    scaled = ProbationScaler.fit(values).transform(values)
    errors = forecast_errors(model, scaled, spec.seq_len, batch_size, device)
    return likelihood_scores(errors, settings.short_window, settings.history_window)


def minimum_rows(spec: ModelSpec) -> int:
    """Fewest rows a series needs: a probationary period longer than one input window."""
    rows = spec.seq_len + 2
    while probationary_rows(rows) < 2:
        rows += 1
    return rows


@dataclass
class Detector:
    """A loaded detector: the forecaster, its spec and its settings, on a device."""

    model: torch.nn.Module
    spec: ModelSpec
    settings: DetectorSettings
    device: torch.device
    label: str

    @classmethod
    def load(cls, directory: Path, *, device: str = "auto", label: str | None = None) -> Detector:
        """Load a detector directory (``model/`` + ``detector.json``) onto ``device``.

        Raises:
            PredictError: not a detector directory, or a model that cannot be loaded.
            DeviceError: ``device="cuda"`` where there is no CUDA device.
        """
        label = label or str(directory)
        settings_path = Path(directory) / DETECTOR_FILE
        if not settings_path.is_file():
            raise PredictError(
                f"{label} is not an anomaly detector: it has no {DETECTOR_FILE}; publish a "
                "task: anomaly run with the pipeline"
            )
        try:
            settings = DetectorSettings.model_validate_json(settings_path.read_text())
        except ValueError as err:
            raise PredictError(f"{label}: {DETECTOR_FILE} is not valid ({err})") from None
        try:
            model, _, spec = load_pretrained(Path(directory) / MODEL_DIR)
        except ModelBuildError as err:
            raise PredictError(f"{label}: the model cannot be loaded: {err}") from None
        if spec.task != "anomaly":
            raise PredictError(f"{label} is a {spec.task!r} model, not an anomaly detector")
        target = torch_device(resolve_device(device, "--device"))
        return cls(model.to(target).eval(), spec, settings, target, label)

    def detect(
        self, frame: pd.DataFrame, *, value_col: str = "value", source: str = "input"
    ) -> pd.DataFrame:
        """Score every row of ``frame`` and flag those at or above the tuned threshold.

        Args:
            frame: one series in row order with a numeric ``value_col`` (other columns,
                e.g. the timestamp, are kept).
            value_col: the column to score.
            source: how errors name the input (its file name).

        Returns:
            ``frame`` with ``anomaly_score`` (in [0, 1]) and ``anomaly`` (bool) appended.

        Raises:
            PredictError: no such column, non-numeric or missing values, or too few rows.
        """
        threshold = self.settings.threshold
        values = series_values(frame, value_col, source, minimum_rows(self.spec))
        scores = score_series(self.model, self.spec, values, self.settings, device=self.device)
        out = frame.copy()
        out["anomaly_score"] = scores
        out["anomaly"] = scores >= threshold
        return out


def read_series_file(path: Path) -> pd.DataFrame:
    """Read a series to score from a CSV or Parquet file (NAB's ``timestamp,value`` CSV).

    Raises:
        PredictError: a missing, empty or unreadable file, naming it and the fix.
    """
    if not path.is_file():
        raise PredictError(f"--input {path}: file not found")
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise PredictError(
            f"--input {path}: the file is empty; give a CSV with a header line "
            "(e.g. 'timestamp,value') and one row per time step"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as err:
        raise PredictError(f"--input {path}: not a readable CSV or Parquet file ({err})") from None
    return frame


def series_values(frame: pd.DataFrame, value_col: str, source: str, min_rows: int) -> np.ndarray:
    """The finite float values of ``frame[value_col]``.

    Raises:
        PredictError: naming the source, the column or the first bad row and the fix.
    """
    if value_col not in frame.columns:
        raise PredictError(
            f"{source}: no column {value_col!r} to score (columns: "
            f"{', '.join(map(str, frame.columns)) or 'none'}); name the series column "
            f"{value_col!r}"
        )
    if len(frame) < min_rows:
        raise PredictError(
            f"{source}: {len(frame)} rows; the detector needs at least {min_rows} (its "
            "input window plus a probationary period to scale the series on)"
        )
    values = pd.to_numeric(frame[value_col], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise PredictError(
            f"{source}: row {row + 1} of column {value_col!r} is {frame[value_col].iloc[row]!r}, "
            f"not a finite number ({int(bad.sum())} such rows); fill or drop them"
        )
    return values
