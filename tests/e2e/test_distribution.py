"""The wheel, not the checkout: build it, install it (not editable) into a fresh virtual
environment, then in an empty directory run ``tsalign init`` and ``tsalign run``.

Nothing from the source tree may be on the path: the run reads its DeepSpeed preset and
starter config from the installed package data, and its Ray workers import the installed
``tsalign``. The system packages stand in for the dependencies (``--system-site-packages``),
since the package index is not part of what this proves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
ONE_WORKER_TWO_STEPS = ["train.num_workers=1", "train.max_steps=2"]


def _source_copy(dest: Path) -> Path:
    """The tracked and unignored files of the checkout, so the build never writes into it."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for rel in filter(None, (name.decode() for name in listed)):
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    return dest


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel built from a copy of the source."""
    root = tmp_path_factory.mktemp("dist")
    src = _source_copy(root / "src")
    # The system's setuptools builds (a venv's bundled one may predate the project's minimum).
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(root / "wheels"), str(src)],
        check=True,
    )  # fmt: skip
    wheel = next((root / "wheels").glob("tsalign-*.whl"))
    env_dir = root / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(env_dir)], check=True
    )
    subprocess.run([env_dir / "bin" / "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    return env_dir


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PREFECT_API_URL"}}
    return {**env, "PREFECT_HOME": str(home / ".prefect")}


def test_the_installed_package_is_the_one_imported(venv: Path, tmp_path: Path):
    probe = (
        "import json, tsalign, tsalign.components, tsalign.flows\n"
        "from tsalign.components.training.deepspeed_config import PRESET_DIR, list_presets\n"
        "print(json.dumps([tsalign.__file__, tsalign.components.__file__, "
        "tsalign.flows.__file__, str(PRESET_DIR), list_presets()]))"
    )
    out = subprocess.run(
        [venv / "bin" / "python", "-c", probe],
        cwd=tmp_path,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    *paths, presets = __import__("json").loads(out)
    site = Path(
        sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)})
    ).resolve()
    for path in paths:
        assert Path(path).resolve().is_relative_to(site), f"{path} is not from the wheel"
    assert "zero2" in presets


def test_init_then_run_in_an_empty_directory(venv: Path, tmp_path: Path):
    env = _clean_env(tmp_path)
    tsalign = str(venv / "bin" / "tsalign")
    init = subprocess.run(
        [tsalign, "init", "proj", "--example", "tiny"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    project = tmp_path / "proj"
    assert (project / ".git").is_dir() and (project / ".dvc").is_dir()
    assert (project / "configs" / "tiny.yaml").is_file()

    again = subprocess.run(
        [tsalign, "init", "proj", "--example", "tiny"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 1 and "already exists" in again.stdout + again.stderr

    run = subprocess.run(
        # One candidate, one worker and two steps: this proves the install, not the model.
        [tsalign, "run", "--config", "configs/tiny.yaml", "compare=[]", *ONE_WORKER_TWO_STEPS],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.strip().splitlines()[-1] == "tiny-forecaster:1"
    assert (project / "registry" / "models" / "tiny-forecaster" / "versions" / "1").is_dir()
