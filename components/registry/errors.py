"""Errors the registry raises; every message names the object and says how to fix it."""

from __future__ import annotations


class RegistryError(RuntimeError):
    """Base of every registry error a user can cause (bad reference, credentials, bucket...)."""


class RefError(RegistryError, ValueError):
    """A model reference that is not ``name``, ``name:VERSION`` or ``name@ALIAS``."""


class NotFoundError(RegistryError, LookupError):
    """A model, version, alias or object that does not exist in the registry."""


class IntegrityError(RegistryError):
    """A stored file whose sha256 or size differs from the version manifest."""


class ConflictError(RegistryError):
    """A compare-and-swap that kept losing to concurrent writers."""


class AliasMoved(ConflictError):
    """``set_alias(expected=...)`` found the alias pointing at another version."""


class PreconditionFailed(Exception):
    """Internal: a conditional write lost (the key exists, or its ETag changed).

    Not a :class:`RegistryError`: the registry catches it and retries or converts it.
    """
