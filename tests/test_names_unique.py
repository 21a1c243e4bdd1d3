"""Test modules are imported by basename (no __init__.py in tests/), so two files with one
name make collection fail; this says which before pytest's import error does."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_every_test_module_name_is_unique():
    paths = sorted(TESTS.rglob("test_*.py"))
    names = Counter(p.name for p in paths)
    clashes = [str(p.relative_to(TESTS)) for p in paths if names[p.name] > 1]
    assert not clashes, f"test modules sharing a name (rename one of each): {clashes}"
