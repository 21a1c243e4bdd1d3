"""CALF and TEST through the whole pipeline: ``tsalign run`` trains each through Ray Train and
DeepSpeed and publishes a version; ``tsalign predict`` forecasts from it; TEST's run records
its contrastive pre-training curves."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from _e2e_helpers import TINY, make_project, run_tsalign

from tsalign.components.config import RegistryConfig
from tsalign.components.registry import open_registry

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RUNS = {
    "calf": ["model.name=calf", "model.params=null", "compare=[]"],
    # TEST: one pre-training epoch (contrast + alignment), then one forecasting epoch.
    "test_align": ["model.name=test_align", "compare=[]", "train.epochs=2"],
}


@pytest.fixture(scope="module", params=sorted(RUNS))
def published(request, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    name = request.param
    project = make_project(tmp_path_factory.mktemp(name))
    proc = run_tsalign(
        project, "--config", str(TINY), f"registry.model_name={name}-e2e", *RUNS[name]
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return name, project


def test_a_version_is_published_and_tsalign_predict_forecasts_from_it(published, tmp_path):
    name, project = published
    registry = open_registry(RegistryConfig(uri=str(project / "registry")))
    assert registry.show(f"{name}-e2e:1").metrics["candidate"] == name
    source = Path(__import__("tsdata.fpp3", fromlist=["x"]).__file__).parent / "vic_elec.csv"
    pd.read_csv(source)[["Time", "Demand"]].tail(96).to_csv(tmp_path / "recent.csv", index=False)
    env = {**os.environ, "PREFECT_HOME": str(project / ".prefect")}
    proc = subprocess.run(
        [sys.executable, "-m", "tsalign", "predict", f"{name}-e2e:1", "--input",
         str(tmp_path / "recent.csv"), "--timestamp-col", "Time", "--output",
         str(tmp_path / "forecast.csv"), "--registry", str(project / "registry")],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    forecast = pd.read_csv(tmp_path / "forecast.csv")
    assert len(forecast) == 12 and forecast["Demand"].notna().all()


def test_the_run_records_the_models_own_loss_curves(published):
    name, project = published
    states = sorted((project / "runs").rglob("state.json"))
    assert states, "no checkpoint state under runs/"
    curves = json.loads(states[-1].read_text())["curves"]
    terms = curves["loss_terms"]
    if name == "calf":
        assert {"supervised", "feature", "consistency"} <= set(terms)
        assert all(math.isfinite(v) for v in terms["feature"])
    else:  # epoch 1 pre-trains the encoder, epoch 2 fits the forecast
        assert math.isfinite(terms["instance"][0]) and math.isnan(terms["instance"][1])
        assert math.isnan(terms["supervised"][0]) and math.isfinite(terms["supervised"][1])
        assert math.isinf(curves["val_loss"][0]) and math.isfinite(curves["val_loss"][1])
