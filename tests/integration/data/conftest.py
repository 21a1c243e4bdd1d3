"""Fixtures for data integration tests: a throw-away DVC project and a local HTTP server."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from _data_helpers import CORPUS, GIT_ENV, git_commit

from tsalign.components.data import ensure_dvc_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh git + DVC project with the local directory remote, under tmp_path."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    root = tmp_path / "proj"
    ensure_dvc_project(root)
    git_commit(root, "init", ".dvc", ".dvcignore", ".gitignore")
    return root


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def http_corpus() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 (free port) serving tests/fixtures/broken; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(CORPUS))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
