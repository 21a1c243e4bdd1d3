"""Helpers shared by the data integration tests (fixtures live in conftest.py)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "broken"
ETTH1 = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ett" / "ETTh1.csv"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "tsalign-tests",
    "GIT_AUTHOR_EMAIL": "tests@tsalign.invalid",
    "GIT_COMMITTER_NAME": "tsalign-tests",
    "GIT_COMMITTER_EMAIL": "tests@tsalign.invalid",
}


def git_commit(root: Path, message: str, *paths: str) -> str:
    """Commit ``paths`` in ``root`` and return the commit sha."""
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "add", *paths], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=root, check=True, env=env)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, check=True, env=env, capture_output=True, text=True
    ).stdout.strip()


def tree_digest(*roots: Path) -> dict[str, str]:
    """sha256 of every file under the given paths (files or directories), by path."""
    out: dict[str, str] = {}
    for root in roots:
        files = (
            [root]
            if root.is_file()
            else sorted(p for p in root.rglob("*") if p.is_file())
            if root.exists()
            else []
        )
        for path in files:
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        if not root.exists():
            out[str(root)] = "<absent>"
    return out
