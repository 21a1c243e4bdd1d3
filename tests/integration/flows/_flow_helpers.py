"""Helpers shared by the Prefect integration tests: a user's project, a fast config."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from tsalign.components.config import RunConfig, load_config
from tsalign.components.data import ensure_dvc_project

REPO = Path(__file__).resolve().parents[3]
TINY = REPO / "configs" / "tiny.yaml"


def make_project(root: Path) -> Path:
    """A git repository with DVC initialised, like a user's clone."""
    ensure_dvc_project(root)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=root, check=True)
    return root


def fast_config(workdir: Path, *overrides: str) -> RunConfig:
    """configs/tiny.yaml, one candidate, one worker, 2 optimizer steps, outputs under ``workdir``.

    One worker: a second one costs each training run another process importing torch,
    transformers and DeepSpeed, and these tests are about the stages around training
    (tests/e2e/test_pipeline.py trains tiny.yaml's two workers through the pipeline).
    """
    return load_config(
        TINY,
        [
            "compare=[]",
            "train.num_workers=1",
            "train.max_steps=2",
            f"train.storage_path={workdir / 'runs'}",
            f"registry.uri={workdir / 'registry'}",
            f"workdir={workdir / 'outputs'}",
            "schedule.active=false",
            *overrides,
        ],
    )


# --- a real Prefect server and `tsalign serve`, as a user starts them -------------------

START = REPO / "infra" / "local" / "prefect-server-start.sh"
STOP = REPO / "infra" / "local" / "prefect-server-stop.sh"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def prefect_server(directory: Path) -> Iterator[str]:
    """``prefect server start`` on 127.0.0.1 (SQLite under ``directory``); yields the API URL."""
    port = free_port()
    started = subprocess.run(
        ["bash", str(START), str(directory), str(port)], capture_output=True, text=True, timeout=240
    )
    try:
        assert started.returncode == 0, started.stderr + (directory / "server.log").read_text()
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(STOP), str(directory)], capture_output=True, timeout=60)


def write_config(path: Path, config: RunConfig) -> Path:
    path.write_text(
        "# tsalign serve --config "
        + path.name
        + "\n"
        + yaml.safe_dump(config.model_dump(mode="json"))
    )
    return path


def prefect_env(api_url: str, home: Path) -> dict[str, str]:
    """Environment of a process talking to the test server with its own PREFECT_HOME."""
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(home)}
    env["PREFECT_LOCAL_STORAGE_PATH"] = str(home / "storage")
    env.pop("PREFECT_PROFILES_PATH", None)
    return env


@contextmanager
def serving(
    project: Path, config_path: Path, api_url: str, home: Path, only: list[str] | None = None
) -> Iterator[dict[str, str]]:
    """``tsalign serve`` in a subprocess; yields {flow name: deployment id} once registered."""
    flows = only or ["pipeline", "ingest", "profile", "train", "evaluate", "publish"]
    cmd = [
        sys.executable,
        "-c",
        "import sys; from tsalign.flows.cli import entry; entry(sys.argv[1:])",
        "serve",
        "--config",
        str(config_path),
        "--project",
        str(project),
        *(arg for name in flows for arg in ("--only", name)),
    ]
    log = open(home / "serve.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        cmd,
        cwd=project,
        env=prefect_env(api_url, home),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its flow-run subprocesses share the group: one kill stops all
    )
    try:
        ids: dict[str, str] = {}
        deadline = time.monotonic() + 180
        while len(ids) < len(flows):
            assert proc.poll() is None, (home / "serve.log").read_text()[-4000:]
            assert time.monotonic() < deadline, "deployments did not appear on the server"
            for name in flows:
                resp = httpx.get(f"{api_url}/deployments/name/{name}/tsalign", timeout=10)
                if resp.status_code == 200:
                    ids[name] = resp.json()["id"]
            time.sleep(1)
        yield ids
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def wait_for_flow_run(api_url: str, run_id: str, timeout_s: float = 600) -> dict:
    """Poll the flow run until it reaches a terminal state; return it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = httpx.get(f"{api_url}/flow_runs/{run_id}", timeout=10).json()
        if run["state"] and run["state"]["type"] in TERMINAL:
            return run
        time.sleep(2)
    raise AssertionError(f"flow run {run_id} did not finish in {timeout_s:.0f} s")


def create_flow_run(api_url: str, deployment_id: str, parameters: dict) -> httpx.Response:
    """POST /deployments/{id}/create_flow_run as the UI does; a busy server's 503 is retried
    (like Prefect's own client does)."""
    for _ in range(10):
        resp = httpx.post(
            f"{api_url}/deployments/{deployment_id}/create_flow_run",
            json={"parameters": parameters, "state": {"type": "SCHEDULED"}},
            timeout=30,
        )
        if resp.status_code not in (429, 502, 503):
            return resp
        time.sleep(2)
    return resp
