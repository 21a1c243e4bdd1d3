"""Terminal output shared by the flows and the CLI: the rich consoles, a training bar.

Markup is off on every console: messages quote user text (CSV cells, tags, regex
patterns, file names), and ``[/]`` inside such text must print as itself, never be
parsed as a style tag. Styles are given as ``Text`` spans or ``style=`` arguments.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

console = Console(stderr=True, markup=False)
"""Progress, messages and errors (stderr)."""

out = Console(markup=False, highlight=False)
"""Results a script may capture: tables and listings (stdout)."""


def styled(label: str, style: str, rest: str = "") -> Text:
    """``label`` in ``style`` followed by plain ``rest`` (neither is parsed as markup)."""
    return Text.assemble((label, style), rest)


@contextmanager
def training_progress(run_name: str) -> Iterator:
    """A progress bar fed by the training launcher's (step, total, loss) callback."""
    with Progress(
        TextColumn("train {task.description}", markup=False),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps", markup=False),
        TextColumn("loss {task.fields[loss]}", markup=False),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(run_name, total=None, loss="-")

        def update(step: int, total: int, loss: float | None) -> None:
            progress.update(
                task, completed=step, total=total, loss=f"{loss:.4f}" if loss is not None else "-"
            )

        yield update
