"""Pieces every CLI command shares: config options and user-error handling."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from tsalign.components.config import ConfigError, RunConfig, load_config
from tsalign.flows.console import console, styled

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
    from tsalign.components.data.errors import DataError
    from tsalign.components.device import DeviceError
    from tsalign.components.evaluation.runner import EvaluationError
    from tsalign.components.inference.errors import PredictError
    from tsalign.components.models.spec import ModelBuildError
    from tsalign.components.registry.errors import RegistryError
    from tsalign.components.state import MissingStageOutput
    from tsalign.components.storage import StorageURIError
    from tsalign.components.training.deepspeed_config import PresetError
    from tsalign.components.training.launcher import TrainingFailed
    from tsalign.components.training.worker import TrainingDiverged

    return (
        ConfigError,
        DataError,
        DeviceError,
        EvaluationError,
        ModelBuildError,
        PredictError,
        RegistryError,
        MissingStageOutput,
        StorageURIError,
        PresetError,
        TrainingFailed,
        TrainingDiverged,
    )


LOG_FILE_ENV = "TSALIGN_LOG_FILE"
DEFAULT_LOG_FILE = "~/.cache/tsalign/logs/tsalign.log"
_debug = False


def log_file() -> Path:
    """Where full logs and tracebacks go (``$TSALIGN_LOG_FILE``, else under ~/.cache)."""
    return Path(os.path.expanduser(os.environ.get(LOG_FILE_ENV) or DEFAULT_LOG_FILE))


def _is_user_error(err: BaseException | None) -> bool:
    """Whether ``err`` or an exception it was raised from is a user error."""
    seen: set[int] = set()
    kinds = user_error_types()
    while err is not None and id(err) not in seen:
        if isinstance(err, kinds):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


class UserErrorConsoleFilter(logging.Filter):
    """Keeps Prefect's reports of a user error off the console.

    The engine logs a failed task or flow with its traceback, then "Finished in state
    Failed(...)"; the CLI prints the clean message itself, once. The records still reach
    the log file; ``tsalign --debug`` removes this filter.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and _is_user_error(record.exc_info[1]):
            return False
        if record.name.startswith("prefect."):
            text = record.getMessage()
            if text.startswith("Finished in state") and any(
                f"{kind.__name__}:" in text for kind in user_error_types()
            ):
                return False
        return True


def set_debug(debug: bool) -> None:
    """``tsalign --debug``: print the traceback of user errors too."""
    global _debug
    _debug = debug


_file_log = logging.getLogger("tsalign.cli")
_file_log.propagate = False  # tracebacks of user errors go to the log file only
_file_handler: logging.Handler | None = None


def install_logging() -> None:
    """Send every log record to the log file; keep user-error reports off the console.

    Called once the command has imported what it runs; the root logger (Prefect's flow
    and task records) gets the file handler only when Prefect is loaded.
    """
    global _file_handler
    root = logging.getLogger()
    path = log_file()
    if _file_handler is None or getattr(_file_handler, "baseFilename", None) != str(path):
        if _file_handler is not None:
            root.removeHandler(_file_handler)
            _file_log.removeHandler(_file_handler)
            _file_handler.close()
            _file_handler = None
        with contextlib.suppress(OSError):  # an unwritable log dir must not stop a run
            path.parent.mkdir(parents=True, exist_ok=True)
            _file_handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=5 << 20, backupCount=2, encoding="utf-8"
            )
            _file_handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
            )
            _file_log.addHandler(_file_handler)
    if (
        _file_handler is not None
        and "prefect" in sys.modules
        and _file_handler not in root.handlers
    ):
        # Only once Prefect has configured logging: it skips its console handler when the
        # root logger already has a handler of another kind.
        root.addHandler(_file_handler)
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            handler.filters = [
                f for f in handler.filters if not isinstance(f, UserErrorConsoleFilter)
            ]
            if not _debug:
                handler.addFilter(UserErrorConsoleFilter())


def fail(message: str, err: BaseException | None = None) -> None:
    """Print ``message`` as an error (never parsed as markup) and exit 1.

    Args:
        message: the user-facing text; shown as is.
        err: the exception behind it: its traceback goes to the log file, and to the
            terminal as well under ``--debug``.
    """
    if err is not None:
        _file_log.error("user error: %s", message, exc_info=err)
        if _debug:
            console.print_exception()
    console.print(styled("error:", "bold red", f" {message}"), highlight=False, soft_wrap=True)
    if err is not None and not _debug:
        console.print(
            f"(traceback in {log_file()}; run with tsalign --debug to print it)",
            style="dim",
            highlight=False,
            soft_wrap=True,
        )
    raise typer.Exit(code=1)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn user errors into a readable message and exit code 1."""
    install_logging()
    try:
        yield
    except user_error_types() as err:
        fail(str(err), err)


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


def load_run(
    config: Path | None,
    overrides: list[str] | None,
    data_rev: str | None = None,
    stages: tuple[str, ...] = (),
) -> RunConfig:
    """:func:`load`, then check every catalogue name and preset, and that ``stages`` handle
    the config's task, before any stage runs."""
    from tsalign.components.preflight import check_run_config

    cfg = load(config, overrides, data_rev)
    origin = str(config) if config is not None else "<defaults>"
    try:
        return check_run_config(
            cfg, origin + (" + overrides" if overrides or data_rev else ""), stages
        )
    except ConfigError as err:
        fail(str(err))
        raise  # unreachable: fail() exits
