"""Shared fixtures for integration tests that need real services.

S3 (moto server)
----------------
``s3_endpoint`` (session scope) starts ``moto_server -H 127.0.0.1 -p <free port>`` as a real
subprocess, waits until it answers HTTP, sets fake AWS credentials in ``os.environ`` (so boto3,
DVC and any subprocess the test starts find them through the standard AWS chain) and yields the
endpoint URL, e.g. ``http://127.0.0.1:53211``. The server and the environment are restored at
the end of the session. The server starts empty: create the buckets you need, or use
``s3_bucket``, which creates a fresh, uniquely named bucket per test and yields its name::

    def test_upload(s3_endpoint, s3_bucket):
        client = boto3.client("s3", endpoint_url=s3_endpoint)
        client.put_object(Bucket=s3_bucket, Key="k", Body=b"v")
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with code {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"moto_server did not answer on {url} within {timeout_s:.0f} s")


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a moto S3 server on 127.0.0.1 with fake credentials exported (see module doc)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    exe = shutil.which("moto_server")
    cmd = [exe] if exe else [sys.executable, "-m", "moto.server"]
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    empty = Path(log.parent, "empty-aws-config")
    empty.write_text("")
    with open(log, "wb") as out:
        proc = subprocess.Popen([*cmd, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out)
    try:
        _wait_until_up(url, proc)
        with pytest.MonkeyPatch.context() as mp:
            for key, value in FAKE_AWS_ENV.items():
                mp.setenv(key, value)
            # Never pick up a developer's real profile or config while testing.
            mp.delenv("AWS_PROFILE", raising=False)
            mp.setenv("AWS_CONFIG_FILE", str(empty))
            mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
            yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A fresh, empty bucket on the ``s3_endpoint`` server (unique name per test)."""
    import boto3

    name = f"test-{uuid.uuid4().hex[:16]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name
