"""Storage URIs shared by data, checkpoints and the registry.

Three spellings are accepted everywhere a location is configured:

- a local path: ``registry``, ``/srv/models``, ``~/runs`` (relative to the working directory);
- ``file:///srv/models`` (an absolute local path);
- ``s3://bucket/prefix`` (any S3 endpoint; the endpoint URL is configured separately because
  it is not part of an S3 URI).

This module is the one storage layer of the project:

- :func:`parse_uri`, :func:`join_uri`, :func:`local_path` parse and join locations; they never
  touch the network, so they are cheap to call while validating configs.
- :func:`s3_client` is the one place a boto3 client is built. Its credentials come only from the
  standard AWS chain (environment, shared config/credentials files, instance roles) so that no
  secret ever needs to appear in a config, a manifest or a log line.
- :func:`sha256_file` is the one streaming file hash.
- :func:`atomic_path` and the ``write_*_atomic`` functions write a file through a temporary
  file in the same directory and ``os.replace``, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

__all__ = [
    "CHUNK",
    "StorageURI",
    "StorageURIError",
    "atomic_path",
    "default_file_mode",
    "is_s3_uri",
    "join_uri",
    "local_path",
    "parse_uri",
    "s3_client",
    "sha256_file",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_text_atomic",
]

CHUNK = 1 << 20
"""Bytes read or sent per step when streaming a file (hashing, uploads, downloads)."""


class StorageURIError(ValueError):
    """A location that is neither a local path, ``file://`` nor ``s3://bucket/prefix``."""


@dataclass(frozen=True)
class StorageURI:
    """A parsed location.

    Attributes:
        scheme: ``"file"`` for local paths (with or without ``file://``) or ``"s3"``.
        bucket: S3 bucket name; ``None`` for local paths.
        path: for ``file``: the local path as given (not resolved); for ``s3``: the key prefix
            without leading or trailing slashes (``""`` for the bucket root).
    """

    scheme: Literal["file", "s3"]
    bucket: str | None
    path: str

    def __str__(self) -> str:
        if self.scheme == "s3":
            return f"s3://{self.bucket}/{self.path}" if self.path else f"s3://{self.bucket}"
        return self.path


def parse_uri(uri: str | Path) -> StorageURI:
    """Parse a local path, ``file://`` URI or ``s3://bucket/prefix``.

    Args:
        uri: the location as written in a config or on the command line.

    Returns:
        The parsed :class:`StorageURI`.

    Raises:
        StorageURIError: an empty string, an unsupported scheme (``http://``, ``gs://``...),
            an ``s3://`` URI without a bucket, or a ``file://`` URI with a host.
    """
    if isinstance(uri, Path):
        return StorageURI("file", None, str(uri))
    text = str(uri).strip()
    if not text:
        raise StorageURIError(
            "empty storage location: give a local directory or s3://bucket/prefix"
        )
    if "://" not in text:
        return StorageURI("file", None, text)
    parsed = urlparse(text)
    scheme = parsed.scheme.lower()
    if scheme == "s3":
        if not parsed.netloc:
            raise StorageURIError(f"{text!r}: an S3 URI needs a bucket, e.g. s3://my-bucket/prefix")
        # posixpath.normpath would turn "" into "."; strip slashes instead so that
        # "s3://b/", "s3://b" and "s3://b//" all mean the bucket root.
        prefix = "/".join(part for part in parsed.path.split("/") if part)
        return StorageURI("s3", parsed.netloc, prefix)
    if scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise StorageURIError(
                f"{text!r}: file:// URIs must be absolute local paths (file:///dir), not a host"
            )
        return StorageURI("file", None, parsed.path or "/")
    raise StorageURIError(
        f"{text!r}: unsupported scheme {scheme!r}; use a local path, file:///abs/path "
        "or s3://bucket/prefix"
    )


def is_s3_uri(uri: str | Path) -> bool:
    """True when ``uri`` is an ``s3://`` location (no validation beyond the scheme)."""
    return str(uri).strip().lower().startswith("s3://")


