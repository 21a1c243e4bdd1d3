"""Chronological train/validation/test splits and the train-only z-score scaler.

Reproduces the long-horizon forecasting protocol of the reference code
(Informer / Time-Series-Library ``Dataset_ETT_hour``, ``Dataset_ETT_minute``,
``Dataset_Custom``), see ``../shared/data/ett/README.md``:

- ``ett_hour``: train rows [0, 8640), validation [8640, 11520), test [11520, 14400)
  (12/4/4 months of 30 days x 24 hours); ``ett_minute`` the same x 4 (15-minute data).
- ``ratio``: ``num_train = int(n * r_train)``, ``num_test = int(n * r_test)``,
  validation the rest (70/10/20 by default).
- Validation and test windows start ``seq_len`` rows before their split, so every
  *target* point lies inside its split and no target point is lost.
- Few-shot ``train_fraction`` (e.g. 0.1) keeps the FIRST rows of the training split:
  ``border2 = (border2 - seq_len) * percent // 100 + seq_len``; the scaler is
  still fit on the FULL training split.
- Scaler: per-channel mean / population std (StandardScaler) fit on the training
  rows only; a constant channel gets std 1 (as sklearn does).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from tsalign.components.config import ProtocolConfig
from tsalign.components.data.errors import DataError


def window_count(n: int, seq_len: int, horizon: int, stride: int = 1) -> int:
    """Number of (input, target) windows in a series of ``n`` steps.

    ``(n - seq_len - horizon) // stride + 1`` when at least one fits, else 0.
    """
    if min(seq_len, horizon, stride) < 1:
        raise ValueError(
            f"seq_len, horizon and stride must be >= 1, got {seq_len}, {horizon}, {stride}"
        )
    span = seq_len + horizon
    return 0 if n < span else (n - span) // stride + 1


_ETT_MONTH_ROWS = {"ett_hour": 30 * 24, "ett_minute": 30 * 24 * 4}


@dataclass(frozen=True)
class Borders:
    """Row ranges [start, end) of each split, *including* the seq_len look-back of val/test.

    ``scaler`` is the range the scaler is fit on (the full training split, also in few-shot).
    """

    train: tuple[int, int]
    val: tuple[int, int]
    test: tuple[int, int]
    scaler: tuple[int, int]

    def as_dict(self) -> dict[str, tuple[int, int]]:
        """``{"train": (start, end), "val": ..., "test": ...}``."""
        return {"train": self.train, "val": self.val, "test": self.test}


def split_borders(n_rows: int, cfg: ProtocolConfig) -> Borders:
    """Row borders of the train/val/test splits for a series of ``n_rows`` steps.

    Args:
        n_rows: length of the canonical series.
        cfg: uses ``split``, ``split_ratios``, ``train_fraction`` and ``window.seq_len``.

    Returns:
        The borders; val/test start ``seq_len`` rows before their first target row.

    Raises:
        DataError: the series is too short for the protocol.
    """
    seq_len = cfg.window.seq_len
    if cfg.split in _ETT_MONTH_ROWS:
        month = _ETT_MONTH_ROWS[cfg.split]
        num_train, num_val, num_test = 12 * month, 4 * month, 4 * month
        if n_rows < num_train + num_val + num_test:
            raise DataError(
                "data.split",
                f"the {cfg.split} protocol needs {num_train + num_val + num_test} rows (12/4/4 months) but the series has {n_rows}",
                "use split: ratio for this dataset",
            )
    else:
        r_train, _, r_test = cfg.split_ratios
        # Same float expressions as Dataset_Custom, so the borders match the reference exactly.
        num_train = int(n_rows * r_train)
        num_test = int(n_rows * r_test)
        num_val = n_rows - num_train - num_test
    border1s = [0, num_train - seq_len, num_train + num_val - seq_len]
    border2s = [num_train, num_train + num_val, num_train + num_val + num_test]
    if border1s[1] < 0:
        raise DataError(
            "data.window.seq_len",
            f"seq_len {seq_len} is longer than the training split ({num_train} rows)",
            "lower data.window.seq_len or supply a longer series",
        )
    train_end = border2s[0]
    if cfg.train_fraction < 1.0:
        # Reference: (border2 - seq_len) * percent // 100 + seq_len, with an integer percent.
        # Fraction(str(x)) keeps 0.1 exact, so any integer percent gives the same integer.
        train_end = int((train_end - seq_len) * Fraction(str(cfg.train_fraction))) + seq_len
    return Borders(
        train=(border1s[0], train_end),
        val=(border1s[1], border2s[1]),
        test=(border1s[2], border2s[2]),
        scaler=(border1s[0], border2s[0]),
    )


@dataclass(frozen=True)
class Splits:
    """Standardised split arrays ([T_split, C] float32) and the scaler to invert them."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    mean: np.ndarray  # [C] float64, fit on the training rows
    std: np.ndarray  # [C] float64, population std; 1.0 for constant channels
    borders: Borders

    def inverse(self, values: np.ndarray) -> np.ndarray:
        """Back to original units; ``values`` [..., C] on the standardised scale."""
        return values * self.std + self.mean

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Original units [..., C] -> standardised scale (float32)."""
        return ((values - self.mean) / self.std).astype(np.float32)

    def save(self, directory: Path) -> None:
        """Write each array as .npy (no pickle) so workers can memory-map them."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name in ("train", "val", "test", "mean", "std"):
            np.save(directory / f"{name}.npy", getattr(self, name), allow_pickle=False)
        b = self.borders
        np.save(
            directory / "borders.npy",
            np.array([*b.train, *b.val, *b.test, *b.scaler], dtype=np.int64),
            allow_pickle=False,
        )

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> Splits:
        """Read splits written by :meth:`save`; ``mmap`` maps the arrays read-only (no copy)."""
        directory = Path(directory)
        mode = "r" if mmap else None
        arrays = {
            n: np.load(directory / f"{n}.npy", mmap_mode=mode, allow_pickle=False)
            for n in ("train", "val", "test")
        }
        mean = np.load(directory / "mean.npy", allow_pickle=False)
        std = np.load(directory / "std.npy", allow_pickle=False)
        b = [int(v) for v in np.load(directory / "borders.npy", allow_pickle=False)]
        borders = Borders((b[0], b[1]), (b[2], b[3]), (b[4], b[5]), (b[6], b[7]))
        return cls(arrays["train"], arrays["val"], arrays["test"], mean, std, borders)


