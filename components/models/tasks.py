"""Task helpers shared by models that reconstruct windows (reconstruction-based anomaly detection).

A model built for ``task='anomaly'`` maps ``[B, L, C]`` to its reconstruction ``[B, L, C]``
and owns a ``anomaly_threshold`` buffer (NaN until calibrated), so the calibrated
threshold is saved with the weights.
"""

from __future__ import annotations

import torch
from torch import nn


def anomaly_scores(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Per-time-step reconstruction error: x [B, L, C] -> squared error averaged over C [B, L]."""
    with torch.no_grad():
        recon = model(x)
    return ((recon - x) ** 2).mean(dim=-1)


def calibrate_threshold(model: nn.Module, x_val: torch.Tensor, quantile: float) -> float:
    """Set the model's threshold to the ``quantile`` of its scores on validation windows.

    Args:
        model: An anomaly-task model (has an ``anomaly_threshold`` buffer).
        x_val: Validation windows [B, L, C], assumed mostly normal.
        quantile: e.g. 0.99 (``model.params.anomaly_quantile`` in the config).

    Returns:
        The threshold (also stored in the model).

    Raises:
        ValueError: the model was not built for the anomaly task.
    """
    if not hasattr(model, "anomaly_threshold"):
        raise ValueError("model has no anomaly_threshold: build it with ModelSpec(task='anomaly')")
    scores = anomaly_scores(model, x_val).flatten()
    threshold = torch.quantile(scores, quantile)
    model.anomaly_threshold.fill_(threshold.item())
    return float(threshold)


def detect_anomalies(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Boolean anomaly flags [B, L] for windows x [B, L, C] (score above the threshold).

    Raises:
        ValueError: the threshold has not been calibrated.
    """
    threshold = getattr(model, "anomaly_threshold", None)
    if threshold is None or torch.isnan(threshold):
        raise ValueError(
            "anomaly threshold not calibrated: call calibrate_threshold(model, x_val, q)"
        )
    return anomaly_scores(model, x) > threshold
