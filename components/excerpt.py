"""Bounded quoting of user-supplied text and values inside error messages.

An error message may quote what the user gave (a cell, a header, a config value), but
never more than a short, escaped excerpt: a file line can be megabytes long or belong to
another file (a symlinked system file), and a YAML alias bomb expands to millions of
elements when repr'd. Every message that quotes input goes through these functions.
"""

from __future__ import annotations

import itertools
import reprlib
from collections.abc import Sequence

EXCERPT_CHARS = 60
"""Longest quoted excerpt of a string, in characters (before escaping)."""

_REPR = reprlib.Repr()
_REPR.maxstring = EXCERPT_CHARS
_REPR.maxother = EXCERPT_CHARS
_REPR.maxlevel = 2
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4


def quote(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``repr`` of the first ``limit`` characters of ``text`` (escaped), marked when cut.

    Example: ``quote("a" * 100, 5)`` -> ``"'aaaaa'… (100 chars)"``.
    """
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} chars)"


def short_repr(value: object) -> str:
    """A bounded ``repr`` of any value: nested containers and long strings are cut.

    Cost is bounded too: :mod:`reprlib` stops at a fixed depth and width, so a
    self-similar structure (a YAML alias bomb) is never walked in full.
    """
    if isinstance(value, str):
        return quote(value)
    text = _REPR.repr(value)
    return text if len(text) <= 2 * EXCERPT_CHARS else text[: 2 * EXCERPT_CHARS] + "…"


def prune(value: object, depth: int = 3, width: int = 8) -> object:
    """A copy of ``value`` cut to ``depth`` levels of ``width`` items (cheap on any input).

    Lets a value be redacted or inspected without walking a huge or self-similar
    structure; what is cut becomes ``...``.
    """
    if isinstance(value, dict):
        if depth == 0:
            return ...
        items = itertools.islice(value.items(), width)
        return {k: prune(v, depth - 1, width) for k, v in items}
    if isinstance(value, list | tuple):
        if depth == 0:
            return ...
        return [prune(v, depth - 1, width) for v in value[:width]]
    return value


def name_list(names: Sequence[str], limit: int = 10) -> str:
    """The first ``limit`` names as a list, then how many more (a header may have 20,000)."""
    shown = [quote(str(n), 40) for n in names[:limit]]
    more = f", … ({len(names) - limit} more)" if len(names) > limit else ""
    return "[" + ", ".join(shown) + more + "]"
