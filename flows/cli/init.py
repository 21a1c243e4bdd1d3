"""``tsalign init [DIR]``: a new project, ready for ``tsalign run``.

Creates the git + DVC project with its default remote (a local ``.dvc-remote/`` unless
``--remote`` names one) and writes a starter config from the examples the package ships
(``tsalign.configs``), so an installed wheel needs no checkout of the source.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from tsalign.flows.cli.common import fail, user_errors
from tsalign.flows.console import console, styled

CONFIG_DIR = "configs"
"""Where the starter config goes inside the project (its header names that path)."""


def shipped_examples() -> dict[str, str]:
    """Example name -> YAML text of every config shipped as package data."""
    folder = resources.files("tsalign.configs")
    return {
        entry.name.removesuffix(".yaml"): entry.read_text()
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    }


def init_cmd(
    directory: Annotated[
        Path, typer.Argument(help="Project directory; created when missing.")
    ] = Path("."),
    example: Annotated[
        str, typer.Option("--example", help="Starter config to write (default or tiny).")
    ] = "default",
    remote: Annotated[
        str | None,
        typer.Option("--remote", help="DVC remote URL (s3://bucket/prefix); local when omitted."),
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="S3 endpoint of --remote (MinIO, moto).")
    ] = None,
) -> None:
    """Create a git + DVC project with a default remote and a starter config.

    Example: tsalign init my-project && cd my-project && tsalign run --config configs/default.yaml
    """
    examples = shipped_examples()
    if example not in examples:
        fail(f"--example: no shipped config {example!r}; choose one of {sorted(examples)}")
    target = directory / CONFIG_DIR / f"{example}.yaml"
    if target.exists():
        fail(f"{target}: already exists; keep it, or pass another --example")
    if remote is not None and not remote.startswith("s3://"):
        fail(f"--remote: {remote!r} is not an s3:// URL; leave it out for a local remote")
    from tsalign.components.data.versioning import ensure_dvc_project

    with user_errors():
        ensure_dvc_project(directory, remote_url=remote, endpoint_url=endpoint_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(examples[example])
    console.print(styled("initialised", "green", f" {directory.resolve()}"))
    console.print(f"config: {target}")
    console.print(f"next: cd {directory} && tsalign run --config {CONFIG_DIR}/{example}.yaml")
