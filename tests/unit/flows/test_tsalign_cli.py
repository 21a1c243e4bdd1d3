"""The CLI's edges: help for newcomers, config errors as exit code 1 with the field path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tsalign.flows.cli import app

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
    from tsalign.flows.cli.common import load

    assert load(None, ["train.epochs=2"], "abc123").data.rev == "abc123"


def test_python_dash_m_flows_is_the_tsalign_cli():
    result = subprocess.run(
        [sys.executable, "-m", "tsalign", "run", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert "Run the whole pipeline" in result.stdout


# --- user errors: clean message, exit 1, no traceback, nothing written ---------------------

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "broken"
CONFIG_CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text())["config_cases"]


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[c["id"] for c in CONFIG_CASES])
def test_broken_config_exits_1_before_any_stage(
    case: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    args = ["run", "--project", str(tmp_path)]
    if "file" in case:
        args += ["--config", str(CORPUS / case["file"])]
    result = runner.invoke(app, [*args, *case.get("overrides", [])])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # typer.Exit(1), not a crash
    for word in case["expect"]:
        assert word in result.output, f"{word!r} not in: {result.output}"
    assert list(tmp_path.iterdir()) == []  # no outputs/, data/ or state written


def test_models_lists_the_parameters_of_one_entry():
    result = runner.invoke(app, ["models", "patchtst"])
    assert result.exit_code == 0, result.output
    assert "patch_stride" in result.output and "e_layers" in result.output
    assert "lora_r" not in result.output  # PatchTST has no LM to adapt
    unknown = runner.invoke(app, ["models", "patchtsd"])
    assert unknown.exit_code == 1 and "did you mean 'patchtst'?" in unknown.output


def test_messages_are_never_parsed_as_markup():
    result = runner.invoke(app, ["ingest", "data.name=[/]x"])
    assert result.exit_code == 1, result.output
    # The pattern's character classes and the value's [/] print as themselves.
    assert r"'^[a-z0-9][a-z0-9_\-]*$'" in result.output and "'[/]x'" in result.output


@pytest.mark.slow
def test_user_error_inside_a_stage_prints_one_clean_message(tmp_path: Path):
    """Through the real console script: no Prefect traceback, the traceback goes to the log."""
    from tsalign.components.data import ensure_dvc_project

    ensure_dvc_project(tmp_path / "proj")
    rows = "".join(f"2021-01-01 {h:02d}:00:00,{h}.5\n" for h in range(20))
    csv = tmp_path / "cells.csv"
    csv.write_text("timestamp,load\n" + rows.replace("7.5", "[/x]"))
    log = tmp_path / "tsalign.log"
    env = {**os.environ, "TSALIGN_LOG_FILE": str(log), "COLUMNS": "300"}
    command = [
        shutil.which("tsalign") or "tsalign", "ingest", "--project", str(tmp_path / "proj"),
        f"data.source={csv}", "data.name=cells", "data.window.seq_len=8", "data.window.horizon=4",
        f"workdir={tmp_path / 'out'}",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert output.count("non-numeric value '[/x]' at row 7") == 1, output
    assert "Traceback" not in output and "MarkupError" not in output, output
    assert "Traceback" in log.read_text() and "--debug" in output
    debug = subprocess.run(
        [command[0], "--debug", *command[1:]], capture_output=True, text=True, timeout=300, env=env
    )
    assert debug.returncode == 1 and "Traceback" in debug.stdout + debug.stderr


def test_pipeline_started_from_the_ui_checks_catalogue_names_first(tmp_path: Path):
    from tsalign.components.config import ConfigError, build_config
    from tsalign.flows.pipeline import pipeline

    config = build_config({"compare": ["gpt4ts_wo_llm", "dlinaer"], "workdir": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"compare\[1\]: 'dlinaer' is not in the catalogue"):
        pipeline.fn(config=config, project_root=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["run", "train", "evaluate", "publish"])
def test_a_model_that_cannot_run_the_task_is_refused_up_front(command: str, tmp_path: Path):
    args = [command, "task=classify", "model.name=timellm", f"workdir={tmp_path / 'out'}"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "timellm does not run task=classify: Time-LLM is designed for forecasting" in (
        result.output
    )
    assert not (tmp_path / "out").exists()


def test_pipeline_started_from_the_ui_refuses_a_model_that_cannot_run_the_task(tmp_path: Path):
    from tsalign.components.config import ConfigError, build_config
    from tsalign.flows.pipeline import pipeline

    config = build_config(
        {"task": "classify", "model": {"name": "timellm"}, "workdir": str(tmp_path)}
    )
    with pytest.raises(ConfigError, match="timellm does not run task=classify"):
        pipeline.fn(config=config, project_root=str(tmp_path))
    assert list(tmp_path.iterdir()) == []
