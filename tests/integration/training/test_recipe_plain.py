"""The training recipe without Ray: ``python -m tsalign.components.training.recipe`` in one process.

It reads the dataset the ingest stage recorded in the workdir, trains, writes its
checkpoints under ``<storage_path>/<run name>/`` and resumes from them; for the same
seed and one worker its per-epoch validation losses equal the Ray Train path's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import _tiny
import pytest
import yaml

from tsalign.components.state import record
from tsalign.components.training.checkpoint import read_state
from tsalign.components.training.launcher import launch_training

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SETTINGS = {
    "num_workers": 1,
    "deepspeed_preset": "zero0",
    "epochs": 2,
    "max_train_windows": 64,
    "max_val_windows": 32,
}


def _plain(config: Path, *overrides: str) -> subprocess.CompletedProcess:
    # One intra-op thread, as Ray gives a one-CPU worker: the same float reduction order.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu"}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tsalign.components.training.recipe",
            "--config",
            str(config),
            *overrides,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_plain_process_matches_ray_and_resumes(ray_local, dataset, tmp_path: Path):
    ray_run = launch_training(
        _tiny.job(dataset, _tiny.train_cfg(tmp_path / "ray", **SETTINGS), "ray-gpt4ts")
    )

    workdir = tmp_path / "work"
    record(workdir, dataset.name, dataset)  # what `tsalign ingest` leaves for later stages
    config = tmp_path / "run.yaml"
    train = _tiny.train_cfg(tmp_path / "plain", run_name="plain", **SETTINGS)
    config.write_text(
        yaml.safe_dump(
            {
                "data": _tiny.data_cfg().model_dump(mode="json"),
                "model": _tiny.model_cfg().model_dump(mode="json"),
                "train": train.model_dump(mode="json"),
                "workdir": str(workdir),
            }
        )
    )
    done = _plain(config)
    assert done.returncode == 0, done.stderr[-3000:]
    final = Path(done.stdout.strip().splitlines()[-1])
    assert final.parent == tmp_path / "plain" / "plain-gpt4ts"
    plain = read_state(final)
    assert plain.epoch == 2 and len(plain.curves.val_loss) == 2
    assert plain.curves.val_loss == pytest.approx(ray_run.curves["val_loss"], rel=0, abs=1e-6)
    assert (final / "model" / "tsalign_model.json").is_file()

    # The same run name continues from its latest checkpoint instead of starting over.
    more = _plain(config, "train.epochs=3")
    assert more.returncode == 0, more.stderr[-3000:]
    resumed = read_state(Path(more.stdout.strip().splitlines()[-1]))
    assert resumed.epoch == 3 and resumed.resumed_from == [2]
    assert resumed.curves.val_loss[:2] == plain.curves.val_loss


def test_plain_process_user_error_is_one_line(tmp_path: Path):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"train": {"use_gpu": True}}))
    done = _plain(config)
    assert done.returncode == 1
    assert "train.use_gpu was replaced by train.device" in done.stderr
    assert "Traceback" not in done.stderr
