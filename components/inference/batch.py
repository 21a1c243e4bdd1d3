"""Batched forecasts of evaluation windows on a device (torch only: no plotting, no Ray)."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


def predict_windows(
    model: torch.nn.Module,
    windows: Dataset,
    batch_size: int,
    device: torch.device | None = None,
) -> np.ndarray:
    """Forecast every window; returns [windows, horizon, channels] on the standardised scale.

    Args:
        model: the model (moved to ``device`` here, in its own fp32 weights).
        windows: the evaluation windows.
        batch_size: windows per forward pass.
        device: where the passes run; the CPU when None. Each batch goes to the
            device once and its forecast comes back to the host once.
    """
    device = device or torch.device("cpu")
    model.to(device).eval()
    outputs = []
    with torch.no_grad():
        for x, _, *text in DataLoader(windows, batch_size=batch_size, shuffle=False):
            # text windows also yield a fused model's text tokens and mask
            pred = model(x.to(device, non_blocking=True), *(t.to(device) for t in text))
            outputs.append(pred.float().cpu().numpy())  # one copy to the host per batch
    return np.concatenate(outputs, axis=0)
