"""The CLI's edges: help for newcomers, config errors as exit code 1 with the field path."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner(env={"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "160"})


def test_help_lists_every_stage_and_tool():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "run",
        "ingest",
        "profile",
        "train",
        "evaluate",
        "publish",
        "models",
        "predict",
        "data",
        "registry",
    ):
        assert command in result.output


@pytest.mark.parametrize("command", ["run", "ingest", "profile", "train", "evaluate", "publish"])
def test_each_stage_help_shows_config_and_overrides(command: str):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--config" in result.output and "[overrides]" in result.output


def test_bad_override_exits_1_naming_the_field():
    result = runner.invoke(app, ["ingest", "train.epochs=zero"])
    assert result.exit_code == 1
    assert "train.epochs" in result.output


def test_unknown_key_in_file_exits_1(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("# tsalign run --config bad.yaml\nmodel:\n  nam: gpt4ts\n")
    result = runner.invoke(app, ["run", "--config", str(path)])
    assert result.exit_code == 1
    assert "model.nam: remove it or fix its spelling" in result.output


def test_data_rev_option_becomes_data_rev_override():
    from flows.cli.common import load

    assert load(None, ["train.epochs=2"], "abc123").data.rev == "abc123"


def test_module_entry_point_is_the_run_command():
    result = subprocess.run(
        [sys.executable, "-m", "flows.pipeline", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert "Run the whole pipeline" in result.stdout
