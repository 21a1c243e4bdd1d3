"""Run ``tsalign run`` as a user would: a subprocess in a fresh git + DVC project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "flows"))
from _flow_helpers import make_project

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "configs" / "tiny.yaml"

__all__ = ["PASSWORD", "REPO", "TINY", "make_project", "run_tsalign", "tsalign_cli"]

PASSWORD = "Hunter2-not-a-real-pw"
"""Written into the shared tiny runs' configs (tests/e2e/conftest.py); must be masked at rest."""


def tsalign_cli(
    project: Path, command: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``tsalign <command> *args`` in ``project`` on the embedded Prefect server, as on a laptop."""
    full_env = {**os.environ, "PREFECT_HOME": str(project / ".prefect"), **(env or {})}
    full_env.pop("PREFECT_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "tsalign", command, *args],
        cwd=project,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def run_tsalign(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``tsalign run *args`` in ``project``."""
    return tsalign_cli(project, "run", *args, env=env)
