"""Settings every test shares: CLI logs go to a temp file, never to ~/.cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tsalign.flows.cli import set_environment_defaults

# The test process stands in for the `tsalign` entry point, which sets these before anything
# starts Ray, transformers or Prefect (importing the package sets nothing).
set_environment_defaults()


@pytest.fixture(autouse=True, scope="session")
def cli_log_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point ``TSALIGN_LOG_FILE`` (where the CLI writes tracebacks) at a session temp dir."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TSALIGN_LOG_FILE", str(tmp_path_factory.mktemp("logs") / "tsalign.log"))
    yield
    mp.undo()
