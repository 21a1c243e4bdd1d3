"""The whole pipeline, twice, through real Prefect (ephemeral server), DVC, Ray and DeepSpeed.

Reads the two ``tsalign run --config configs/tiny.yaml`` of tests/e2e/conftest.py's shared
project (run as a user would, in a fresh git + DVC project; test_no_secrets_at_rest.py reads
them too) and the published versions back from the registry.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

from tsalign.components.config import RegistryConfig
from tsalign.components.registry import open_registry

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _dvc_md5(project: Path) -> str:
    return yaml.safe_load((project / "data.dvc").read_text())["outs"][0]["md5"]


@pytest.fixture(scope="module")
def project(tiny_runs) -> Path:
    return tiny_runs.project


@pytest.fixture(scope="module")
def two_runs(tiny_runs) -> list[subprocess.CompletedProcess]:
    return tiny_runs.runs


def test_each_run_publishes_a_new_version(two_runs):
    for number, proc in enumerate(two_runs, start=1):
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert proc.stdout.strip().splitlines()[-1] == f"tiny-forecaster:{number}"


def test_versions_carry_weights_metrics_and_lineage(project: Path, two_runs):
    registry = open_registry(RegistryConfig(uri=str(project / "registry")))
    assert registry.list_versions("tiny-forecaster") == [1, 2]
    md5 = _dvc_md5(project)
    for version in (1, 2):
        manifest = registry.show(f"tiny-forecaster:{version}")
        test = manifest.metrics["test"]
        # publish.select=best_val: the candidate with the lower loss on the same validation windows.
        by_candidate = manifest.metrics["validation_by_candidate"]
        candidate = manifest.metrics["candidate"]
        assert set(by_candidate) == {"gpt4ts", "gpt4ts_wo_llm"}
        assert manifest.metrics["validation"]["val_loss"] == by_candidate[candidate]
        if candidate != min(
            by_candidate, key=by_candidate.get
        ):  # only when the best fails the floor
            assert "not eligible" in manifest.metrics["selection_reason"]
        assert math.isfinite(test["gpt4ts"]["mse"]) and test["gpt4ts"]["mse"] > 0
        assert math.isfinite(test["gpt4ts_wo_llm"]["mse"])  # the LLM-free ablation sits beside it
        assert math.isfinite(test["seasonal_naive"]["mse"])
        assert "leaderboard.md" in manifest.files
        lineage = manifest.lineage
        assert lineage["data_md5"] == md5  # the data version is the one data.dvc records
        assert lineage["prefect_flow_run_id"]
        assert lineage["ray_run"].startswith(f"{candidate}-") and lineage["model"] == candidate
        assert lineage["base_model"] == "minilm"
        assert len(lineage["git_commit"].split("+")[0]) == 40  # sha of HEAD, "+dirty" after ingest
        assert "model/model.safetensors" in manifest.files
        assert manifest.config["train"]["deepspeed_preset"] == "zero2"


def test_versions_download_and_load_as_models(project: Path, two_runs, tmp_path: Path):
    from tsalign.components.models import load_pretrained

    registry = open_registry(RegistryConfig(uri=str(project / "registry")))
    out = registry.download("tiny-forecaster:2", tmp_path / "v2")
    model, cfg, spec = load_pretrained(out / "model")
    published = registry.show("tiny-forecaster:2").metrics["candidate"]
    assert (cfg.name, spec.seq_len, spec.horizon) == (published, 48, 12)
    assert model(torch.zeros(2, 48, spec.n_channels)).shape == (2, 12, spec.n_channels)
    assert not any(p.suffix in {".pt", ".pkl", ".bin"} for p in out.rglob("*"))
