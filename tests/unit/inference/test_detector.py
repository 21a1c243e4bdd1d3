"""The forecast-error detector: causal scores in [0, 1], tuned thresholds, clear input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tsalign.components.config import ModelConfig
from tsalign.components.inference.detector import (
    DETECTOR_FILE,
    MIN_HISTORY,
    Detector,
    DetectorSettings,
    forecast_errors,
    likelihood_scores,
    score_series,
)
from tsalign.components.inference.errors import PredictError
from tsalign.components.layout import MODEL_DIR
from tsalign.components.models import ModelSpec, build_model, save_pretrained

SPEC = ModelSpec(seq_len=16, horizon=1, n_channels=1, task="anomaly")
CFG = ModelConfig(name="gpt4ts_wo_llm", params={"patch_len": 4, "patch_stride": 4})


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(CFG, SPEC).eval()


def _wave(rows: int = 1200) -> np.ndarray:
    return np.sin(np.arange(rows) * 2 * np.pi / 24) + np.random.default_rng(0).normal(0, 0.05, rows)


def test_a_spike_in_the_errors_scores_near_one_and_calm_rows_near_zero():
    errors = np.abs(np.random.default_rng(0).normal(0, 1, 500))
    errors[400] = 50.0
    scores = likelihood_scores(errors)
    assert scores.min() >= 0.0 and scores.max() <= 1.0
    assert (scores[:MIN_HISTORY] == 0).all()
    assert not np.signbit(scores).any()  # no -0.0 reaches a predict CSV
    assert scores[400] > 0.99
    assert np.median(scores[100:390]) < 0.2


def test_errors_are_the_first_forecast_step_against_the_next_row(model):
    scaled = _wave(100).astype(np.float32)
    errors = forecast_errors(model, scaled, SPEC.seq_len)
    assert np.isnan(errors[: SPEC.seq_len]).all() and np.isfinite(errors[SPEC.seq_len :]).all()
    with torch.no_grad():
        pred = model(torch.from_numpy(scaled[20:36])[None, :, None])[0, 0, 0].item()
    assert errors[36] == pytest.approx(abs(pred - scaled[36]), abs=1e-5)


def test_a_rows_score_does_not_depend_on_later_rows(model):
    values = _wave()
    changed = values.copy()
    changed[700:] += 100.0  # after the probationary rows (180 of 1200)
    a = score_series(model, SPEC, values, DetectorSettings())
    b = score_series(model, SPEC, changed, DetectorSettings())
    np.testing.assert_array_equal(a[:700], b[:700])
    assert b[700] > a[700]  # and the change itself is seen at once


def _detector_dir(tmp_path, model, thresholds):
    save_pretrained(model, CFG, SPEC, tmp_path / MODEL_DIR)
    settings = DetectorSettings(thresholds=thresholds)
    (tmp_path / DETECTOR_FILE).write_text(settings.model_dump_json())
    return tmp_path


def test_detect_appends_scores_and_flags_at_the_tuned_threshold(tmp_path, model):
    directory = _detector_dir(tmp_path, model, {"standard": 0.9, "reward_low_FP_rate": 0.95})
    values = _wave()
    values[900] += 8.0
    frame = pd.DataFrame(
        {"timestamp": pd.date_range("2020", periods=1200, freq="h"), "value": values}
    )
    out = Detector.load(directory, device="cpu").detect(frame)
    assert list(out.columns) == ["timestamp", "value", "anomaly_score", "anomaly"]
    assert (out["anomaly"] == (out["anomaly_score"] >= 0.9)).all()
    assert bool(out["anomaly"].iloc[900])
    assert out["anomaly"].mean() < 0.05


def test_another_profile_flags_at_its_own_threshold_and_an_unknown_one_is_named(tmp_path, model):
    directory = _detector_dir(tmp_path, model, {"standard": 0.9, "reward_low_FN_rate": 0.05})
    detector = Detector.load(directory, device="cpu")
    values = _wave()
    values[900] += 8.0
    frame = pd.DataFrame({"reading": values})
    standard = detector.detect(frame, value_col="reading")
    detector.settings = detector.settings.flagging("reward_low_FN_rate")
    low_fn = detector.detect(frame, value_col="reading")
    assert (low_fn["anomaly"] == (low_fn["anomaly_score"] >= 0.05)).all()
    assert low_fn["anomaly"].sum() > standard["anomaly"].sum()
    detector.settings = detector.settings.flagging("low_fn")
    with pytest.raises(PredictError, match=r"'low_fn' is not a profile.*reward_low_FN_rate"):
        detector.detect(frame, value_col="reading")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            pd.DataFrame({"timestamp": [1, 2], "reading": [1.0, 2.0]}),
            "no column 'value'.*name the series column",
        ),
        (pd.DataFrame({"value": []}), "0 rows; the detector needs at least"),
        (pd.DataFrame({"value": [1.0] * 50 + ["x"] + [1.0] * 149}), "row 51 .*'x', not a finite"),
    ],
)
def test_bad_input_names_the_problem_and_the_fix(tmp_path, model, frame, message):
    detector = Detector.load(_detector_dir(tmp_path, model, {"standard": 0.5}), device="cpu")
    with pytest.raises(PredictError, match=message):
        detector.detect(frame, source="in.csv")


def test_a_detector_without_tuned_thresholds_or_settings_is_refused(tmp_path, model):
    detector = Detector.load(_detector_dir(tmp_path, model, {}), device="cpu")
    with pytest.raises(PredictError, match=r"no tuned threshold.*tsalign evaluate"):
        detector.detect(pd.DataFrame({"value": _wave()}))
    (tmp_path / DETECTOR_FILE).unlink()
    with pytest.raises(PredictError, match="not an anomaly detector"):
        Detector.load(tmp_path, device="cpu")
