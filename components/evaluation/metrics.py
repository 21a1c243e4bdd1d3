"""Forecast error metrics.

All functions take arrays shaped [windows, horizon, channels] (or anything that
broadcasts the same way) and reduce over every axis unless told otherwise.
"""

from __future__ import annotations

import numpy as np


def mse(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean squared error."""
    return float(np.mean((pred - true) ** 2))


def mae(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(pred - true)))


def smape(pred: np.ndarray, true: np.ndarray) -> float:
    """Symmetric MAPE in percent (0..200); points where both are 0 count as 0 error."""
    denom = np.abs(pred) + np.abs(true)
    ratio = np.divide(
        2.0 * np.abs(pred - true), denom, out=np.zeros_like(denom, dtype=float), where=denom > 0
    )
    return float(100.0 * np.mean(ratio))


def mase_scale(train: np.ndarray, season: int) -> np.ndarray:
    """Per-channel in-sample MAE of the seasonal-naive forecast on the training series.

    Args:
        train: [T, C] training split in original units.
        season: seasonal lag m (1 gives the non-seasonal naive scale).

    Raises:
        ValueError: a training split not longer than the season.
    """
    if train.shape[0] <= season:
        raise ValueError(f"MASE needs more than {season} training points, got {train.shape[0]}")
    return np.mean(np.abs(train[season:] - train[:-season]), axis=0)


def mase(pred: np.ndarray, true: np.ndarray, scale: np.ndarray) -> float:
    """Mean absolute scaled error: MAE per channel divided by ``scale`` [C], averaged."""
    per_channel = np.mean(np.abs(pred - true), axis=tuple(range(pred.ndim - 1)))
    safe = np.where(scale > 0, scale, np.nan)
    return float(np.nanmean(per_channel / safe))


def classification_scores(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 of class labels (both [N] integer arrays)."""
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(true, pred)),
        "f1_macro": float(f1_score(true, pred, average="macro", zero_division=0)),
    }


def anomaly_scores(flags: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of anomaly flags against labels (both [N] booleans)."""
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, _ = precision_recall_fscore_support(
        truth.astype(bool), flags.astype(bool), average="binary", zero_division=0
    )
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1)}


def point_adjust(flags: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Point adjustment (Xu et al. 2018): flag a whole anomaly segment when any row of it is.

    Args:
        flags: [N] booleans, the detections.
        truth: [N] booleans, the labelled anomalous rows; each run of True is a segment.

    Returns:
        [N] booleans: ``flags`` with every segment that holds a detection fully flagged.
    """
    flags, truth = np.asarray(flags, dtype=bool), np.asarray(truth, dtype=bool)
    # Segment id per row: count of segment starts so far (rows outside: unused).
    starts = truth & ~np.concatenate(([False], truth[:-1]))
    segment = np.cumsum(starts)
    hit = np.unique(segment[truth & flags])
    return flags | (truth & np.isin(segment, hit))
