"""`tsalign data ...` commands: list data versions, show a dataset's metadata.

tsalign data versions [--project-root .] [--json]
tsalign data show vic_elec [--rev HEAD~1]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tsalign.flows.cli.common import fail
from tsalign.flows.console import console as _err
from tsalign.flows.console import out as _out

app = typer.Typer(help="Inspect dataset versions.", no_args_is_help=True)

RootOpt = Annotated[
    Path, typer.Option("--project-root", help="DVC project holding data/ and data.dvc.")
]
DirOpt = Annotated[str, typer.Option("--data-dir", help="Directory tracked by DVC.")]


@app.command("versions")
def versions(
    project_root: RootOpt = Path("."),
    data_dir: DirOpt = "data",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the known versions of data/: workspace, git history of data.dvc, DVC cache."""
    from tsalign.components.data import DataError, list_versions

    try:
        found = list_versions(project_root.resolve(), data_dir)
    except DataError as err:
        fail(str(err), err)
    if as_json:
        typer.echo(json.dumps([v.model_dump() for v in found], indent=2))
        return
    if not found:
        _err.print(f"no versions of {data_dir}/ yet; run `tsalign ingest` first")
        return
    table = Table("md5", "origin", "git rev", "date", "files", "message")
    for v in found:
        table.add_row(v.md5, v.origin, (v.rev or "")[:10], v.date, ", ".join(v.files), v.message)
    _out.print(table)
    _out.print("Use one with `--data-rev <md5 or git rev>` (or data.rev=...).", highlight=False)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Dataset name (data/<name>.parquet).")],
    rev: Annotated[
        str | None, typer.Option("--rev", help="git rev or DVC md5; workspace when omitted.")
    ] = None,
    project_root: RootOpt = Path("."),
    data_dir: DirOpt = "data",
) -> None:
    """Print a dataset's metadata (at a data version when --rev is given)."""
    from tsalign.components.data import DataError, checkout_version
    from tsalign.components.data.ingest import load_any_meta

    root = project_root.resolve()
    try:
        if rev is None:
            meta = load_any_meta(root / data_dir / f"{name}.parquet")
        else:
            meta = load_any_meta(checkout_version(name, rev, root, data_dir))
    except DataError as err:
        fail(str(err), err)
    typer.echo(meta.model_dump_json(indent=2))
