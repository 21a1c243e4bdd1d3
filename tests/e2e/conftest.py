"""The project that test_pipeline.py and test_no_secrets_at_rest.py both read.

Each ``tsalign run`` costs a Prefect, Ray and DeepSpeed start, so the two modules read the
same runs, made once in a fresh git + DVC project as a user would start them: first a run
refused when its config is loaded (a password in an llmtime endpoint URL), then
configs/tiny.yaml twice, its ``data.description`` carrying a password that every stage must
mask wherever it keeps the description.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from _e2e_helpers import PASSWORD, TINY, make_project, run_tsalign

DESCRIPTION = f"data.description=Grid meter, db password={PASSWORD} (kW)"


@dataclass(frozen=True)
class TinyRuns:
    """What the shared runs left: their project, output and the files around the refused run."""

    project: Path
    log_file: Path  # TSALIGN_LOG_FILE of every run
    refused: subprocess.CompletedProcess
    files_before_refused: set[Path]
    files_after_refused: set[Path]
    runs: list[subprocess.CompletedProcess]  # tiny.yaml twice: versions 1 and 2


def project_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> TinyRuns:
    project = make_project(tmp_path_factory.mktemp("project"))
    log_file = project.parent / "tsalign.log"
    env = {
        "PREFECT_LOCAL_STORAGE_PATH": str(project / ".prefect" / "storage"),
        "TSALIGN_LOG_FILE": str(log_file),  # searched for the password too
    }
    before = project_files(project)
    refused = run_tsalign(
        project,
        "--config",
        str(TINY),
        "model.name=llmtime",
        f"model.params.endpoint_url=http://bob:{PASSWORD}@127.0.0.1:9/v1",
        env=env,
    )
    after = project_files(project)
    runs = [run_tsalign(project, "--config", str(TINY), DESCRIPTION, env=env) for _ in range(2)]
    return TinyRuns(project, log_file, refused, before, after, runs)
