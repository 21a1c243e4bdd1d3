"""``tsalign submit`` and ``tsalign jobs``: training (or the whole pipeline) as a Ray Job.

The job runs ``tsalign train`` (or ``tsalign run`` with ``--pipeline``) on the cluster's
head node with the current directory as its working_dir, through the Ray Jobs API
(``JobSubmissionClient``); the address is the cluster's dashboard, e.g.
``http://127.0.0.1:8265`` (``infra/local/ray-cluster-start.sh`` prints one).

Example: tsalign submit configs/tiny.yaml --address http://127.0.0.1:8265 train.epochs=2
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shlex
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from tsalign.flows.cli.common import Overrides, fail, load
from tsalign.flows.console import console, styled

AddressOpt = Annotated[
    str | None,
    typer.Option(
        "--address",
        help="Ray Jobs API (dashboard) address, e.g. http://head:8265; "
        "default: train.ray_address, then RAY_ADDRESS.",
    ),
]

# Not uploaded with the working dir: history, local run outputs, caches (.gitignore is
# honoured by Ray as well).
UPLOAD_EXCLUDES = [".git", "runs", "registry", ".dvc-remote", ".venv", "*.egg-info", "outputs"]
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def jobs_address(cli_address: str | None, config_address: str | None) -> str:
    """--address, then train.ray_address, then RAY_ADDRESS.

    Raises:
        typer.Exit: (via ``fail``) when none is set, saying where to set one.
    """
    address = cli_address or config_address or os.environ.get("RAY_ADDRESS")
    if not address:
        fail(
            "no Ray cluster address: pass --address http://<head>:8265, set "
            "train.ray_address in the config, or export RAY_ADDRESS "
            "(infra/local/ray-cluster-start.sh prints one for a local 2-node cluster)"
        )
    return address


def build_entrypoint(config: Path, working_dir: Path, overrides: list[str], pipeline: bool) -> str:
    """The shell command the job runs, with the config path relative to the working dir.

    ``train.ray_address=null`` makes the job join the cluster it runs on (Ray sets
    RAY_ADDRESS for it) even when the config names the Jobs API address.

    Raises:
        typer.Exit: (via ``fail``) the config lies outside the working dir (not uploaded).
    """
    try:
        rel = config.resolve().relative_to(working_dir.resolve())
    except ValueError:
        fail(
            f"{config}: the config must lie inside the working dir {working_dir} (it is "
            "uploaded with the job); move it there or run from its project directory"
        )
    command = "run" if pipeline else "train"
    args = ["tsalign", command, "--config", str(rel), *overrides, "train.ray_address=null"]
    return shlex.join(args)


def ray_token_available(env: Mapping[str, str], home: Path) -> bool:
    """True when Ray would find an auth token: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or
    ``~/.ray/auth_token`` (Ray's own lookup order)."""
    return bool(
        env.get("RAY_AUTH_TOKEN")
        or env.get("RAY_AUTH_TOKEN_PATH")
        or (home / ".ray" / "auth_token").is_file()
    )


def default_ray_auth_mode(env: Mapping[str, str], home: Path) -> str:
    """RAY_AUTH_MODE for this process when the user did not set one.

    ``token`` whenever a token is available, so `tsalign submit`/`jobs`/`train` authenticate
    to a token-protected cluster without more setup; ``disabled`` otherwise, which only ever
    serves the private local instance a run starts on 127.0.0.1 and the loopback scripts in
    infra/local.
    """
    return env.get("RAY_AUTH_MODE") or ("token" if ray_token_available(env, home) else "disabled")


def is_loopback(address: str) -> bool:
    """True for an address on this machine (127.0.0.0/8, ::1, localhost)."""
    host = urlsplit(address if "://" in address else f"//{address}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_auth(address: str, env: Mapping[str, str]) -> None:
    """Refuse to talk to a remote Jobs API without Ray token authentication.

    A Jobs API runs arbitrary code; only a loopback address (a local cluster, or a remote
    head reached through an SSH tunnel / ``ray dashboard``) may go without a token.

    Raises:
        typer.Exit: (via ``fail``) a remote address with RAY_AUTH_MODE other than ``token``.
    """
    if is_loopback(address) or env.get("RAY_AUTH_MODE") == "token":
        return
    fail(
        f"{address} is not on this machine and Ray token authentication is off "
        f"(RAY_AUTH_MODE={env.get('RAY_AUTH_MODE', 'unset')}): export RAY_AUTH_MODE=token and "
        "RAY_AUTH_TOKEN (`ray get-auth-token` on the head prints it), or reach the head "
        "through an SSH tunnel (`ray dashboard infra/ray/cluster.yaml`, then "
        "--address http://127.0.0.1:8265)"
    )


def job_env(local: Mapping[str, str]) -> dict[str, str]:
    """Variables the job's driver needs from here: Prefect server and start-up patience.

    With PREFECT_API_URL set the job reports its flow runs to that server; without it the
    job starts an ephemeral one, which on a busy head node needs more than Prefect's
    default 20 s to come up. Ray's auth mode and token are deliberately not sent: the job
    inherits the cluster's own (every node must agree), and a runtime env is readable by
    anyone who can list the cluster's jobs.
    """
    env = {
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": local.get(
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180"
        ),
    }
    if local.get("PREFECT_API_URL"):
        env["PREFECT_API_URL"] = local["PREFECT_API_URL"]
    return env


def _client(address: str):
    check_auth(address, os.environ)
    from ray.job_submission import JobSubmissionClient

    try:
        return JobSubmissionClient(address)
    except (ConnectionError, RuntimeError, ValueError) as err:
        fail(
            f"cannot reach the Ray Jobs API at {address}: {err}; check the address "
            "(the dashboard port, 8265 by default) and that the cluster is up"
        )


def _follow(client, job_id: str) -> str:
    """Stream the job's logs to stdout until it ends; return its final status."""

    async def tail() -> None:
        async for lines in client.tail_job_logs(job_id):
            print(lines, end="", flush=True)

    asyncio.run(tail())
    status = str(client.get_job_status(job_id).value)
    while status not in TERMINAL:  # logs can close a moment before the status settles
        time.sleep(0.5)
        status = str(client.get_job_status(job_id).value)
    return status


def submit_cmd(
    config: Annotated[Path, typer.Argument(help="YAML run config inside the working dir.")],
    overrides: Overrides = None,
    address: AddressOpt = None,
    follow: Annotated[
        bool, typer.Option("--follow/--no-follow", help="Stream logs and wait for the end.")
    ] = True,
    pipeline: Annotated[
        bool, typer.Option("--pipeline", help="Run the whole pipeline, not only training.")
    ] = False,
    working_dir: Annotated[
        Path, typer.Option("--working-dir", help="Directory uploaded as the job's working_dir.")
    ] = Path("."),
) -> None:
    """Submit training (or the whole pipeline) to a Ray cluster as a Ray Job.

    Exits non-zero when the job fails or is stopped.

    Example: tsalign submit configs/tiny.yaml --address http://127.0.0.1:8265
    """
    from tsalign.components.training.worker import worker_env

    cfg = load(config, overrides)  # validate here, before anything reaches the cluster
    client = _client(jobs_address(address, cfg.train.ray_address))
    entrypoint = build_entrypoint(config, working_dir, list(overrides or []), pipeline)
    env = {**worker_env(), **job_env(os.environ)}
    job_id = client.submit_job(
        entrypoint=entrypoint,
        runtime_env={
            "working_dir": str(working_dir.resolve()),
            "excludes": UPLOAD_EXCLUDES,
            "env_vars": env,
        },
        metadata={"tsalign": "pipeline" if pipeline else "train", "config": config.name},
    )
    console.print("submitted", styled(job_id, "bold", f": {entrypoint}"))
    if not follow:
        typer.echo(job_id)
        return
    status = _follow(client, job_id)
    colour = "green" if status == "SUCCEEDED" else "red"
    console.print(f"job {job_id}:", styled(status, colour))
    if status != "SUCCEEDED":
        info = client.get_job_info(job_id)
        fail(f"job {job_id} {status.lower()}: {info.message or 'see its logs above'}")


def jobs_cmd(address: AddressOpt = None) -> None:
    """List the Ray Jobs of a cluster, newest first."""
    from rich.table import Table

    client = _client(jobs_address(address, None))
    table = Table("submission id", "status", "start", "duration", "entrypoint", title="Ray jobs")
    # Submitted jobs only: every driver that ever connected is listed too (type DRIVER).
    submitted = [j for j in client.list_jobs() if str(j.type.value) == "SUBMISSION"]
    jobs = sorted(submitted, key=lambda j: j.start_time or 0, reverse=True)
    for job in jobs:
        start = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job.start_time / 1000))
            if job.start_time
            else "-"
        )
        end = job.end_time or (time.time() * 1000 if job.start_time else None)
        duration = f"{(end - job.start_time) / 1000:.0f}s" if job.start_time and end else "-"
        table.add_row(
            job.submission_id or job.job_id or "-",
            str(job.status.value),
            start,
            duration,
            job.entrypoint,
        )
    console.print(table)
