"""benchmarks/gpu_check.py runs end to end on CPU without Ray, Prefect, DVC or matplotlib.

A GPU machine on loan may have only the wheels the script names; importing anything
else on its path must fail here, so the script is run with those modules blocked.
Tiny step counts: this checks that the script works, not how fast anything is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"
ETTH1 = REPO.parent / "shared" / "data" / "ett" / "ETTh1.csv"
BLOCKED = ("ray", "prefect", "dvc", "matplotlib")
RUN_BLOCKED = f"""
import runpy, sys
for name in {BLOCKED!r}:
    sys.modules[name] = None  # importing it now raises ImportError
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_help_documents_what_the_script_needs():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True
    ).stdout
    for need in ("torch", "transformers", "peft", "deepspeed", "safetensors", "no Ray"):
        assert need in out
    assert "--etth1" in out and "--backbone" in out and "--max-steps" in out


def test_cpu_run_writes_every_section(tmp_path: Path):
    out = tmp_path / "gpu_check.json"
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    args = ["--etth1", str(ETTH1), "--device", "cpu", "--max-steps", "2", "--warmup-steps", "1"]
    args += ["--batch-size", "4", "--eval-windows", "16", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", RUN_BLOCKED, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["gpu"] is False and report["backbone"]["weights"] == "pretrained"
    assert set(report["throughput"]) == {"gpt4ts", "timellm", "dlinear", "patchtst"}
    for name, row in report["throughput"].items():
        assert row["finite"] and row["samples_per_s"] > 0, name
        assert row["train_gflops_per_sample"] > 0 and row["mfu"] is None  # no GPU peak on CPU
        assert row["epoch_windows"] == 8209  # ETTh1's full training split at 336 / 96
    lora = report["lora_zero3"]
    assert lora["adapter_nonzero"] and lora["adapter_values"] > 0 and lora["identical"]
    assert report["evaluation"]["windows"] == 16 and report["evaluation"]["mse"] > 0
