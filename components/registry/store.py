"""Object stores under the registry: a local directory or an S3 prefix, one interface.

The registry needs only a handful of operations, and two of them carry its guarantees:

- ``write(..., if_none_match=True)``: create a key only if it does not exist. This claims
  version numbers. S3: ``PutObject`` with ``If-None-Match: *`` (boto3's managed
  ``upload_file`` cannot send it, hence ``put_object``). Local: ``os.link`` of a fully written
  temp file, which fails atomically when the target exists, so a reader never sees half a file.
- ``write(..., if_match=etag)``: replace a key only if it still has the ETag the caller read.
  This moves aliases by compare-and-swap. S3: ``PutObject`` with ``If-Match``. Local: an
  ``fcntl`` lock file per key around read-compare-replace.

Keys are POSIX-style relative paths (``models/m/versions/3/manifest.json``). Local stores
keep temp and lock files under names starting with ``.`` and never list them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsalign.components.registry.errors import NotFoundError, PreconditionFailed, RegistryError
from tsalign.components.registry.manifest import check_file_key
from tsalign.components.storage import CHUNK, StorageURI, StorageURIError, parse_uri, s3_client


class ObjectMissing(NotFoundError, KeyError):
    """The key does not exist in the store."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "object not found"


@dataclass(frozen=True)
class ObjectInfo:
    """One listed object: key relative to the store root, size in bytes, mtime in epoch seconds."""

    key: str
    size: int
    last_modified: float


def _check_key(key: str) -> str:
    try:
        return check_file_key(key)
    except ValueError as err:
        raise RegistryError(f"invalid object key: {err}") from None


