"""Run the trained candidate and the baselines on the same test windows.

Every model sees exactly the same windows of the test split (all of them, no
drop_last), inputs and targets on the standardised scale; metrics are
reported on that scale (the papers' convention) and in original units.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from components.config import DataConfig, EvalConfig, ModelConfig
from components.data import window_count
from components.data.protocol import Protocol, load_protocol
from components.data.windows import WindowDataset
from components.evaluation import metrics as M
from components.models import ModelSpec, build_model, load_pretrained
from components.refs import EvalReport


class EvaluationError(RuntimeError):
    """The evaluation cannot be run as configured; the message says what to change."""


def predict_windows(model: torch.nn.Module, windows: WindowDataset, batch_size: int) -> np.ndarray:
    """Forecast every window; returns [windows, horizon, channels] on the standardised scale."""
    model.eval()
    outputs = []
    with torch.no_grad():
        for x, _ in DataLoader(windows, batch_size=batch_size, shuffle=False):
            outputs.append(model(x).float().cpu().numpy())
    return np.concatenate(outputs, axis=0)


def targets_of(windows: WindowDataset, batch_size: int) -> np.ndarray:
    """The true futures of every window: [windows, horizon, channels]."""
    return np.concatenate(
        [y.numpy() for _, y in DataLoader(windows, batch_size=batch_size)], axis=0
    )


def score(pred: np.ndarray, true: np.ndarray, proto: Protocol, season: int) -> dict[str, float]:
    """Standardised MSE/MAE plus original-scale MAE, sMAPE and MASE."""
    pred_orig, true_orig = proto.inverse(pred), proto.inverse(true)
    scale = M.mase_scale(proto.inverse(proto.train), season)
    return {
        "mse": M.mse(pred, true),
        "mae": M.mae(pred, true),
        "mae_orig": M.mae(pred_orig, true_orig),
        "smape": M.smape(pred_orig, true_orig),
        "mase": M.mase(pred_orig, true_orig, scale),
    }


def evaluate(
    dataset_path: str,
    data_cfg: DataConfig,
    eval_cfg: EvalConfig,
    candidate_dir: str,
    season: int | None,
    out_dir: Path,
) -> EvalReport:
    """Score the trained candidate and ``eval_cfg.baselines`` on the test split.

    Args:
        dataset_path: canonical Parquet file of the dataset version.
        data_cfg: split and window settings (must match training).
        eval_cfg: baselines, batch size, optional window cap.
        candidate_dir: exported model directory (``load_pretrained`` format).
        season: seasonal period for seasonal naive and MASE (profile's dominant period).
        out_dir: where ``metrics.json`` is written.

    Raises:
        EvaluationError: the test split holds no complete window, or the model was
            trained for another window/channel layout.
    """
    proto = load_protocol(dataset_path, data_cfg)
    win = data_cfg.window
    expected = window_count(len(proto.test), win.seq_len, win.horizon, 1)
    if expected <= 0:
        raise EvaluationError(
            f"{dataset_path}: test split has {len(proto.test)} rows, too few for "
            f"seq_len {win.seq_len} + horizon {win.horizon}; lower data.window.seq_len/horizon"
        )
    windows = WindowDataset(proto.test, win.seq_len, win.horizon, 1)
    if eval_cfg.max_test_windows is not None and eval_cfg.max_test_windows < len(windows):
        from torch.utils.data import Subset

        keep = np.linspace(0, len(windows) - 1, eval_cfg.max_test_windows).round().astype(int)
        windows = Subset(windows, keep.tolist())

    model, _, spec = load_pretrained(Path(candidate_dir))
    if (spec.seq_len, spec.horizon, spec.n_channels) != (
        win.seq_len,
        win.horizon,
        len(proto.targets),
    ):
        raise EvaluationError(
            f"{candidate_dir}: model was trained for seq_len={spec.seq_len}, horizon={spec.horizon}, "
            f"{spec.n_channels} channels but data.window/targets give {win.seq_len}, {win.horizon}, "
            f"{len(proto.targets)}; evaluate with the training config"
        )
    season = season or eval_cfg.season or 1
    true = targets_of(windows, eval_cfg.batch_size)
    models = {"candidate": model}
    for name in eval_cfg.baselines:
        baseline_spec = ModelSpec(
            seq_len=win.seq_len, horizon=win.horizon, n_channels=len(proto.targets), season=season
        )
        models[name] = build_model(ModelConfig(name=name), baseline_spec)
    results = {
        name: score(predict_windows(m, windows, eval_cfg.batch_size), true, proto, season)
        for name, m in models.items()
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    report_path = out_dir / "metrics.json"
    payload = {
        "test_windows": len(windows),
        "protocol_windows": expected,
        "season": season,
        "targets": proto.targets,
        "metrics": results,
    }
    tmp = report_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(report_path)
    return EvalReport(
        report_path=str(report_path),
        test_windows=len(windows),
        metrics=results,
        candidate="candidate",
    )
