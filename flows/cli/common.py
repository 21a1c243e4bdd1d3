"""Pieces every CLI command shares: config options and user-error handling."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from components.config import ConfigError, RunConfig, load_config
from flows.console import console

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="YAML run config (see configs/); embedded defaults when omitted."
    ),
]
DataRevOpt = Annotated[
    str | None,
    typer.Option(
        "--data-rev",
        help="Use an older data version: a git rev of data.dvc or a DVC md5 "
        "(see `tsalign data versions`); the same as data.rev=<rev>.",
    ),
]
Overrides = Annotated[
    list[str] | None,
    typer.Argument(
        help="Overrides as dotted key=value, e.g. train.epochs=2 data.window.horizon=48."
    ),
]


def user_error_types() -> tuple[type[BaseException], ...]:
    """Errors a user causes and can fix; everything else is a bug and keeps its traceback."""
    from components.data.errors import DataError
    from components.device import DeviceError
    from components.evaluation.runner import EvaluationError
    from components.models.spec import ModelBuildError
    from components.registry.errors import RegistryError
    from components.state import MissingStageOutput
    from components.storage import StorageURIError
    from components.training.deepspeed_config import PresetError
    from components.training.launcher import TrainingFailed
    from components.training.worker import TrainingDiverged

    return (
        ConfigError,
        DataError,
        DeviceError,
        EvaluationError,
        ModelBuildError,
        RegistryError,
        MissingStageOutput,
        StorageURIError,
        PresetError,
        TrainingFailed,
        TrainingDiverged,
    )


def fail(message: str) -> None:
    """Print ``message`` as an error and exit 1."""
    console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code=1)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn user errors into a readable message and exit code 1."""
    try:
        yield
    except user_error_types() as err:
        fail(str(err))


def load(
    config: Path | None, overrides: list[str] | None, data_rev: str | None = None
) -> RunConfig:
    """Load and validate the run config, exiting 1 with the field path on a bad value."""
    extra = [f"data.rev={data_rev}"] if data_rev else []
    try:
        return load_config(config, [*(overrides or []), *extra])
    except ConfigError as err:
        fail(str(err))
        raise  # unreachable: fail() exits
