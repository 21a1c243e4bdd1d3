"""Start-up time of `tsalign train`: from launching the command to the first optimizer step.

The command runs as a user would (`tsalign train --config ...`: Prefect flow, local Ray,
worker group, DeepSpeed engine); the worker records the wall-clock time of its first step
in the checkpoint's state.json. Run twice: the second run has every cache warm (on CPU
tsalign uses torch's AdamW, so DeepSpeed compiles no op). Target: < 30 s.

Run: python benchmarks/training_startup.py [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _training_common as common
import yaml

from tsalign.components.state import record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dataset = common.write_dataset(root / "data")
        record(root / "outputs", dataset.name, dataset)
        config = {
            "data": common.data_cfg().model_dump(include={"name", "source", "window"}),
            "model": {"name": "gpt4ts", "n_layers": 2},
            "compare": [],
            "train": {
                "num_workers": 1,
                "deepspeed_preset": "zero0",
                "epochs": 1,
                "max_train_windows": 64,
                "max_val_windows": 32,
                "storage_path": str(root / "runs"),
            },
            "workdir": str(root / "outputs"),
        }
        (root / "cfg.yaml").write_text(yaml.safe_dump(config))
        env = {
            **os.environ,
            "PREFECT_HOME": str(root / ".prefect"),
            # a busy machine needs more than the 20 s default for the ephemeral server
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
            # every run must train: the stage cache would answer runs 2..n from run 1
            "PREFECT_TASKS_REFRESH_CACHE": "true",
        }
        env.pop("RAY_ADDRESS", None)
        for run in range(1, args.runs + 1):
            before = set((root / "runs").glob("*/checkpoint_*/state.json"))
            started = time.time()
            proc = subprocess.run(
                [sys.executable, "-c", "from tsalign.flows.cli import entry; entry()", "train", "--config",
                 str(root / "cfg.yaml")],
                cwd=root, env=env, capture_output=True, text=True,
            )  # fmt: skip
            ended = time.time()
            if proc.returncode != 0:
                sys.exit(proc.stderr[-3000:])
            (state_path,) = set((root / "runs").glob("*/checkpoint_*/state.json")) - before
            first = json.loads(state_path.read_text())["first_step_at"]
            print(
                f"run {run}: first step {first - started:5.1f} s after `tsalign train` started "
                f"(whole command {ended - started:5.1f} s)"
            )
    print("target: < 30 s to the first step")


if __name__ == "__main__":
    main()
