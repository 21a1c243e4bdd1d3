"""CALF and TEST through the whole pipeline: one ``tsalign run`` trains both through Ray Train
and DeepSpeed, evaluates both and publishes CALF; ``tsalign predict`` forecasts from it; each
run records its own loss terms, TEST's its contrastive pre-training epoch."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from _e2e_helpers import TINY, make_project, run_tsalign, tsalign_cli

from tsalign.components.config import RegistryConfig
from tsalign.components.registry import open_registry

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# One run trains both methods (each pipeline run costs a Prefect, Ray and DeepSpeed start):
# CALF is published and predicts; TEST's first epoch pre-trains its encoder (contrast +
# alignment), its second fits the forecast, and evaluation scores its exported model.
RUN = [
    "model.name=calf",
    "model.params=null",
    "compare=[test_align]",
    "train.epochs=2",
    "publish.select=model",
    "registry.model_name=align-e2e",
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = make_project(tmp_path_factory.mktemp("align"))
    proc = run_tsalign(project, "--config", str(TINY), *RUN)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return project


def _curves(project: Path, model: str) -> dict:
    states = sorted((project / "runs").glob(f"{model}-*/**/state.json"))
    assert states, f"no checkpoint state of {model} under runs/"
    return json.loads(states[-1].read_text())["curves"]


def test_a_version_is_published_and_tsalign_predict_forecasts_from_it(project, tmp_path):
    registry = open_registry(RegistryConfig(uri=str(project / "registry")))
    manifest = registry.show("align-e2e:1")
    assert manifest.metrics["candidate"] == "calf"
    # Both methods were trained and scored on the test split.
    assert {"calf", "test_align"} <= set(manifest.metrics["test"])
    assert all(math.isfinite(manifest.metrics["test"][m]["mse"]) for m in ("calf", "test_align"))
    source = Path(__import__("tsdata.fpp3", fromlist=["x"]).__file__).parent / "vic_elec.csv"
    pd.read_csv(source)[["Time", "Demand"]].tail(96).to_csv(tmp_path / "recent.csv", index=False)
    proc = tsalign_cli(
        project, "predict", "align-e2e:1", "--input", str(tmp_path / "recent.csv"),
        "--timestamp-col", "Time", "--output", str(tmp_path / "forecast.csv"),
        "--registry", str(project / "registry"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    forecast = pd.read_csv(tmp_path / "forecast.csv")
    assert len(forecast) == 12 and forecast["Demand"].notna().all()


def test_calf_records_its_feature_and_consistency_losses(project):
    terms = _curves(project, "calf")["loss_terms"]
    assert {"supervised", "feature", "consistency"} <= set(terms)
    assert all(math.isfinite(v) for v in terms["feature"])


def test_test_align_pretrains_its_encoder_then_fits_the_forecast(project):
    curves = _curves(project, "test_align")
    terms = curves["loss_terms"]
    assert math.isfinite(terms["instance"][0]) and math.isnan(terms["instance"][1])
    assert math.isnan(terms["supervised"][0]) and math.isfinite(terms["supervised"][1])
    assert math.isinf(curves["val_loss"][0]) and math.isfinite(curves["val_loss"][1])
