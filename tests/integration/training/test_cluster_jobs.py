"""A real 2-node Ray cluster on 127.0.0.1 (infra/local scripts), a training job submitted
through the Ray Jobs API with `tsalign submit`, and `tsalign jobs` listing it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import _tiny
import pytest
import yaml

from tsalign.components.state import record

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]


def _env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        out[key] = value.strip('"')
    return out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """Head + worker node (1 CPU each), started and stopped by the shipped scripts."""
    state = tmp_path_factory.mktemp("ray-cluster")
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("RAY_ADDRESS", None)
    start = subprocess.run(
        [str(REPO / "infra/local/ray-cluster-start.sh"), str(state)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    try:
        assert start.returncode == 0, start.stdout + start.stderr
        yield _env_file(state / "cluster.env")
    finally:
        recorded = _env_file(state / "cluster.env") if (state / "cluster.env").exists() else {}
        subprocess.run(
            [str(REPO / "infra/local/ray-cluster-stop.sh"), str(state)], env=env, timeout=120
        )
        tmp = recorded.get("TSALIGN_RAY_TMP")
        if tmp:  # nothing of this cluster is left running
            ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
            assert tmp not in ps


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working dir with a config; dataset, stage state and runs on paths both nodes see."""
    root = tmp_path_factory.mktemp("project")
    shared = tmp_path_factory.mktemp("shared")
    dataset = _tiny.write_dataset(shared / "data")
    record(shared / "outputs", dataset.name, dataset)
    config = {
        "data": {"name": "tiny", "source": "synthetic", "window": {"seq_len": 24, "horizon": 6}},
        "model": _tiny.model_cfg().model_dump(mode="json", exclude_unset=True),
        "compare": [],
        "train": {
            "num_workers": 2,  # 1 CPU per node: one worker must land on each node
            "cpus_per_worker": 1,
            "epochs": 1,
            "batch_size": 16,
            "max_train_windows": 64,
            "max_val_windows": 32,
            "storage_path": str(shared / "runs"),
        },
        "workdir": str(shared / "outputs"),
    }
    (root / "job.yaml").write_text(
        "# Run: tsalign submit job.yaml --address <dashboard>\n" + yaml.safe_dump(config)
    )
    return root


def _tsalign(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ}
    env.pop("RAY_ADDRESS", None)
    return subprocess.run(
        [sys.executable, "-c", "from tsalign.flows.cli import entry; entry()", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_submitted_training_succeeds_on_both_nodes(cluster, project: Path):
    import ray

    address = cluster["RAY_JOBS_ADDRESS"]
    proc = _tsalign(project, "submit", "job.yaml", "--address", address)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "SUCCEEDED" in out
    assert "best checkpoint" in out  # the job's own log lines were streamed back

    states = list(
        Path(yaml.safe_load((project / "job.yaml").read_text())["train"]["storage_path"]).glob(
            "*/checkpoint_*/state.json"
        )
    )
    assert len(states) == 1
    used = set(json.loads(states[0].read_text())["nodes"])
    ray.init(address=cluster["RAY_ADDRESS"], logging_level="ERROR")
    try:
        alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    finally:
        ray.shutdown()
    assert len(used) == 2 and used == alive

    listing = _tsalign(project, "jobs", "--address", address)
    assert listing.returncode == 0, listing.stderr[-2000:]
    assert "SUCCEEDED" in listing.stdout + listing.stderr


def test_failed_job_exits_non_zero(cluster, project: Path):
    proc = _tsalign(
        project,
        "submit",
        "job.yaml",
        "--address",
        cluster["RAY_JOBS_ADDRESS"],
        # Valid where it is submitted; only the job finds no ingested dataset there.
        f"workdir={project / 'no-ingest-here'}",
    )
    assert proc.returncode != 0
    assert "FAILED" in proc.stdout + proc.stderr
