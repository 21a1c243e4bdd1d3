"""``tsalign run --config configs/anomaly_nab.yaml`` on three short NAB series, then ``tsalign predict``.

The whole pipeline as a user runs it (ingest with DVC, profile, train on Ray + DeepSpeed,
evaluate NAB's way, publish): a short slice of the corpus and one epoch on capped windows,
so that it is about the plumbing; the full corpus is benchmarks/nab.py's and the README's.
"""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _e2e_helpers import REPO, make_project, run_tsalign, tsalign_cli

from tsalign.components.config import RegistryConfig
from tsalign.components.registry import open_registry

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NAB = REPO.parent / "shared" / "data" / "nab"
SERIES = [  # three of the shortest series (1126-1643 rows), each with labelled windows
    "realTraffic/speed_7578.csv",
    "realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv",
    "realAdExchange/exchange-4_cpc_results.csv",
]
MODEL = "nab-slice"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def run(project: Path) -> subprocess.CompletedProcess:
    return run_tsalign(
        project,
        "--config",
        str(REPO / "configs" / "anomaly_nab.yaml"),
        f"data.source={NAB}",
        f"data.anomaly.series=[{','.join(SERIES)}]",
        "model.n_layers=1",
        "compare=[gpt4ts_wo_llm]",
        "train.epochs=1",
        "train.max_train_windows=256",
        "train.max_val_windows=64",
        f"registry.model_name={MODEL}",
    )


def _predict(project: Path, *args: str) -> subprocess.CompletedProcess:
    return tsalign_cli(project, "predict", f"{MODEL}:1", "--registry", "registry", *args)


def test_the_pipeline_publishes_a_detector_with_its_tuned_threshold(project: Path, run):
    assert run.returncode == 0, run.stderr[-4000:]
    # The summary counts what this task scores: series and rows, not forecast windows.
    assert re.search(rf"{len(SERIES)} series, \d+ rows, \d+ anomaly windows", run.stderr)
    assert re.search(r"\d+ rows scored;", run.stderr), run.stderr[-3000:]
    manifest = open_registry(RegistryConfig(uri=str(project / "registry"))).show(f"{MODEL}:1")
    assert manifest.tags["task"] == "anomaly"
    assert "detector.json" in manifest.files and "model/model.safetensors" in manifest.files
    test = manifest.metrics["test"]
    assert set(test) == {"gpt4ts", "gpt4ts_wo_llm", "windowed_gaussian", "isolation_forest"}
    for metrics in test.values():
        assert math.isfinite(metrics["nab_standard"]) and 0 <= metrics["point_adjusted_f1"] <= 1
    # best_val ranks by the probation-period forecast loss, which reads no label.
    by_candidate = manifest.metrics["validation_by_candidate"]
    assert set(by_candidate) == {"gpt4ts", "gpt4ts_wo_llm"}
    candidate = manifest.metrics["candidate"]
    assert manifest.metrics["validation"]["val_loss"] == by_candidate[candidate]
    assert manifest.metrics["selection_reason"].startswith("best_val: ")


def test_predict_returns_scores_and_flags_per_row(project: Path, run, tmp_path: Path):
    series = NAB / "data" / SERIES[0]
    out = tmp_path / "scores.csv"
    proc = _predict(project, "--input", str(series), "--output", str(out))
    assert proc.returncode == 0, proc.stderr[-4000:]
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["timestamp", "value", "anomaly_score", "anomaly"]
    assert len(scores) == len(pd.read_csv(series))
    assert scores["anomaly_score"].between(0, 1).all()
    assert scores["anomaly"].dtype == bool
    # Another NAB profile's threshold, and a series column named otherwise.
    renamed = tmp_path / "renamed.csv"
    pd.read_csv(series).rename(columns={"value": "reading"}).to_csv(renamed, index=False)
    low_fn = tmp_path / "low_fn.csv"
    args = ("--input", str(renamed), "--value-col", "reading", "--output", str(low_fn))
    proc = _predict(project, *args, "--profile", "reward_low_FN_rate")
    assert proc.returncode == 0, proc.stderr[-4000:]
    np.testing.assert_allclose(pd.read_csv(low_fn)["anomaly_score"], scores["anomaly_score"])
    proc = _predict(project, *args[:-1], str(tmp_path / "never.csv"), "--profile", "low_fn")
    assert proc.returncode == 1 and "choose one of" in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "never.csv").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [("timestamp,reading\n2020-01-01,1\n", "no column 'value'"), ("", "the file is empty")],
)
def test_predict_on_bad_input_fails_clearly_and_writes_nothing(
    project: Path, run, tmp_path: Path, content: str, message: str
):
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    out = tmp_path / "never.csv"
    proc = _predict(project, "--input", str(bad), "--output", str(out))
    assert proc.returncode == 1
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
