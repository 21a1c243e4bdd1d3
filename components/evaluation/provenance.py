"""What an evaluation report records so that it can be reproduced."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

LIBRARIES = ("torch", "transformers", "peft", "deepspeed", "ray", "numpy", "pandas", "tsalign")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the numbers."""
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(seed: int, context: Mapping[str, Any]) -> dict[str, Any]:
    """Seed, caller context (data md5, config hash, run names) and library versions."""
    return {"seed": seed, **context, "libraries": library_versions()}
