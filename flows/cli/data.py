"""`tsalign data ...` commands."""

import typer

app = typer.Typer(help="Inspect dataset versions.", no_args_is_help=True)
