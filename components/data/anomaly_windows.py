"""What a forecast-error anomaly detector learns from: the probationary rows only.

NAB's protocol lets a detector learn from the first 15% of each series (its
probationary period, capped at 750 rows) without labels; everything after is scored
online. Here each series is standardised with the mean and std of its own
probationary rows, and cut into (input, next values) windows that lie wholly inside
them. The last ``val_share`` of each series' probationary rows hold the validation
windows (a label-free criterion: the forecast loss there), the rest the training
windows; one model learns from every series at once.

    scalers = probation_scalers(corpus)
    train, val = probation_windows(corpus, seq_len=48, horizon=1, val_share=0.2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch.utils.data import ConcatDataset, Dataset

from tsalign.components.data.anomaly import AnomalySeries, probationary_rows
from tsalign.components.data.errors import DataError
from tsalign.components.data.windows import WindowDataset

STD_FLOOR = 1e-8
"""A flat probationary period (std 0) is scaled by 1 instead: its values are only centred."""


@dataclass(frozen=True)
class ProbationScaler:
    """Standardisation of one series, fit on its probationary rows."""

    mean: float
    std: float

    @classmethod
    def fit(cls, values: np.ndarray) -> ProbationScaler:
        """Mean and std of the probationary rows of ``values`` [rows]."""
        head = np.asarray(values, dtype=np.float64)[: max(1, probationary_rows(len(values)))]
        std = float(head.std())
        return cls(float(head.mean()), std if std > STD_FLOOR else 1.0)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """[rows] values -> [rows] float32 standardised values."""
        return ((np.asarray(values, dtype=np.float64) - self.mean) / self.std).astype(np.float32)


def probation_scalers(corpus: list[AnomalySeries]) -> dict[str, dict[str, float]]:
    """Each series' scaler as JSON (series name -> {mean, std}), written beside a checkpoint."""
    return {s.name: vars(ProbationScaler.fit(s.values)) for s in corpus}


def split_row(
    name: str, rows: int, seq_len: int, horizon: int, val_share: float
) -> tuple[int, int]:
    """(validation start, probation end) rows of the ``rows``-long series ``name``.

    Training windows end (targets included) at the validation start; validation windows
    forecast rows from there to the probation end.

    Raises:
        DataError: the probationary period holds too few rows for one training window
            and one validation window.
    """
    end = probationary_rows(rows)
    cut = end - max(horizon, round(val_share * end))
    if cut < seq_len + horizon:
        raise DataError(
            name,
            f"its probationary period ({end} of {rows} rows) is too short for a training window of "
            f"{seq_len} + {horizon} rows and a validation window",
            "lower data.window.seq_len or data.window.horizon, or drop the series "
            "(data.anomaly.series)",
        )
    return cut, end


def probation_windows(
    corpus: list[AnomalySeries], seq_len: int, horizon: int, val_share: float
) -> tuple[Dataset, Dataset]:
    """Training and validation windows of every series, standardised per series.

    Args:
        corpus: the series (their labels are never read).
        seq_len, horizon: input and target lengths of a window.
        val_share: share of each series' probationary rows whose forecasts validate.

    Returns:
        (train, val): datasets of (x [seq_len, 1], y [horizon, 1]) float32 windows;
        every window lies inside its series' probationary rows.

    Raises:
        DataError: a series too short for the windows (names it, with the fix).
    """
    train, val = [], []
    for series in corpus:
        cut, end = split_row(series.name, len(series.values), seq_len, horizon, val_share)
        scaled = ProbationScaler.fit(series.values).transform(series.values)[:, None]
        train.append(WindowDataset(scaled[:cut], seq_len, horizon))
        # Validation inputs may reach back into training rows; their targets do not.
        val.append(WindowDataset(scaled[cut - seq_len : end], seq_len, horizon))
    return ConcatDataset(train), ConcatDataset(val)
