"""What a registry version is: its manifest, model-card facts, references and alias records."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tsalign.components.excerpt import quote
from tsalign.components.redaction import REDACTED, redact  # noqa: F401  (re-exported)
from tsalign.components.registry.errors import RefError

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
"""Model names: the same rule as ``RegistryConfig.model_name`` (safe as an S3 key and a dir)."""

ALIAS_RE = re.compile(r"^[a-z][a-z0-9_\-]*$")
VERSION_RE = re.compile(r"[0-9]{1,9}")
"""A version number as written: ASCII digits only (``str.isdigit`` also accepts '²' and
Arabic-Indic digits), at most 9 of them (an int, never a 5,000-digit parse)."""


def is_version_text(text: str) -> bool:
    """Whether ``text`` spells a version number (see :data:`VERSION_RE`)."""
    return VERSION_RE.fullmatch(text) is not None


"""Alias names start with a letter so that ``name@3`` can never be mistaken for a version."""

SCHEMA_VERSION = 1

MAX_FILE_KEY_LEN = 1024
"""Longest relative file name a version may hold (S3 keys are limited to 1024 bytes)."""

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def utcnow() -> str:
    """Current UTC time as ISO 8601 with seconds (what manifests and histories record)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class FileEntry(BaseModel):
    """One file of a version: its content hash (the blob key) and size in bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class ModelCardInfo(BaseModel):
    """Facts for the Hugging Face–style model card (README.md front matter) of a version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_model: str | None = Field(None, description="Backbone reference, e.g. a hub id.")
    library_name: str = Field("tsalign", description="Library that loads the model.")
    pipeline_tag: str = "time-series-forecasting"
    license: str | None = None
    datasets: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    summary: str = Field("", description="Free text shown under the title.")
    intended_use: str = ""
    limitations: str = ""


def check_file_key(rel: str) -> str:
    """Validate one file name of a version: a normalised POSIX path inside the version.

    One rule for publish, the stored manifest, download and predict, so a manifest written
    by hand (or by anyone with write access to a shared bucket) can never name a file outside
    the directory it is downloaded into.

    Returns:
        ``rel`` unchanged.

    Raises:
        ValueError: an empty, absolute, drive-letter, backslash, control-character, ``.``/``..``,
            empty-part, hidden-part or over-long name; the message says what is allowed.
    """
    problem = None
    if not isinstance(rel, str) or not rel:
        problem = "is empty"
    elif len(rel.encode()) > MAX_FILE_KEY_LEN:
        problem = f"is longer than {MAX_FILE_KEY_LEN} bytes"
    elif _CONTROL.search(rel):
        problem = "contains a control character"
    elif "\\" in rel:
        problem = "contains a backslash"
    elif rel.startswith("/") or _DRIVE.match(rel):
        problem = "is absolute"
    elif any(part in ("", ".", "..") for part in rel.split("/")):
        problem = "has an empty, '.' or '..' part"
    elif any(part.startswith(".") for part in rel.split("/")):
        problem = "has a hidden part (starting with '.')"
    elif PurePosixPath(rel).as_posix() != rel:
        problem = "is not normalised"
    if problem:
        raise ValueError(
            f"file name {rel[:200]!r} {problem}; a version's files must be relative paths "
            "inside the version such as 'model/weights.safetensors'"
        )
    return rel


class VersionManifest(BaseModel):
    """The immutable record that makes a version visible (``versions/<N>/manifest.json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA_VERSION
    name: str
    version: int = Field(ge=1)
    publish_id: str = Field(description="Unique id of the publish call that claimed the version.")
    created_at: str
    created_by: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    files: dict[str, FileEntry] = Field(description="relative path -> sha256 and size")
    config: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    lineage: dict[str, Any] = Field(default_factory=dict)
    card: ModelCardInfo = Field(default_factory=ModelCardInfo)

    @field_validator("files")
    @classmethod
    def _files_stay_inside(cls, files: dict[str, FileEntry]) -> dict[str, FileEntry]:
        for rel in files:
            check_file_key(rel)
        return files

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"


class AliasMove(BaseModel):
    """One entry of an alias's history."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    previous: int | None
    at: str
    by: str
    reason: str = ""


class AliasRecord(BaseModel):
    """``aliases/<alias>.json``: where the alias points now and every move so far (oldest first)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    alias: str
    version: int
    history: list[AliasMove] = Field(default_factory=list)


class ModelInfo(BaseModel):
    """``model.json``: mutable model-level description and tags."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    updated_at: str = ""


def check_name(name: str) -> str:
    """Validate a model name.

    Raises:
        RefError: the name is not lower-case letters, digits, ``_`` and ``-``.
    """
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise RefError(
            f"model name {name!r} is invalid: use lower-case letters, digits, '_' and '-', "
            "starting with a letter or digit (e.g. tsalign-forecaster)"
        )
    return name


def check_alias(alias: str) -> str:
    """Validate an alias name.

    Raises:
        RefError: the alias does not start with a letter or has other characters.
    """
    if not isinstance(alias, str) or not ALIAS_RE.fullmatch(alias):
        raise RefError(
            f"alias {alias!r} is invalid: use lower-case letters, digits, '_' and '-', "
            "starting with a letter (e.g. champion, staging)"
        )
    return alias


def parse_ref(ref: str) -> tuple[str, int | str | None]:
    """Split ``name``, ``name:VERSION``, ``name:latest`` or ``name@ALIAS``.

    Returns:
        ``(name, selector)`` where selector is an int version, an alias string, or ``None``
        for the latest version.

    Raises:
        RefError: anything else, with the accepted forms in the message.
    """
    forms = "use NAME, NAME:VERSION (e.g. my-model:3), NAME:latest or NAME@ALIAS (e.g. my-model@champion)"
    text = (ref or "").strip()
    if "@" in text and ":" in text:
        raise RefError(f"reference {ref!r} has both ':' and '@'; {forms}")
    if "@" in text:
        name, _, alias = text.partition("@")
        return check_name(name), check_alias(alias)
    if ":" in text:
        name, _, version = text.partition(":")
        check_name(name)
        if version == "latest":
            return name, None
        if not is_version_text(version) or int(version) < 1:
            raise RefError(
                f"reference {quote(ref)}: version {quote(version)} is not a positive integer "
                f"of at most 9 ASCII digits; {forms}"
            )
        return name, int(version)
    if not text:
        raise RefError(f"empty model reference; {forms}")
    try:
        return check_name(text), None
    except RefError:
        raise RefError(f"reference {ref!r} is invalid; {forms}") from None


def strip_url_credentials(url: str) -> str:
    """``https://user:pw@host/x`` -> ``https://host/x`` (for endpoint URLs shown to users)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url
