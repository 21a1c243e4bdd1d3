"""``tsalign init`` and the entry point's environment defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from tsalign.components.config import load_config
from tsalign.flows.cli import app, set_environment_defaults
from tsalign.flows.cli.init import shipped_examples

runner = CliRunner()


def test_importing_the_cli_leaves_the_environment_alone():
    probe = (
        "import os; before = dict(os.environ); import tsalign.flows.cli; "
        "print(sorted(set(os.environ.items()) ^ set(before.items())))"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"HF_HUB_OFFLINE", "RAY_AUTH_MODE"}}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_entry_point_sets_offline_defaults_but_keeps_what_the_user_set():
    env = {"HF_HUB_OFFLINE": "0"}
    set_environment_defaults(env)
    assert env["HF_HUB_OFFLINE"] == "0"
    assert env["TOKENIZERS_PARALLELISM"] == "false"
    assert env["RAY_AUTH_MODE"] in {"token", "disabled"}


def test_every_shipped_example_is_a_valid_config():
    examples = shipped_examples()
    assert {"default", "tiny"} <= set(examples)
    for text in examples.values():
        assert isinstance(yaml.safe_load(text), dict)


def test_init_creates_a_dvc_project_with_a_starter_config(tmp_path: Path):
    result = runner.invoke(app, ["init", str(tmp_path / "p"), "--example", "tiny"])
    assert result.exit_code == 0, result.output
    project = tmp_path / "p"
    assert (project / ".git").is_dir() and (project / ".dvc" / "config").is_file()
    assert "remote = local" in (project / ".dvc" / "config").read_text()
    config = project / "configs" / "tiny.yaml"
    assert load_config(config).registry.model_name == "tiny-forecaster"


def test_init_refuses_an_unknown_example_and_leaves_nothing(tmp_path: Path):
    result = runner.invoke(app, ["init", str(tmp_path / "p"), "--example", "huge"])
    assert result.exit_code == 1
    assert "--example" in result.output and "default" in result.output
    assert not (tmp_path / "p").exists()


def test_init_refuses_a_remote_that_is_not_s3(tmp_path: Path):
    result = runner.invoke(app, ["init", str(tmp_path / "p"), "--remote", "ftp://x/y"])
    assert result.exit_code == 1 and "--remote" in result.output
    assert not (tmp_path / "p").exists()


def test_init_keeps_an_existing_config(tmp_path: Path):
    config = tmp_path / "configs" / "default.yaml"
    config.parent.mkdir()
    config.write_text("mine: true\n")
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 1 and "already exists" in result.output
    assert config.read_text() == "mine: true\n"
