"""Anomaly evaluation: trained detectors and classic baselines scored NAB's way on one corpus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tsalign.components.config import ModelConfig
from tsalign.components.evaluation.anomaly import GATE_METRIC, evaluate_detectors
from tsalign.components.evaluation.nab import NAB_PROFILES, load_profiles
from tsalign.components.inference.detector import DETECTOR_FILE, DetectorSettings
from tsalign.components.models import ModelSpec, build_model, save_pretrained

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
    return path


def test_candidates_and_baselines_get_nab_scores_f1_and_a_tuned_detector(tmp_path):
    dataset = _ingested(tmp_path)
    cfg = ModelConfig(name="gpt4ts_wo_llm", params={"patch_len": 4, "patch_stride": 4})
    runs = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        save_pretrained(build_model(cfg, SPEC), cfg, SPEC, tmp_path / f"run{seed}" / "model")
        runs.append(str(tmp_path / f"run{seed}" / "model"))
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
