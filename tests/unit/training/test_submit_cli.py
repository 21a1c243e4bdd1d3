"""Pure parts of `tsalign submit`: address resolution, entrypoint and job environment."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import typer

from flows.cli.cluster import build_entrypoint, job_env, jobs_address


def test_address_prefers_flag_then_config_then_env(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "http://env:8265")
    assert jobs_address("http://flag:8265", "http://cfg:8265") == "http://flag:8265"
    assert jobs_address(None, "http://cfg:8265") == "http://cfg:8265"
    assert jobs_address(None, None) == "http://env:8265"
    monkeypatch.delenv("RAY_ADDRESS")
    with pytest.raises(typer.Exit):
        jobs_address(None, None)


def test_entrypoint_is_relative_to_the_working_dir_and_joins_the_job_cluster(tmp_path: Path):
    (tmp_path / "configs").mkdir()
    cfg = tmp_path / "configs" / "my run.yaml"
    cfg.write_text("{}")
    cmd = shlex.split(build_entrypoint(cfg, tmp_path, ["train.epochs=2"], pipeline=False))
    assert cmd == [
        "tsalign", "train", "--config", "configs/my run.yaml", "train.epochs=2",
        "train.ray_address=null",
    ]  # fmt: skip
    assert shlex.split(build_entrypoint(cfg, tmp_path, [], pipeline=True))[1] == "run"
    with pytest.raises(typer.Exit):
        build_entrypoint(cfg, tmp_path / "configs" / "elsewhere", [], pipeline=False)


def test_job_env_forwards_the_prefect_server_only_when_set():
    assert "PREFECT_API_URL" not in job_env({})
    env = job_env({"PREFECT_API_URL": "http://127.0.0.1:4200/api", "RAY_AUTH_MODE": "token"})
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"
    assert env["RAY_AUTH_MODE"] == "token"
    assert int(env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]) >= 60
