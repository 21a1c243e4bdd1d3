"""Classification end to end: ``tsalign run`` on JapaneseVowels, then ``tsalign predict``.

One epoch of a one-block GPT4TS beside its LLM-free ablation, through real Prefect, DVC,
Ray Train and DeepSpeed; the published classifier is then applied to the archive's test
file with the CLI, and bad inputs are refused without writing anything.
"""

from __future__ import annotations

import json
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

CONFIG = REPO / "configs" / "classify_japanese_vowels.yaml"
FAST = ["train.epochs=1", "model.n_layers=1", "compare=[gpt4ts_wo_llm]", "eval.batch_size=128"]
NAME = "tsalign-classifier"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def run(project: Path) -> subprocess.CompletedProcess:
    return run_tsalign(project, "--config", str(CONFIG), *FAST)


def predict(project: Path, *args: str) -> subprocess.CompletedProcess:
    return tsalign_cli(project, "predict", f"{NAME}:1", "--registry", "registry", *args)


def test_the_run_publishes_a_classifier_scored_beside_minirocket(
    project: Path, run, tmp_path: Path
) -> None:
    assert run.returncode == 0, run.stderr[-4000:]
    assert run.stdout.strip().splitlines()[-1] == f"{NAME}:1"
    # The summary counts instances, not forecast windows.
    assert re.search(r"\d+ instances \(train \d+, val \d+, test \d+\)", run.stderr)
    assert re.search(r"\d+ test instances;", run.stderr), run.stderr[-3000:]
    registry = open_registry(RegistryConfig(uri=str(project / "registry")))
    manifest = registry.show(f"{NAME}:1")
    assert manifest.tags["task"] == "classify"
    test = manifest.metrics["test"]
    assert set(test) == {"gpt4ts", "gpt4ts_wo_llm", "minirocket"}
    for scores in test.values():
        assert 0.0 <= scores["accuracy"] <= 1.0 and math.isfinite(scores["f1_macro"])
        assert scores["error_rate"] == pytest.approx(1 - scores["accuracy"])
    assert test["minirocket"]["accuracy"] > 0.9  # the classic classifier on its own benchmark
    assert set(manifest.metrics["validation_by_candidate"]) == {"gpt4ts", "gpt4ts_wo_llm"}
    assert "plots/confusion_gpt4ts.png" in manifest.files
    local = registry.download(f"{NAME}:1", tmp_path / "v1")
    report = json.loads((local / "metrics.json").read_text())
    kinds = {(c["reference"], c["kind"]) for c in report["comparisons"]}
    assert kinds == {("gpt4ts_wo_llm", "ablation"), ("minirocket", "baseline")}
    difference = report["comparisons"][0]["accuracy_difference"]
    assert difference["low"] <= difference["estimate"] <= difference["high"]
    assert len(report["confusion"]["gpt4ts"]) == 9  # nine speakers


def test_predict_returns_class_probabilities_per_instance(project: Path, run, tmp_path) -> None:
    from tsalign.components.data.panel import bundled_archives

    test_file = bundled_archives()["JapaneseVowels"] / "JapaneseVowels_TEST.ts"
    out = tmp_path / "probabilities.csv"
    proc = predict(project, "--input", str(test_file), "--output", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = pd.read_csv(out)
    assert len(result) == 370
    probs = result[[c for c in result.columns if c.startswith("p_")]].to_numpy()
    assert probs.shape[1] == 9
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-4)


def test_predict_refuses_a_panel_of_another_channel_count(project: Path, run, tmp_path) -> None:
    rows = [{"instance_id": "u0", "step": t, "a": 0.1 * t, "b": 1.0} for t in range(10)]
    bad = tmp_path / "two_channels.csv"
    pd.DataFrame(rows).to_csv(bad, index=False)
    out = tmp_path / "never.csv"
    proc = predict(project, "--input", str(bad), "--output", str(out))
    assert proc.returncode == 1
    assert "lacks channel column(s)" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