def join_uri(base: str | Path, *parts: str) -> str:
    """Join relative parts onto a location, keeping its spelling (local path or ``s3://``).

    Args:
        base: a location accepted by :func:`parse_uri`.
        *parts: relative POSIX-style parts; empty parts are skipped.

    Returns:
        The joined location as a string (``s3://bucket/a/b`` or a local path).

    Raises:
        StorageURIError: ``base`` is invalid, or a part is absolute or climbs out with ``..``
            (which would silently escape the configured prefix).
    """
    parsed = parse_uri(base)
    clean: list[str] = []
    for part in parts:
        if not part:
            continue
        if part.startswith("/") or ".." in part.replace("\\", "/").split("/"):
            raise StorageURIError(f"{part!r}: must be a relative path inside {base!s}")
        clean.append(part.strip("/"))
    if parsed.scheme == "s3":
        key = posixpath.join(parsed.path, *clean) if clean else parsed.path
        return str(StorageURI("s3", parsed.bucket, key.strip("/")))
    return str(Path(parsed.path, *clean)) if clean else parsed.path


def local_path(uri: str | Path) -> Path:
    """The local filesystem path of a local or ``file://`` location (``~`` expanded).

    Raises:
        StorageURIError: ``uri`` is an ``s3://`` location.
    """
    parsed = parse_uri(uri)
    if parsed.scheme != "file":
        raise StorageURIError(f"{uri!s} is not a local location; download it first")
    return Path(parsed.path).expanduser()


def s3_client(endpoint_url: str | None = None, **config: Any) -> Any:
    """The S3 client of every component: credentials from the standard AWS chain.

    Args:
        endpoint_url: S3-compatible endpoint (MinIO, a moto server); ``None`` falls back to
            ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` and then to AWS itself.
        **config: extra ``botocore.config.Config`` options (e.g. ``retries``).

    Returns:
        A ``botocore`` S3 client. Credentials are resolved lazily by botocore, so a missing
        credential surfaces as ``botocore.exceptions.NoCredentialsError`` on the first call.
    """
    import boto3  # imported here so that parsing URIs never pays boto3's import time
    from botocore.config import Config

    endpoint_url = (
        endpoint_url
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )
    options: dict[str, Any] = {"retries": {"max_attempts": 5, "mode": "standard"}}
    options.update(config)
    # path-style addressing works on every S3-compatible server (MinIO and moto need it for
    # buckets that are not DNS names on 127.0.0.1); AWS accepts it too.
    if endpoint_url:
        options.setdefault("s3", {"addressing_style": "path"})
    # A fresh session per client: boto3's module-level default session caches the credentials
    # it found first, which would ignore a later change of AWS_PROFILE or rotated keys.
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=endpoint_url, config=Config(**options))


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a local file, streamed in :data:`CHUNK`-byte blocks (constant memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def default_file_mode() -> int:
    """The mode ``open()`` would give a new file under the current umask (``0o666 & ~umask``)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it when the ``with`` block succeeds.

    The caller writes the whole file to the yielded path (any writer: ``to_csv``, pyarrow...).
    On success it is moved over ``path`` with ``os.replace`` (atomic within one filesystem,
    hence the same directory); if the block raises, the temporary file is removed and ``path``
    keeps its previous content, so nothing half-written is ever visible under ``path``.
    The parent directory must exist.
    """
    target = Path(path)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp creates 0600; the file gets the mode a plain open() would have given it.
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_path`."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_path`."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, value: Any, **dumps: Any) -> None:
    """Write ``value`` as JSON to ``path`` through :func:`atomic_path`.

    Args:
        path: the file to (re)place.
        value: anything ``json.dumps`` accepts.
        **dumps: ``json.dumps`` options (``indent``, ``sort_keys``, ``ensure_ascii``...).
    """
    write_text_atomic(path, json.dumps(value, **dumps))
