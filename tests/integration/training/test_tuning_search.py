"""A real Ray Tune search over Ray Train + DeepSpeed trials (CPU workers, gloo), killed and resumed.

The search (4 trials of DLinear, at most 2 epochs each, ASHA on validation loss, one trial
at a time so ASHA's decisions do not depend on timing) runs in a driver process that is
killed by SIGKILL once the first trial has finished. Rerunning the same search must
restore it with ``Tuner.restore``: the finished trial is kept as it was (its results are
not written again), the others run, and the search ends with every trial accounted for,
at least one stopped early by ASHA, and the chosen trial's best checkpoint on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_faults import _reap_group

from tsalign.components.models import load_pretrained
from tsalign.components.refs import TrainResult

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SAMPLES, EPOCHS = 4, 2

DRIVER = """
import sys
sys.path.insert(0, {tests!r})
import _tiny
from pathlib import Path
from tsalign.components.config import ModelConfig, ProtocolConfig, TuneConfig
from tsalign.components.models import ModelSpec
from tsalign.components.training.tuning import tune_candidate
root = Path({root!r})
ds = _tiny.write_dataset(root / "data")
# A 48-step window, so that every DLinear kernel of the search space (13, 25) fits.
window = {{"seq_len": 48, "horizon": 6}}
result = tune_candidate(
    ds,
    ProtocolConfig(window=window),
    ModelConfig(name="dlinear"),
    _tiny.train_cfg(root / "runs", num_workers=1),
    TuneConfig(num_samples={samples}, max_epochs={epochs}, grace_period=1, max_concurrent_trials=1),
    ModelSpec(seq_len=48, horizon=6, n_channels=1, season=24, domain_context=""),
    root / "out",
)
print("RESULT", result.model_dump_json())
"""


def _driver(root: Path) -> subprocess.Popen:
    script = DRIVER.format(
        tests=str(Path(__file__).parent), root=str(root), samples=SAMPLES, epochs=EPOCHS
    )
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_ADDRESS": ""}
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the local Ray it starts dies with it
    )


def _finished_trials(runs: Path) -> dict[str, str]:
    """trial dir name -> its result log, for each trial whose last epoch was its final one."""
    done = {}
    for log in runs.glob("tune-dlinear-*/*/result.json"):
        lines = log.read_text().splitlines()
        if lines and json.loads(lines[-1]).get("final"):
            done[log.parent.name] = log.read_text()
    return done


def _wait_for_a_finished_trial(runs: Path, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _finished_trials(runs):
            return
        if proc.poll() is not None:
            raise AssertionError(
                f"driver exited early with {proc.returncode}: {proc.stdout.read()}"
            )
        time.sleep(0.2)
    raise AssertionError(f"no trial finished in {runs} within {timeout_s} s")


def test_search_resumes_after_the_driver_is_killed(tmp_path: Path):
    runs = tmp_path / "runs"
    first = _driver(tmp_path)
    try:
        _wait_for_a_finished_trial(runs, first, timeout_s=400)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
        _reap_group(first)
    before = _finished_trials(runs)
    assert len(before) < SAMPLES, "the driver was killed after the search had finished"

    second = _driver(tmp_path)
    out, _ = second.communicate(timeout=600)
    _reap_group(second)
    assert second.returncode == 0, out[-4000:]
    result = TrainResult.model_validate_json(out.split("RESULT ", 1)[1].strip().splitlines()[0])
    search = result.tuning
    assert search is not None and search.restored
    # Restored, not started over: the trials finished before the kill kept their results.
    assert {name: _finished_trials(runs)[name] for name in before} == before
    assert len(search.trials) == SAMPLES
    assert len(list(runs.glob("tune-dlinear-*/*/result.json"))) == SAMPLES
    errors = [(t.trial_id, t.error) for t in search.trials if t.status == "error"]
    assert not errors, f"{errors}\n{out[-3000:]}"
    stopped = [t for t in search.trials if t.status == "stopped_early"]
    assert stopped, "ASHA stopped no trial"
    assert all(t.epochs < EPOCHS for t in stopped)
    # The choice is the lowest validation loss; every trial's settings are in the record.
    chosen = search.chosen_trial
    assert chosen.val_loss == min(t.val_loss for t in search.trials if t.val_loss is not None)
    assert result.overrides == {"train.epochs": EPOCHS, **chosen.overrides}
    assert 1e-5 <= result.overrides["train.lr"] <= 1e-2
    assert set(search.space) == set(chosen.overrides)
    assert min(result.curves["val_loss"]) == pytest.approx(chosen.val_loss)
    _, model_cfg, _ = load_pretrained(Path(result.checkpoint_uri))
    assert model_cfg.name == "dlinear"
    assert model_cfg.params.moving_avg == result.overrides["model.params.moving_avg"]
    record = json.loads(Path(search.report_path).read_text())
    assert record["chosen"] == chosen.trial_id
