"""Fixtures for the Prefect integration tests.

``prefect_home`` gives each module its own PREFECT_HOME (SQLite database, result storage),
so tests never share a database with other processes on the machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An in-process Prefect test server and result storage under a fresh PREFECT_HOME."""
    from prefect.settings import PREFECT_HOME, PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    home = tmp_path_factory.mktemp("prefect-home")
    with (
        temporary_settings({PREFECT_HOME: home, PREFECT_LOCAL_STORAGE_PATH: home / "storage"}),
        prefect_test_harness(server_startup_timeout=120),
    ):
        yield home
