"""After real runs, no password is left anywhere tsalign or Prefect keeps things.

The `tsalign run`s of tests/e2e/conftest.py's shared project (fresh git + DVC project, the
embedded Prefect server, Ray Train + DeepSpeed and DVC, as a user would start them):

1. ``model.params.endpoint_url`` (llmtime) with a ``user:password@`` part: refused when the config is
   loaded (exit 1, the message names the field and not the password, nothing written);
2. a password inside ``data.description``, in configs/tiny.yaml run twice: the runs complete and
   publish, and the password is masked everywhere.

Then every byte under the project — data/, the DVC cache and remote, outputs/, the Ray Train
storage, the registry, and the Prefect database and result cache — and the CLI's log file are
searched for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _e2e_helpers import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _files_holding(root: Path, needle: bytes) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and needle in p.read_bytes()
    )


def test_no_password_survives_a_run(tiny_runs) -> None:
    project, refused = tiny_runs.project, tiny_runs.refused
    output = refused.stdout + refused.stderr
    assert refused.returncode == 1, output[-4000:]
    assert "model.params.endpoint_url" in output and "user:password@" in output
    assert PASSWORD not in output and "Traceback" not in output
    # nothing written (Prefect may create its empty home)
    assert tiny_runs.files_after_refused == tiny_runs.files_before_refused

    done = tiny_runs.runs[0]
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
    log = tiny_runs.log_file
    assert log.is_file() and PASSWORD.encode() not in log.read_bytes()
    # The masked description did reach the places the password would have gone.
    meta = (project / "data" / "vic_elec.meta.json").read_text()
    assert "db password=***" in meta
    assert _files_holding(project / ".prefect", b"db password=***")  # flow-run parameters
