"""After real runs, no password is left anywhere tsalign or Prefect keeps things.

Two `tsalign run`s of a tiny config in a fresh git + DVC project, through the embedded Prefect
server, Ray Train + DeepSpeed and DVC, as a user would start them:

1. ``model.params.endpoint_url`` (llmtime) with a ``user:password@`` part: refused when the config is
   loaded (exit 1, the message names the field and not the password, nothing written);
2. a password inside ``data.description``: the run completes and publishes, and the password
   is masked everywhere.

Then every byte under the project — data/, the DVC cache and remote, outputs/, the Ray Train
storage, the registry, and the Prefect database and result cache — and the CLI's log file are
searched for it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from _e2e_helpers import TINY, make_project, run_tsalign

PASSWORD = "Hunter2-not-a-real-pw"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FAST = [
    "compare=[]",
    "train.num_workers=1",
    "train.deepspeed_preset=zero0",
    "train.max_steps=2",
    "train.max_val_windows=16",
    "eval.max_test_windows=16",
    "profile.plots=false",
    "schedule.active=false",
]


def _tsalign(project: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = {
        "PREFECT_LOCAL_STORAGE_PATH": str(project / ".prefect" / "storage"),
        "TSALIGN_LOG_FILE": str(_log_file(project)),  # searched too
    }
    return run_tsalign(project, "--config", str(TINY), *FAST, *overrides, env=env)


def _log_file(project: Path) -> Path:
    return project.parent / "tsalign.log"


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}


def _files_holding(root: Path, needle: bytes) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and needle in p.read_bytes()
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("project"))


def test_no_password_survives_a_run(project: Path) -> None:
    before = _files(project)
    refused = _tsalign(
        project,
        "model.name=llmtime",
        "model.params.endpoint_url=http://bob:" + PASSWORD + "@127.0.0.1:9/v1",
    )
    output = refused.stdout + refused.stderr
    assert refused.returncode == 1, output[-4000:]
    assert "model.params.endpoint_url" in output and "user:password@" in output
    assert PASSWORD not in output and "Traceback" not in output
    assert _files(project) == before  # nothing written (Prefect may create its empty home)

    done = _tsalign(project, f"data.description=Grid meter, db password={PASSWORD} (kW)")
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.strip().splitlines()[-1] == "tiny-forecaster:1"
    stored = {
        "registry": project / "registry",
        "dvc remote": project / ".dvc-remote",
        "dvc cache": project / ".dvc" / "cache",
        "data": project / "data",
        "outputs": project / "outputs",
        "ray storage": project / "runs",
        "prefect": project / ".prefect",
    }
    for where, root in stored.items():
        assert root.is_dir() and any(root.rglob("*")), f"{where}: nothing stored at {root}"
    assert (project / ".prefect" / "prefect.db").is_file()
    leaks = _files_holding(project, PASSWORD.encode())
    assert leaks == [], f"password found in {leaks}"
    log = _log_file(project)
    assert log.is_file() and PASSWORD.encode() not in log.read_bytes()
    # The masked description did reach the places the password would have gone.
    meta = (project / "data" / "vic_elec.meta.json").read_text()
    assert "db password=***" in meta
    assert _files_holding(project / ".prefect", b"db password=***")  # flow-run parameters
