"""`tsalign registry ...` commands: browse versions, move aliases, download, clean up.

tsalign registry list [NAME] [--tag stage=prod]
tsalign registry show NAME[:VERSION|@ALIAS] [--json | --card]
tsalign registry promote NAME:VERSION ALIAS [--reason TEXT]
tsalign registry download NAME[:VERSION|@ALIAS] DIR
tsalign registry tag NAME key=value ... [--description TEXT]
tsalign registry gc [--min-age SECONDS] [--dry-run]

The registry location comes from ``--registry`` (or ``TSALIGN_REGISTRY``), else from the
``registry`` section of ``--config``, else the embedded default (``./registry``). S3 credentials
come from the standard AWS chain only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tsalign.components.registry.errors import IntegrityError, RegistryError
from tsalign.flows.cli.common import ConfigOpt, fail, load, user_errors
from tsalign.flows.console import console, styled
from tsalign.flows.console import out as _out

app = typer.Typer(help="Browse and manage the model registry.", no_args_is_help=True)

RegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry",
        "-r",
        envvar="TSALIGN_REGISTRY",
        help="Local directory or s3://bucket/prefix; overrides the config's registry.uri.",
    ),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        envvar="TSALIGN_S3_ENDPOINT_URL",
        help="S3 endpoint (MinIO, moto); overrides registry.endpoint_url.",
    ),
]
RefArg = Annotated[str, typer.Argument(help="NAME, NAME:VERSION, NAME:latest or NAME@ALIAS.")]


def _open(config: Path | None, uri: str | None, endpoint_url: str | None):
    from tsalign.components.registry import open_registry

    cfg = load(config, []).registry
    updates = {k: v for k, v in {"uri": uri, "endpoint_url": endpoint_url}.items() if v}
    with user_errors():
        return open_registry(cfg.model_copy(update=updates))


def _tags(text: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(text.items()))


def _parse_pairs(pairs: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"{what} {pair!r} is not key=value (e.g. stage=prod)")
        out[key] = value
    return out


def _headline(metrics: dict) -> str:
    """A short metric summary for tables: the first few numeric leaves with their paths."""
    leaves: list[str] = []

    def walk(prefix: str, node: dict) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(f"{prefix}{key}.", value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                leaves.append(f"{prefix}{key}={value:.4g}")

    walk("", metrics)
    return ", ".join(leaves[:3]) + (" …" if len(leaves) > 3 else "")


@app.command("list")
def list_cmd(
    name: Annotated[str | None, typer.Argument(help="A model: list its versions.")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Only versions with tag key=value.")
    ] = None,
    registry: RegistryOpt = None,
    endpoint_url: EndpointOpt = None,
    config: ConfigOpt = None,
) -> None:
    """List models (or the versions of NAME) with their aliases."""
    reg = _open(config, registry, endpoint_url)
    wanted = _parse_pairs(tag, "--tag")
    damaged: list[str] = []
    with user_errors():
        if name is None and not wanted:
            table = Table(
                "model",
                "versions",
                "latest",
                "aliases",
                "tags",
                "description",
                title=f"models in {reg.store.uri}",
            )
            for model in reg.list_models():
                versions = reg.list_versions(model)
                try:
                    info = reg.get_model_info(model)
                    aliases = ", ".join(f"{a}->{v}" for a, v in reg.list_aliases(model).items())
                except RegistryError as err:  # one damaged record must not hide the others
                    table.add_row(model, str(len(versions)), str(versions[-1]), "", "", "(damaged)")
                    damaged.append(str(err))
                    continue
                table.add_row(
                    model,
                    str(len(versions)),
                    str(versions[-1]),
                    aliases,
                    _tags(info.tags),
                    info.description,
                )
            if not table.rows:
                _out.print(f"no models in {reg.store.uri} yet; publish one with `tsalign publish`")
                return
            _out.print(table)
            _report_damaged(damaged)
            return
        if wanted:
            hits = [(m, v) for m, v in reg.search(wanted) if name is None or m == name]
        else:
            reg.resolve(name)  # clear error for an unknown model
            hits = [(name, v) for v in reg.list_versions(name)]
        table = Table(
            "version",
            "created",
            "by",
            "aliases",
            "tags",
            "metrics",
            "description",
            title="versions" + (f" with {_tags(wanted)}" if wanted else f" of {name}"),
        )
        alias_cache: dict[str, dict[str, int]] = {}
        for model, version in hits:
            try:
                manifest = reg.show(f"{model}:{version}")
                aliases = alias_cache.setdefault(model, reg.list_aliases(model))
            except IntegrityError as err:  # list the others, report this one as damaged
                table.add_row(f"{model}:{version}", "", "", "", "", "", "(damaged)")
                damaged.append(str(err))
                continue
            table.add_row(
                f"{model}:{version}",
                manifest.created_at,
                manifest.created_by,
                ", ".join(a for a, v in aliases.items() if v == version),
                _tags(manifest.tags),
                _headline(manifest.metrics),
                manifest.description,
            )
        if not hits:
            _out.print(f"no versions match {_tags(wanted)}")
            return
        _out.print(table)
        _report_damaged(damaged)


def _report_damaged(damaged: list[str]) -> None:
    """Name every damaged record after the table (stderr), with how to repair it."""
    for problem in damaged:
        console.print(styled("damaged:", "bold yellow", f" {problem}"), soft_wrap=True)


@app.command("show")
def show_cmd(
    ref: RefArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
    card: Annotated[bool, typer.Option("--card", help="Print the model card (README.md).")] = False,
    registry: RegistryOpt = None,
    endpoint_url: EndpointOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Show one version: files with sha256, metrics, lineage, aliases."""
    reg = _open(config, registry, endpoint_url)
    with user_errors():
        manifest = reg.show(ref)
        if as_json:
            typer.echo(manifest.model_dump_json(indent=2))
            return
        if card:
            typer.echo(reg.read_text(manifest.ref, "README.md"))
            return
        aliases = [a for a, v in reg.list_aliases(manifest.name).items() if v == manifest.version]
    _out.print(
        styled(manifest.ref, "bold", f"  created {manifest.created_at} by {manifest.created_by}")
    )
    if aliases:
        _out.print("aliases: " + ", ".join(f"@{a}" for a in aliases))
    if manifest.description:
        _out.print(manifest.description)
    if manifest.tags:
        _out.print("tags: " + _tags(manifest.tags))
    files = Table("file", "size (bytes)", "sha256", title="files")
    for rel, entry in sorted(manifest.files.items()):
        files.add_row(rel, f"{entry.size:,}", entry.sha256[:16] + "…")
    _out.print(files)
    if manifest.metrics:
        metrics = Table("metric", "value", title="metrics")
        for item in _headline_rows(manifest.metrics):
            metrics.add_row(*item)
        _out.print(metrics)
    if manifest.lineage:
        lineage = Table("lineage", "value", title="lineage")
        for key, value in manifest.lineage.items():
            lineage.add_row(key, str(value))
        _out.print(lineage)


