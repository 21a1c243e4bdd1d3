"""Pure parts of `tsalign submit`: address resolution, entrypoint and job environment."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import typer

from tsalign.flows.cli.cluster import (
    build_entrypoint,
    check_auth,
    default_ray_auth_mode,
    is_loopback,
    job_env,
    jobs_address,
)


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
    env = job_env(
        {
            "PREFECT_API_URL": "http://127.0.0.1:4200/api",
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": "s3cret-token",
        }
    )
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"
    assert int(env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]) >= 60
    # The job inherits the cluster's auth mode; neither the mode nor the token travels in the
    # runtime env (readable by anyone who can list the cluster's jobs).
    assert not {"RAY_AUTH_MODE", "RAY_AUTH_TOKEN"} & set(env)
    assert "disabled" not in job_env({}).values()


def test_auth_mode_defaults_to_token_whenever_a_token_exists(tmp_path: Path):
    assert default_ray_auth_mode({}, tmp_path) == "disabled"  # private local instance only
    assert default_ray_auth_mode({"RAY_AUTH_TOKEN": "t"}, tmp_path) == "token"
    assert default_ray_auth_mode({"RAY_AUTH_TOKEN_PATH": "/x"}, tmp_path) == "token"
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("t")
    assert default_ray_auth_mode({}, tmp_path) == "token"
    assert default_ray_auth_mode({"RAY_AUTH_MODE": "disabled"}, tmp_path) == "disabled"


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("http://127.0.0.1:8265", True),
        ("http://localhost:8265", True),
        ("127.0.0.1:6379", True),
        ("http://[::1]:8265", True),
        ("http://10.0.0.5:8265", False),
        ("http://head.internal:8265", False),
        ("http://0.0.0.0:8265", False),
    ],
)
def test_remote_jobs_api_needs_token_auth(address: str, loopback: bool):
    assert is_loopback(address) is loopback
    check_auth(address, {"RAY_AUTH_MODE": "token"})  # always fine with a token
    if loopback:
        check_auth(address, {"RAY_AUTH_MODE": "disabled"})
    else:
        with pytest.raises(typer.Exit):
            check_auth(address, {"RAY_AUTH_MODE": "disabled"})
        with pytest.raises(typer.Exit):
            check_auth(address, {})