class ObjectStore(ABC):
    """A flat key -> bytes store with conditional writes (see module docstring)."""

    uri: str

    @abstractmethod
    def read(self, key: str) -> tuple[bytes, str]:
        """Return ``(body, etag)``; raises :class:`ObjectMissing`."""

    @abstractmethod
    def write(
        self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> str:
        """Write ``data``; return the new ETag. Raises ``PreconditionFailed`` when a condition fails."""

    @abstractmethod
    def upload_file(self, key: str, path: Path) -> None:
        """Copy a local file to ``key`` (unconditional; used for content-addressed blobs)."""

    @abstractmethod
    def iter_chunks(self, key: str) -> Iterator[bytes]:
        """Stream the object's bytes; raises :class:`ObjectMissing`."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """True when ``key`` exists."""

    @abstractmethod
    def list(self, prefix: str) -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix`` (recursive)."""

    @abstractmethod
    def children(self, prefix: str) -> list[str]:
        """Names of the immediate "directories" under ``prefix`` (which ends with ``/``)."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete ``key``; deleting a missing key is not an error."""

    def cleanup_partial(self, min_age_s: float) -> list[str]:
        """Remove leftovers of killed writers older than ``min_age_s``; returns what was removed."""
        return []


def etag_of(data: bytes) -> str:
    """Local ETag: sha256 of the bytes (S3 uses md5 for simple puts; only equality matters)."""
    return hashlib.sha256(data).hexdigest()


def _check_directory(root: Path) -> None:
    """Refuse a local registry root that is, or lies under, an existing non-directory.

    Raises:
        StorageURIError: naming the file in the way (the root itself is created on first write).
    """
    for path in (root, *root.parents):
        if path.exists():
            if not path.is_dir():
                where = "is a file" if path == root else f"lies under the file {path}"
                raise StorageURIError(
                    f"registry location {root} {where}, not a directory; point registry.uri "
                    "(or --registry) at a directory (created if missing) or an s3:// prefix"
                )
            return


class LocalStore(ObjectStore):
    """Objects as files under a root directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)
        _check_directory(self.root)

    def _path(self, key: str) -> Path:
        path = self.root / _check_key(key)
        # A symlink planted inside the registry directory must not lead reads or writes out.
        if not path.resolve().is_relative_to(self.root):
            raise RegistryError(
                f"{self.uri}/{key} resolves to {path.resolve()}, outside the registry; "
                "remove the symlink from the registry directory"
            )
        return path

    def _tmp(self, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.parent / f".tmp-{uuid.uuid4().hex}-{target.name}"

    @contextlib.contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        # One lock file per key; flock is released by the kernel if the holder dies,
        # so a killed process never leaves the alias stuck.
        with open(locks / (key.replace("/", "__") + ".lock"), "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def read(self, key: str) -> tuple[bytes, str]:
        try:
            data = self._path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectMissing(f"{self.uri}/{key} does not exist") from None
        return data, etag_of(data)

    def write(
        self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> str:
        target = self._path(key)
        tmp = self._tmp(target)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            if if_none_match:
                # link() is atomic create-if-absent of a complete file.
                try:
                    os.link(tmp, target)
                except FileExistsError:
                    raise PreconditionFailed(key) from None
            elif if_match is not None:
                with self._lock(key):
                    try:
                        current = etag_of(target.read_bytes())
                    except FileNotFoundError:
                        raise PreconditionFailed(key) from None
                    if current != if_match:
                        raise PreconditionFailed(key)
                    os.replace(tmp, target)
            else:
                os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return etag_of(data)

    def upload_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        tmp = self._tmp(target)
        try:
            with open(path, "rb") as src, open(tmp, "wb") as dst:
                while chunk := src.read(CHUNK):
                    dst.write(chunk)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def iter_chunks(self, key: str) -> Iterator[bytes]:
        try:
            fh = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectMissing(f"{self.uri}/{key} does not exist") from None
        return self._chunks(fh)

    @staticmethod
    def _chunks(fh: Any) -> Iterator[bytes]:
        with fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[ObjectInfo]:
        base = self.root / prefix.rstrip("/") if prefix.rstrip("/") else self.root
        start = base if base.is_dir() else base.parent
        out: list[ObjectInfo] = []
        if not start.is_dir():
            return out
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith("."):
                    continue
                path = Path(dirpath, name)
                key = path.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    st = path.stat()
                except FileNotFoundError:  # removed while listing
                    continue
                out.append(ObjectInfo(key, st.st_size, st.st_mtime))
        return sorted(out, key=lambda info: info.key)

    def children(self, prefix: str) -> list[str]:
        base = self.root / prefix.strip("/") if prefix.strip("/") else self.root
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))

    def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        # Drop now-empty parent directories so listings stay clean; stop at the root.
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError as err:
                if err.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                    break
                raise
            parent = parent.parent

    def cleanup_partial(self, min_age_s: float) -> list[str]:
        # A writer killed mid-write leaves a hidden temp file (and maybe the empty directory it
        # created for it); nothing ever links or renames it any more.
        removed: list[str] = []
        now = time.time()
        for dirpath, _, filenames in os.walk(self.root, topdown=False):
            for name in filenames:
                path = Path(dirpath, name)
                if name.startswith(".tmp-"):
                    with contextlib.suppress(FileNotFoundError):
                        if now - path.stat().st_mtime >= min_age_s:
                            path.unlink()
                            removed.append(path.relative_to(self.root).as_posix())
            here = Path(dirpath)
            if here != self.root and not here.name.startswith(".locks"):
                with contextlib.suppress(OSError):
                    here.rmdir()  # only succeeds when empty
        return removed


class S3Store(ObjectStore):
    """Objects under ``s3://bucket/prefix`` through boto3 (any S3-compatible endpoint)."""

    def __init__(self, location: StorageURI, endpoint_url: str | None = None, client: Any = None):
        if location.scheme != "s3" or not location.bucket:
            raise ValueError(f"{location} is not an s3:// location")
        self.bucket = location.bucket
        self.prefix = location.path
        self.endpoint_url = endpoint_url
        self.uri = str(location)
        self.client = client if client is not None else s3_client(endpoint_url)

    def _key(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _full_prefix(self, prefix: str) -> str:
        # Listing prefixes may end with "/"; the store prefix always gets its own "/" so that
        # "team/reg" never matches keys of a sibling "team/reg2".
        return f"{self.prefix}/{prefix}" if self.prefix else prefix

    def _rel(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Turn botocore failures into messages that name the object and the fix.

        Never includes credentials: botocore's messages do not carry secrets, and we add only
        the bucket, key and endpoint.
        """
        from botocore.exceptions import (
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        where = f"s3://{self.bucket}/{what}" + (
            f" at {self.endpoint_url}" if self.endpoint_url else ""
        )
        try:
            yield
        except (NoCredentialsError, PartialCredentialsError):
            raise RegistryError(
                f"{where}: no usable AWS credentials; set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run on a machine with an instance role"
            ) from None
        except EndpointConnectionError:
            raise RegistryError(
                f"{where}: cannot reach the S3 endpoint; check registry.endpoint_url and that "
                "the server is running"
            ) from None
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code", ""))
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (412, 409):
                raise PreconditionFailed(what) from None
            if code in ("NoSuchKey", "404", "NotFound"):
                raise ObjectMissing(f"{where} does not exist") from None
            if code == "NoSuchBucket":
                raise RegistryError(
                    f"{where}: bucket {self.bucket!r} does not exist; create it "
                    f"(aws s3 mb s3://{self.bucket}) or fix registry.uri"
                ) from None
            if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
                raise RegistryError(
                    f"{where}: access denied ({code}); check the AWS credentials in the "
                    "environment/profile and the bucket policy"
                ) from None
            raise RegistryError(f"{where}: S3 error {code or status}: {err}") from None

    def read(self, key: str) -> tuple[bytes, str]:
        with self._errors(key):
            resp = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return resp["Body"].read(), resp["ETag"]

    def write(
        self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> str:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key), "Body": data}
        if if_none_match:
            kwargs["IfNoneMatch"] = "*"
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        try:
            with self._errors(key):
                return self.client.put_object(**kwargs)["ETag"]
        except ObjectMissing:
            # If-Match on a key that was deleted meanwhile: the swap lost.
            raise PreconditionFailed(key) from None

    def upload_file(self, key: str, path: Path) -> None:
        # Managed transfer: multipart for large weights. No condition is needed because blobs are
        # content-addressed (the same key always holds the same bytes).
        with self._errors(key):
            self.client.upload_file(str(path), self.bucket, self._key(key))

    def iter_chunks(self, key: str) -> Iterator[bytes]:
        with self._errors(key):
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        return self._chunks(body, key)

    def _chunks(self, body: Any, key: str) -> Iterator[bytes]:
        with self._errors(key), contextlib.closing(body):
            yield from body.iter_chunks(CHUNK)

    def exists(self, key: str) -> bool:
        try:
            with self._errors(key):
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ObjectMissing:
            return False
        return True

    def list(self, prefix: str) -> list[ObjectInfo]:
        out: list[ObjectInfo] = []
        with self._errors(prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._full_prefix(prefix)
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    out.append(
                        ObjectInfo(
                            self._rel(obj["Key"]), obj["Size"], obj["LastModified"].timestamp()
                        )
                    )
        return sorted(out, key=lambda info: info.key)

    def children(self, prefix: str) -> list[str]:
        full = self._full_prefix(prefix.strip("/") + "/" if prefix.strip("/") else "")
        names: list[str] = []
        with self._errors(prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full, Delimiter="/"
            )
            for page in pages:
                for common in page.get("CommonPrefixes", []):
                    names.append(common["Prefix"][len(full) :].rstrip("/"))
        return sorted(names)

    def delete(self, key: str) -> None:
        with self._errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def cleanup_partial(self, min_age_s: float) -> list[str]:
        # upload_file uses multipart uploads for large blobs; a killed publish leaves the parts
        # billed but invisible until the upload is aborted.
        removed: list[str] = []
        now = time.time()
        with self._errors(self.prefix or "/"):
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for upload in page.get("Uploads", []):
                    if now - upload["Initiated"].timestamp() >= min_age_s:
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        removed.append(
                            f"{self._rel(upload['Key'])} (multipart {upload['UploadId']})"
                        )
        return removed


def open_store(uri: str, endpoint_url: str | None = None) -> ObjectStore:
    """Open the store for a local directory or ``s3://bucket/prefix``.

    Raises:
        tsalign.components.storage.StorageURIError: ``uri`` is neither.
    """
    location = parse_uri(uri)
    if location.scheme == "s3":
        return S3Store(location, endpoint_url)
    return LocalStore(location.path)