def _headline_rows(metrics: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            rows += _headline_rows(value, f"{prefix}{key}.")
        else:
            rows.append(
                (f"{prefix}{key}", f"{value:.6g}" if isinstance(value, float) else str(value))
            )
    return rows


@app.command("promote")
def promote_cmd(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION to point the alias at.")],
    alias: Annotated[str, typer.Argument(help="Alias to move, e.g. champion or staging.")],
    reason: Annotated[str, typer.Option("--reason", help="Recorded in the alias history.")] = "",
    registry: RegistryOpt = None,
    endpoint_url: EndpointOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Point ALIAS at a version (compare-and-swap; the move is recorded in its history)."""
    reg = _open(config, registry, endpoint_url)
    with user_errors():
        from tsalign.components.registry.manifest import check_alias

        check_alias(alias)
        name, version = reg.resolve(ref)
        before = reg.get_alias(name, alias)
        reg.set_alias(name, alias, version, reason=reason or "manual promotion")
    _out.print(f"{name}@{alias}: {before if before is not None else '(unset)'} -> {version}")


@app.command("download")
def download_cmd(
    ref: RefArg,
    directory: Annotated[Path, typer.Argument(help="New (or empty) directory to write into.")],
    registry: RegistryOpt = None,
    endpoint_url: EndpointOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Download a version's files, verifying every sha256."""
    reg = _open(config, registry, endpoint_url)
    with user_errors():
        name, version = reg.resolve(ref)
        out = reg.download(f"{name}:{version}", directory)
    _out.print(f"{name}:{version} -> {out} (all sha256 verified)")


@app.command("tag")
def tag_cmd(
    name: Annotated[str, typer.Argument(help="Model name.")],
    tags: Annotated[list[str] | None, typer.Argument(help="key=value tags to set.")] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="Replace the model's description.")
    ] = None,
    registry: RegistryOpt = None,
    endpoint_url: EndpointOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Set model-level tags and/or description (version tags are fixed at publish)."""
    reg = _open(config, registry, endpoint_url)
    pairs = _parse_pairs(tags, "tag")
    with user_errors():
        info = reg.set_model_info(name, description=description, tags=pairs)
    _out.print(f"{name}: tags {_tags(info.tags) or '(none)'}; description {info.description!r}")


@app.command("gc")
def gc_cmd(
    min_age: Annotated[
        float | None,
        typer.Option(
            "--min-age", help="Seconds; keep younger orphans (default registry.gc_min_age_s)."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would go.")] = False,
    registry: RegistryOpt = None,
    endpoint_url: EndpointOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Remove files left by interrupted publishes (never touches a published version)."""
    cfg = load(config, []).registry
    reg = _open(config, registry, endpoint_url)
    with user_errors():
        removed = reg.gc(
            min_age_s=cfg.gc_min_age_s if min_age is None else min_age, dry_run=dry_run
        )
    verb = "would remove" if dry_run else "removed"
    for key in removed:
        _out.print(f"{verb} {key}")
    _out.print(f"{verb} {len(removed)} orphaned object(s)")
