"""`tsalign registry ...` commands."""

import typer

app = typer.Typer(help="Browse and manage the model registry.", no_args_is_help=True)
