"""Evaluation plots: forecasts against actuals, error by horizon step, loss curves."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt
import numpy as np

EXAMPLE_WINDOWS = 3


def write_plots(
    preds: Mapping[str, np.ndarray],
    true: np.ndarray,
    channels: list[str],
    curves: Mapping[str, Mapping[str, list[float]]],
    out_dir: Path,
) -> list[Path]:
    """Write forecast_vs_actual.png, error_by_horizon.png and (when given) curves.png.

    Args:
        preds: model name -> [windows, horizon, channels] on the standardised scale.
        true: [windows, horizon, channels].
        channels: channel names; the first is drawn in the example windows.
        curves: model name -> {"train_loss": [...], "val_loss": [...]} per epoch.
        out_dir: created if missing.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [
        _forecasts(preds, true, channels[0], out_dir / "forecast_vs_actual.png"),
        _error_by_step(preds, true, out_dir / "error_by_horizon.png"),
    ]
    if any(c.get("val_loss") for c in curves.values()):
        paths.append(_curves(curves, out_dir / "curves.png"))
    return paths


def _forecasts(preds: Mapping[str, np.ndarray], true: np.ndarray, channel: str, path: Path) -> Path:
    picks = np.linspace(0, len(true) - 1, EXAMPLE_WINDOWS).round().astype(int)
    fig, axes = plt.subplots(1, len(picks), figsize=(5 * len(picks), 3.2), squeeze=False)
    for ax, w in zip(axes[0], picks, strict=True):
        ax.plot(true[w, :, 0], color="black", lw=2, label="actual")
        for name, pred in preds.items():
            ax.plot(pred[w, :, 0], lw=1, label=name)
        ax.set_title(f"{channel}, test window {w}")
        ax.set_xlabel("horizon step")
    axes[0][0].set_ylabel("standardised value")
    axes[0][-1].legend(fontsize=7)
    return _save(fig, path)


def _error_by_step(preds: Mapping[str, np.ndarray], true: np.ndarray, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, pred in preds.items():
        ax.plot(np.arange(1, true.shape[1] + 1), ((pred - true) ** 2).mean(axis=(0, 2)), label=name)
    ax.set_xlabel("horizon step")
    ax.set_ylabel("MSE (standardised)")
    ax.legend(fontsize=7)
    return _save(fig, path)


def _curves(curves: Mapping[str, Mapping[str, list[float]]], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, c in curves.items():
        for key, style in (("train_loss", "--"), ("val_loss", "-")):
            if c.get(key):
                ax.plot(np.arange(1, len(c[key]) + 1), c[key], style, label=f"{name} {key}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (standardised)")
    ax.legend(fontsize=7)
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