def fit_scaler(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and population std of ``train`` [T, C]; std 0 -> 1 (as sklearn)."""
    mean = train.mean(axis=0, dtype=np.float64)
    std = train.std(axis=0, dtype=np.float64)
    std = np.where(std == 0.0, 1.0, std)
    return mean, std


def prepare_splits(values: np.ndarray, cfg: ProtocolConfig) -> Splits:
    """Split ``values`` [T, C] chronologically and standardise with train-only statistics.

    Args:
        values: the series in original units, time along axis 0 (float).
        cfg: the protocol (split kind, ratios, train_fraction, seq_len).

    Returns:
        Splits with float32 train/val/test arrays on the standardised scale.

    Raises:
        DataError: the series is too short for the protocol, or values are not 2-D.
    """
    if values.ndim != 2:
        raise DataError(
            "values",
            f"expected a [time, channels] array, got shape {values.shape}",
            "pass frame[channels].to_numpy()",
        )
    borders = split_borders(len(values), cfg)
    mean, std = fit_scaler(values[slice(*borders.scaler)])

    def part(rng: tuple[int, int]) -> np.ndarray:
        return ((values[rng[0] : rng[1]] - mean) / std).astype(np.float32)

    return Splits(part(borders.train), part(borders.val), part(borders.test), mean, std, borders)
