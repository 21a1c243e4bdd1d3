"""Terminal output shared by the flows and the CLI: one rich console, a training bar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True)


@contextmanager
def training_progress(run_name: str) -> Iterator:
    """A progress bar fed by the training launcher's (step, total, loss) callback."""
    with Progress(
        TextColumn("[bold]train[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TextColumn("loss {task.fields[loss]}"),
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
