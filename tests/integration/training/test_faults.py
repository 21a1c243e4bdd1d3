"""Faults of a real Ray Train + DeepSpeed run (2 CPU workers, ZeRO-2, gloo).

- a training worker killed by pid mid-run: the worker group restarts from the last
  checkpoint (FailureConfig) and the run finishes with the same validation loss as an
  uninterrupted run, within ``VAL_TOLERANCE`` (relative);
- the driver killed mid-run: the same run name resumes from the latest checkpoint in
  storage, and its epoch counter continues where the killed run stopped;
- NaN loss: TrainingDiverged names the step and train.lr, and the checkpoints written
  before are still loadable.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import _tiny
import pytest

from tsalign.components.models import load_pretrained
from tsalign.components.training.checkpoint import TrainState, read_state
from tsalign.components.training.launcher import launch_training
from tsalign.components.training.worker import TrainingDiverged

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VAL_TOLERANCE = 0.02
"""Relative gap allowed between the interrupted and the uninterrupted final val loss.

Resume restores weights, Adam moments, the LR schedule and each rank's RNG, and the
sampler order is a function of the epoch, so the two runs are expected to agree to
float noise; 2 % leaves room for reduction-order differences only."""

LONG = {"epochs": 4, "max_train_windows": 1536}  # ~2 s per epoch: time to kill mid-run


def _train(dataset, storage: Path, name: str, **overrides):
    train = _tiny.train_cfg(storage, run_name=name, **overrides)
    # f"{name}-gpt4ts" is what effective_run_name gives for a fixed train.run_name.
    return launch_training(_tiny.job(dataset, train, f"{name}-gpt4ts"))


def _checkpoints(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob("checkpoint_epoch*"))


def _wait_for_checkpoint(run_dir: Path, count: int, timeout_s: float, proc=None) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # The snapshot is written after the upload: a listed checkpoint is complete.
        snapshot = run_dir / "checkpoint_manager_snapshot.json"
        if snapshot.is_file() and len(_checkpoints(run_dir)) >= count:
            return _checkpoints(run_dir)[-1]
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"driver exited early with {proc.returncode}")
        time.sleep(0.1)
    raise AssertionError(f"no checkpoint {count} in {run_dir} within {timeout_s} s")


def _state(result) -> TrainState:
    return read_state(Path(result.checkpoint_uri).parent)


@pytest.fixture(scope="module")
def uninterrupted(ray_local, dataset, tmp_path_factory):
    return _train(dataset, tmp_path_factory.mktemp("runs"), "clean", **LONG)


def test_killed_worker_restarts_from_checkpoint_and_matches(
    ray_local, dataset, tmp_path, uninterrupted
):
    from ray.util.state import list_actors

    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = _train(dataset, tmp_path, "killed", **LONG)
        except BaseException as err:  # handed to the test thread below
            outcome["error"] = err

    thread = threading.Thread(target=run)
    thread.start()
    _wait_for_checkpoint(tmp_path / "killed-gpt4ts", 1, timeout_s=180)
    workers = list_actors(
        address=ray_local,
        filters=[("class_name", "=", "RayTrainWorker"), ("state", "=", "ALIVE")],
    )
    assert len(workers) == 2
    victim = max(w.pid for w in workers)
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=300)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")

    state = _state(outcome["result"])
    assert state.epoch == LONG["epochs"]
    assert len(state.resumed_from) == 1 and state.resumed_from[0] >= 1
    clean_val = _state(uninterrupted).curves.val_loss[-1]
    killed_val = state.curves.val_loss[-1]
    assert abs(killed_val - clean_val) <= VAL_TOLERANCE * clean_val, (killed_val, clean_val)


DRIVER = """
import sys
sys.path.insert(0, {tests!r})
import _tiny
from pathlib import Path
from tsalign.components.training.launcher import launch_training
ds = _tiny.write_dataset(Path({data!r}))
cfg = _tiny.train_cfg(Path({storage!r}), run_name="driver", epochs={epochs}, max_train_windows={windows})
res = launch_training(_tiny.job(ds, cfg, "driver-gpt4ts"))
print("CHECKPOINT", res.checkpoint_uri)
"""


def _driver(tmp_path: Path) -> subprocess.Popen:
    script = DRIVER.format(
        tests=str(Path(__file__).parent),
        data=str(tmp_path / "data"),
        storage=str(tmp_path / "runs"),
        epochs=LONG["epochs"],
        windows=LONG["max_train_windows"],
    )
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_ADDRESS": ""}
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the local Ray it starts dies with it
    )


def _ray_workers_of(driver: int) -> set[int]:
    """Processes of the driver's session (it was started with a new one) outside its process
    group: the Ray workers (actors) it started, each in a process group of its own."""
    workers = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # state ppid pgrp session ...
        except OSError:  # exited meanwhile
            continue
        if int(fields[3]) == driver and int(fields[2]) != driver:
            workers.add(int(stat.parent.name))
    return workers


def _reap_group(proc: subprocess.Popen) -> None:
    """After the driver ended, end what is left of the Ray instance it started.

    A driver that exits shuts its instance down itself, which is waited for. After a driver
    killed by SIGKILL, its actors (training workers, controller) notice within seconds that
    their owner died and exit, while GCS and dashboard processes stay behind with nothing to
    stop them: the group is killed as soon as the actors are gone, so that no file is written
    after the test lists what the killed run left.
    """
    killed = proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        if killed and not _ray_workers_of(proc.pid):
            break
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def test_killed_driver_resumes_same_run_name(tmp_path: Path):
    first = _driver(tmp_path)
    try:
        _wait_for_checkpoint(tmp_path / "runs" / "driver-gpt4ts", 1, timeout_s=180, proc=first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
        _reap_group(first)
    before = _checkpoints(tmp_path / "runs" / "driver-gpt4ts")
    killed_at = read_state(before[-1]).epoch
    assert killed_at < LONG["epochs"], "the driver was killed after training had finished"

    second = _driver(tmp_path)
    out, _ = second.communicate(timeout=300)
    _reap_group(second)
    assert second.returncode == 0, out[-3000:]
    final = Path(out.split("CHECKPOINT ")[-1].strip()).parent
    state = read_state(final)
    # Continued, not started over. It resumes from the latest checkpoint Ray had
    # registered: a checkpoint whose files landed just before the kill may not be
    # in Ray's index yet, so the resume point can be one epoch before the newest
    # directory on disk.
    assert len(state.resumed_from) == 1
    assert 1 <= state.resumed_from[0] <= killed_at
    assert state.epoch == LONG["epochs"]
    assert len(state.curves.val_loss) == LONG["epochs"]  # one entry per epoch in all


def test_nan_loss_names_step_and_knob_and_keeps_checkpoints(ray_local, dataset, tmp_path):
    good = _train(dataset, tmp_path, "nan", epochs=1)
    with pytest.raises(TrainingDiverged, match=r"at optimizer step \d+: lower train\.lr") as err:
        # train.lr is bounded when a config loads, so a value ingest would refuse makes
        # the loss non-finite instead.
        _train(_tiny.write_dataset(tmp_path / "inf", inf_row=100), tmp_path, "nan", epochs=3)
    assert "now 0.003" in str(err.value)
    kept = _checkpoints(tmp_path / "nan-gpt4ts")
    assert [c.name for c in kept] == [Path(good.checkpoint_uri).parent.name]
    model, model_cfg, _ = load_pretrained(Path(good.checkpoint_uri))
    assert model_cfg.name == "gpt4ts"
    assert all(p.isfinite().all() for p in model.parameters())
