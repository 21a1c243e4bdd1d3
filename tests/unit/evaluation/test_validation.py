"""Validation scores across data versions, the choice of candidate and the champion gate.

Two versions of a slice of ETTh1: ``v1`` (the first 1200 rows) and ``v2`` (1800 rows, so
other validation rows and another training scaler). The champion is trained on v1; a run on
v2 must judge it on v2's validation windows, not on the loss v1 recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tsalign.components.config import (
    DataConfig,
    EvalConfig,
    ModelConfig,
    RegistryConfig,
    RunConfig,
    WindowConfig,
)
from tsalign.components.data.meta import TIMESTAMP, DatasetMeta
from tsalign.components.data.protocol import Protocol, load_protocol
from tsalign.components.data.windows import validation_windows
from tsalign.components.evaluation.runner import evaluate
from tsalign.components.evaluation.validation import ValidationScorer
from tsalign.components.inference import Predictor
from tsalign.components.models import ModelSpec, build_model, save_pretrained
from tsalign.components.refs import DatasetRef, EvalReport, TrainResult
from tsalign.components.registry import open_registry
from tsalign.components.registry.release import PublishSettings, publish_run

ETTH1 = Path(__file__).resolve().parents[4] / "shared" / "data" / "ett" / "ETTh1.csv"
SEQ, HORIZON, VAL_CAP = 48, 12, 64
DATA = DataConfig(name="ett", window=WindowConfig(seq_len=SEQ, horizon=HORIZON))


def _version(root: Path, rows: int) -> str:
    """A canonical dataset file (Parquet + meta JSON) of the first ``rows`` rows of ETTh1."""
    root.mkdir(parents=True, exist_ok=True)
    raw = pd.read_csv(ETTH1, nrows=rows)
    frame = pd.DataFrame(
        {TIMESTAMP: pd.to_datetime(raw["date"]), "OT": raw["OT"], "HUFL": raw["HUFL"]}
    )
    path = root / "ett.parquet"
    frame.to_parquet(path, index=False)
    meta = DatasetMeta(
        name="ett",
        source=str(ETTH1),
        channels=["OT", "HUFL"],
        targets=["OT", "HUFL"],
        freq="h",
        rows=rows,
        start=str(frame[TIMESTAMP].iloc[0]),
        end=str(frame[TIMESTAMP].iloc[-1]),
    )
    (root / "ett.meta.json").write_text(meta.model_dump_json())
    return str(path)


def _export(
    directory: Path,
    proto: Protocol,
    seed: int,
    horizon: int = HORIZON,
    name: str = "dlinear",
    bias: float | None = None,
) -> Path:
    """A forecaster directory (model/ + the scaler of ``proto``), initial weights from ``seed``.

    ``bias`` sets every bias: an offset on the model's own scale, so a model read with the
    wrong scaler forecasts visibly otherwise.
    """
    cfg = ModelConfig(name=name)
    spec = ModelSpec(seq_len=SEQ, horizon=horizon, n_channels=2)
    torch.manual_seed(seed)
    model = build_model(cfg, spec)
    if bias is not None:
        with torch.no_grad():
            for key, param in model.named_parameters():
                if key.endswith("bias"):
                    param.fill_(bias)
    save_pretrained(model, cfg, spec, directory / "model")
    (directory / "scaler.json").write_text(json.dumps(proto.scaler()))
    return directory


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    root = tmp_path_factory.mktemp("data")
    return _version(root / "v1", 1200), _version(root / "v2", 1800)


def _hand_score(model_dir: Path, own: Protocol, new: Protocol) -> float:
    """MSE on ``new``'s validation windows of a model that standardises with ``own``'s scaler."""
    from tsalign.components.models import load_pretrained

    model, _, _ = load_pretrained(model_dir / "model")
    windows = validation_windows(new.val, SEQ, HORIZON, VAL_CAP)
    x = torch.stack([windows[i][0] for i in range(len(windows))]).double().numpy()
    y = torch.stack([windows[i][1] for i in range(len(windows))]).double().numpy()
    raw = x * new.std + new.mean
    with torch.no_grad():
        pred = model(torch.from_numpy((raw - own.mean) / own.std).float()).double().numpy()
    pred_new = (pred * own.std + own.mean - new.mean) / new.std
    return float(np.mean((pred_new - y) ** 2))


def test_a_model_of_another_version_is_scored_with_its_own_scaler(versions, tmp_path: Path):
    v1, v2 = (load_protocol(path, DATA) for path in versions)
    champion = _export(tmp_path / "champion", v1, seed=0, bias=0.5)
    scorer = ValidationScorer(v2, DATA.window, VAL_CAP, device="cpu")
    expected = _hand_score(champion, v1, v2)
    assert scorer.score(Predictor.load(champion, device="cpu")) == pytest.approx(expected, rel=1e-5)
    # The scaler matters: read as if it were v2's, the same weights score otherwise.
    assert abs(_hand_score(champion, v2, v2) - expected) > 0.05 * expected


# ---- the champion gate ----------------------------------------------------------------------


def _publish_champion(cfg: RunConfig, directory: Path, stored_val: float) -> None:
    """v1's champion, published with the validation loss v1's run recorded."""
    registry = open_registry(cfg.registry)
    metrics = {
        "candidate": "dlinear",
        "test": {"dlinear": {"mse": 0.5}},
        "validation": {"val_loss": stored_val},
    }
    version = registry.publish(
        cfg.registry.model_name,
        {"model": directory / "model", "scaler.json": directory / "scaler.json"},
        config={},
        metrics=metrics,
        lineage={},
    )
    registry.set_alias(cfg.registry.model_name, "champion", version.version, reason="v1")


def _publish_challenger(
    cfg: RunConfig, dataset_path: str, directory: Path, val_loss: float, tmp_path: Path
):
    report_path = tmp_path / "metrics.json"
    report_path.write_text("{}")
    test = {"mse": 0.4, "mae": 0.4, "mae_orig": 1.0, "smape": 10.0, "mase": 1.0}
    report = EvalReport(
        report_path=str(report_path),
        test_windows=10,
        metrics={"dlinear": test, "seasonal_naive": {**test, "mse": 1.0}},
        candidate="dlinear",
        validation={"dlinear": val_loss},
        selection_reason="publish.select=model",
    )
    dataset = DatasetRef(
        name="ett",
        path=dataset_path,
        meta_path=dataset_path.replace(".parquet", ".meta.json"),
        md5="v2md5",
        remote="local",
        rows=1800,
        channels=["OT", "HUFL"],
        timestamp_col=TIMESTAMP,
        freq="h",
    )
    train = TrainResult(
        model="dlinear", run_name="dlinear-v2", checkpoint_uri=str(directory / "model")
    )
    scorer = ValidationScorer.for_dataset(dataset_path, DATA, VAL_CAP, device="cpu")
    settings = PublishSettings.from_run(cfg, cfg.model)
    return publish_run(settings, dataset, None, train, report, tmp_path, {}, scorer.score_published)


@pytest.mark.parametrize(
    ("challenger_share", "stale_share", "promoted"),
    [
        (0.9, 0.5, True),  # better on v2's windows; v1's recorded loss looked unbeatable
        (1.1, 5.0, False),  # worse on v2's windows; v1's recorded loss looked easy to beat
    ],
)
def test_champion_is_rescored_on_the_new_versions_validation_windows(
    versions, tmp_path: Path, challenger_share: float, stale_share: float, promoted: bool
):
    v1, v2 = (load_protocol(path, DATA) for path in versions)
    cfg = RunConfig(
        data=DATA,
        model=ModelConfig(name="dlinear"),
        compare=[],
        train={"max_val_windows": VAL_CAP},
        eval=EvalConfig(device="cpu"),
        registry=RegistryConfig(uri=str(tmp_path / "registry"), model_name="m"),
    )
    champion = _export(tmp_path / "champion", v1, seed=0)
    rescored = _hand_score(champion, v1, v2)
    _publish_champion(cfg, champion, stored_val=rescored * stale_share)
    challenger = _export(tmp_path / "challenger", v2, seed=1)

    version = _publish_challenger(
        cfg, versions[1], challenger, rescored * challenger_share, tmp_path
    )

    assert (version.promoted_to == "champion") is promoted, version.promotion_reason
    assert f"{rescored:.6g}" in version.promotion_reason  # the re-scored loss, not the stored one
    assert open_registry(cfg.registry).get_alias("m", "champion") == (2 if promoted else 1)


def test_a_champion_of_another_horizon_is_not_compared(versions, tmp_path: Path):
    v1, _ = (load_protocol(path, DATA) for path in versions)
    cfg = RunConfig(
        data=DATA,
        model=ModelConfig(name="dlinear"),
        compare=[],
        registry=RegistryConfig(uri=str(tmp_path / "registry"), model_name="m"),
    )
    _publish_champion(cfg, _export(tmp_path / "champion", v1, seed=0, horizon=24), 9.0)
    challenger = _export(tmp_path / "challenger", load_protocol(versions[1], DATA), seed=1)
    version = _publish_challenger(cfg, versions[1], challenger, 0.1, tmp_path)
    assert version.promoted_to is None
    assert "it forecasts 24 steps, this run 12" in version.promotion_reason
    assert "promote by hand" in version.promotion_reason


# ---- choosing the candidate in the evaluation -----------------------------------------------


@pytest.mark.parametrize("select", ["best_val", "model"])
def test_evaluation_scores_every_candidate_on_the_same_validation_windows(
    versions, tmp_path: Path, select: str
):
    proto = load_protocol(versions[1], DATA)
    dirs = {name: _export(tmp_path / name, proto, 1, name=name) for name in ("dlinear", "patchtst")}
    scores = {name: _hand_score(d, proto, proto) for name, d in dirs.items()}
    # The worse one first, so publishing model.name and publishing the best differ.
    expected = dict(sorted(scores.items(), key=lambda item: -item[1]))
    first, best = expected
    report = evaluate(
        versions[1],
        DATA,
        EvalConfig(baselines=[], device="cpu"),
        {name: str(dirs[name] / "model") for name in expected},
        ModelSpec(seq_len=SEQ, horizon=HORIZON, n_channels=2, season=24),
        tmp_path / "eval",
        select=select,
        max_val_windows=VAL_CAP,
    )
    assert report.validation == pytest.approx(expected, rel=1e-5)
    assert report.candidate == (best if select == "best_val" else first)
    leaderboard = Path(report.leaderboard_path).read_text()
    assert f"Published: **{report.candidate}**" in leaderboard
