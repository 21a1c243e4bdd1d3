"""Anomaly evaluation: trained detectors and classic baselines scored NAB's way on one corpus,
and the anomaly task's seam (spec, training data, evaluate, gate) over the same corpus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tsalign.components.config import (
    EvalConfig,
    ModelConfig,
    ProtocolConfig,
    RegistryConfig,
    TrainConfig,
    WindowConfig,
)
from tsalign.components.data.anomaly_ingest import AnomalyMeta, load_ingested
from tsalign.components.evaluation.anomaly import (
    GATE_METRIC,
    ProbationValidation,
    evaluate_detectors,
    probation_loss,
)
from tsalign.components.evaluation.nab import NAB_PROFILES, load_profiles
from tsalign.components.inference.detector import DETECTOR_FILE, DetectorSettings
from tsalign.components.models import ModelSpec, build_model, load_pretrained, save_pretrained
from tsalign.components.refs import DatasetRef
from tsalign.components.registry import open_registry
from tsalign.components.registry.gates import ChampionNotComparable
from tsalign.components.tasks.anomaly import ANOMALY
from tsalign.components.tasks.base import EvalRequest, TrainingInputs

NAB = Path(__file__).resolve().parents[4] / "shared" / "data" / "nab"
SPEC = ModelSpec(seq_len=16, horizon=1, n_channels=1, task="anomaly")


def test_the_profiles_are_nabs_own():
    assert load_profiles(NAB / "config" / "profiles.json") == NAB_PROFILES


def _ingested(tmp_path: Path) -> Path:
    """Two series of 1200 rows as ingest writes them, each with one spike inside a window."""
    frames, windows = [], {}
    rng = np.random.default_rng(0)
    for k, name in enumerate(["g/a.csv", "g/b.csv"]):
        stamps = pd.date_range("2020-01-01", periods=1200, freq="5min")
        values = np.sin(np.arange(1200) * 2 * np.pi / 24) * (1 + k) + rng.normal(0, 0.05, 1200)
        values[800 + 100 * k] += 10.0
        start, end = 790 + 100 * k, 820 + 100 * k
        labels = (np.arange(1200) >= start) & (np.arange(1200) <= end)
        frames.append(
            pd.DataFrame({"series": name, "timestamp": stamps, "value": values, "label": labels})
        )
        windows[name] = [[str(stamps[start]), str(stamps[end])]]
    path = tmp_path / "data" / "toy.parquet"
    path.parent.mkdir()
    pd.concat(frames).to_parquet(path)
    (tmp_path / "data" / "toy.windows.json").write_text(json.dumps(windows))
    meta = AnomalyMeta(
        name="toy",
        source="toy",
        description="two toy waves",
        series={},
        rows=2400,
        windows_file="toy.windows.json",
    )
    (tmp_path / "data" / "toy.meta.json").write_text(meta.model_dump_json())
    return path


def _saved(tmp_path: Path, name: str, seed: int) -> str:
    cfg = ModelConfig(name=name, params={"patch_len": 4, "patch_stride": 4})
    torch.manual_seed(seed)
    directory = tmp_path / f"{name}-{seed}" / "model"
    save_pretrained(build_model(cfg, SPEC), cfg, SPEC, directory)
    return str(directory)


def test_candidates_and_baselines_get_nab_scores_f1_and_a_tuned_detector(tmp_path):
    dataset = _ingested(tmp_path)
    runs = [_saved(tmp_path, "gpt4ts_wo_llm", seed) for seed in (0, 1)]
    out = tmp_path / "eval"
    result = evaluate_detectors(str(dataset), {"gpt4ts_wo_llm": runs}, out, device="cpu")

    metrics = result["metrics"]
    assert set(metrics) == {"gpt4ts_wo_llm", "windowed_gaussian", "isolation_forest"}
    for m in metrics.values():
        for profile in NAB_PROFILES:
            assert -100.0 <= m[f"nab_{profile}"] <= 100.0
        assert m[GATE_METRIC] == pytest.approx(100.0 - m["nab_standard"])
        assert 0.0 <= m["pointwise_f1"] <= m["point_adjusted_f1"] <= 1.0
    # Two spikes a detector cannot miss: every one of them finds both windows.
    assert metrics["gpt4ts_wo_llm"]["point_adjusted_recall"] == 1.0
    assert "nab_standard_sd" in metrics["gpt4ts_wo_llm"]  # two seeds: mean and spread
    assert np.isfinite(result["validation"]["gpt4ts_wo_llm"])
    settings = DetectorSettings.model_validate_json(
        (out / "gpt4ts_wo_llm" / DETECTOR_FILE).read_text()
    )
    assert set(settings.thresholds) == set(NAB_PROFILES)
    assert json.loads((out / "metrics.json").read_text())["series"] == 2
    assert "Random Cut Forest (published) | 51.7" in (out / "nab.md").read_text()


def test_the_task_trains_on_probation_windows_and_gates_on_nab_against_windowed_gaussian(
    tmp_path,
):
    dataset = _ingested(tmp_path)
    ref = DatasetRef(
        name="toy",
        path=str(dataset),
        meta_path=str(dataset.with_name("toy.meta.json")),
        md5="x",
        remote="r",
        rows=2400,
        channels=["value"],
        timestamp_col="timestamp",
        freq="",
        task="anomaly",
    )
    window = WindowConfig(seq_len=16, horizon=1)
    spec = ANOMALY.model_spec(ref, window, None)
    assert (spec.task, spec.seq_len, spec.n_channels) == ("anomaly", 16, 1)
    assert spec.domain_context == "two toy waves"
    protocol = ProtocolConfig(window=window)
    data = ANOMALY.training_data(
        TrainingInputs(str(dataset), protocol, TrainConfig(max_val_windows=None))
    )
    assert len(data.train) == 2 * (144 - 16) and len(data.val) == 2 * 36  # probation: 180 rows
    assert set(data.scaler["series"]) == {"g/a.csv", "g/b.csv"}
    gate = ANOMALY.gate("mse")
    assert (gate.baseline, gate.metric) == ("windowed_gaussian", GATE_METRIC)

    candidates = {"gpt4ts_wo_llm": _saved(tmp_path, "gpt4ts_wo_llm", 0)}
    candidates["patchtst"] = _saved(tmp_path, "patchtst", 0)
    report = ANOMALY.evaluate(
        EvalRequest(
            str(dataset),
            protocol,
            EvalConfig(device="cpu"),
            candidates,
            spec,
            tmp_path / "eval",
            select="best_val",
        )
    )
    validation = report.validation
    assert set(validation) == set(candidates)
    eligible = [
        n
        for n in candidates
        if report.metrics[n][GATE_METRIC] < report.metrics["windowed_gaussian"][GATE_METRIC]
    ]
    # best_val: the lowest probation loss among those beating the windowed Gaussian.
    assert report.candidate == min(eligible or candidates, key=validation.get)
    assert Path(report.files[DETECTOR_FILE]).parent.name == report.candidate
    assert "nab_standard" in report.metrics["isolation_forest"]


def test_the_champion_is_rescored_on_this_corpus_and_a_forecaster_is_not_comparable(tmp_path):
    dataset = _ingested(tmp_path)
    model_dir = Path(_saved(tmp_path, "gpt4ts_wo_llm", 0))
    (model_dir.parent / DETECTOR_FILE).write_text(DetectorSettings().model_dump_json())
    (model_dir.parent / "scaler.json").write_text("{}")
    registry = open_registry(RegistryConfig(uri=str(tmp_path / "registry")))
    files = {"model": model_dir, "scaler.json": model_dir.parent / "scaler.json"}
    registry.publish(
        "det",
        {**files, DETECTOR_FILE: model_dir.parent / DETECTOR_FILE},
        config={},
        metrics={},
        lineage={},
    )
    registry.publish("det", files, config={}, metrics={}, lineage={})  # no detector.json
    scorer = ProbationValidation(str(dataset), batch_size=64, device="cpu")
    model, _, spec = load_pretrained(model_dir)
    expected = probation_loss(model, spec, load_ingested(str(dataset)), 64, torch.device("cpu"))
    assert scorer.score_published(registry, "det", 1) == pytest.approx(expected)
    with pytest.raises(ChampionNotComparable, match="not an anomaly detector"):
        scorer.score_published(registry, "det", 2)
