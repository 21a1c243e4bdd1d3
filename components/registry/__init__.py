"""Model registry: immutable versions, aliases, model cards and lineage on a local dir or S3.

Public API (what the pipeline and the CLI call)::

    reg = open_registry(cfg.registry)
    pv = reg.publish("my-model", {"model": export_dir, "scaler.json": p}, config=..., metrics=...,
                     lineage=...)
    reg.resolve("my-model@champion") -> ("my-model", 3)
    reg.download("my-model:3", Path("out"))
    ok, why = should_promote(candidate, champion, baseline)
"""

from tsalign.components.registry.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    RefError,
    RegistryError,
)
from tsalign.components.registry.gates import should_promote
from tsalign.components.registry.manifest import (
    AliasMove,
    AliasRecord,
    FileEntry,
    ModelCardInfo,
    ModelInfo,
    VersionManifest,
    parse_ref,
    redact,
)
from tsalign.components.registry.registry import Registry, open_registry

__all__ = [
    "AliasMove",
    "AliasRecord",
    "ConflictError",
    "FileEntry",
    "IntegrityError",
    "ModelCardInfo",
    "ModelInfo",
    "NotFoundError",
    "RefError",
    "Registry",
    "RegistryError",
    "VersionManifest",
    "open_registry",
    "parse_ref",
    "redact",
    "should_promote",
]
