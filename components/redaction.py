"""One rule for secrets: what counts as one, how it is masked, and which URLs are refused.

Everything tsalign persists (run configs, exported ``tsalign_model.json``, registry manifests and
cards, ``data/*.meta.json``, ``state.json``, profiles and reports, Prefect parameters and cached
results) goes through :func:`redact`, or is built from a config whose free text went through
:func:`redact_text` when it was validated. Config fields that hold URLs refuse credentials
outright (:func:`url_credentials`): a secret belongs in an environment variable (or the AWS
credential chain), never in a file that is versioned, cached or published.

The rule works on words, not substrings: a key is secret when one of its words (split at
``_``, ``-``, ``.`` and camelCase) is ``password``, ``secret``, ``token``, ``signature``... or
when it pairs ``api``/``access``/``private``/``session``... with ``key``. So ``tokenizer``,
``prompt_tokens`` and ``max_tokens`` stay untouched (a stored config still validates), and
``api_key_env`` (the *name* of a variable) is kept.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

REDACTED = "***"

_SECRET_WORDS = frozenset(
    {
        "password", "passwd", "passphrase", "pwd", "pass", "secret", "secrets", "token",
        "credential", "credentials", "signature", "sig", "auth", "authorization", "apikey",
        "cookie",
    }
)  # fmt: skip
_KEY_PREFIXES = frozenset({"api", "access", "private", "session", "secret", "signing", "client"})
_NAME_SUFFIXES = frozenset({"env", "var"})  # the name of where a secret lives, not the secret
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")

# user:password@ (passwords such as AWS secrets may contain "/"), or a bare token@.
_URL_USERINFO = re.compile(r"\b([a-z][a-z0-9+.\-]*://)([^\s@/:]+:[^\s@]*|[^\s@/:]+)@", re.I)
# key=value / key: value / "key": "value" in free text, query strings and headers. The value is
# matched separately so that a harmless key (``https:``) never swallows the secret after it.
_KEY_SEP = re.compile(r"(?<![\w.\-])(?P<key>[A-Za-z][\w.\-]*)[\"']?\s*[:=]\s*")
_VALUE = re.compile(r"\"[^\"]*\"|'[^']*'|[^\s,;&#\"'<>)\]}]+")
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/\-]{8,}=*", re.I)
# AWS access key ids have a fixed shape; catch them even under an innocent-looking key.
_AWS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")


def is_secret_key(key: str, *, query: bool = False) -> bool:
    """True when a mapping key or parameter name names a secret (see the module docstring).

    Args:
        key: the name.
        query: the name is a URL query parameter, where a bare ``key`` (``?key=AIza…``) is an
            API key; elsewhere ``key`` alone ("partition key: region") is not.
    """
    words = [w.lower() for w in _WORD_SPLIT.split(key) if w]
    if not words or words[-1] in _NAME_SUFFIXES:
        return False
    if any(w in _SECRET_WORDS for w in words):
        return True
    if query and words == ["key"]:
        return True
    return any(w == "key" and i > 0 and words[i - 1] in _KEY_PREFIXES for i, w in enumerate(words))


def _mask_assignments(text: str) -> str:
    out: list[str] = []
    pos = 0
    for found in _KEY_SEP.finditer(text):
        in_query = found.start() > 0 and text[found.start() - 1] in "?&;"
        if found.start() < pos or not is_secret_key(found["key"], query=in_query):
            continue
        value = _VALUE.match(text, found.end())
        if value is None:
            continue
        out += [text[pos : found.end()], REDACTED]
        pos = value.end()
    return "".join(out) + text[pos:]


def redact_text(text: str) -> str:
    """``text`` with URL passwords, ``secret=value`` pairs, bearer tokens and AWS key ids masked."""
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _mask_assignments(text)
    return _AWS_KEY_ID.sub(REDACTED, text)


def redact(value: Any) -> Any:
    """Copy of ``value`` (dicts, lists, strings) with every secret replaced by ``***``.

    Values under secret-looking keys are masked whole; every string is passed through
    :func:`redact_text`. Numbers, booleans and ``None`` are kept, so a redacted config or
    reference still validates against its schema.
    """
    if isinstance(value, dict):
        return {
            k: (
                REDACTED
                if isinstance(k, str) and is_secret_key(k) and isinstance(v, str | bytes)
                else redact(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def url_credentials(url: str) -> str | None:
    """What credential a URL carries (``user:password@``, a secret query parameter), or None."""
    if "://" not in url:
        return None
    try:
        parts = urlsplit(url.strip())
        userinfo = parts.username is not None or parts.password is not None
    except ValueError:
        return None
    if userinfo:
        return "a user:password@ part"
    for name, _ in parse_qsl(parts.query, keep_blank_values=True):
        if is_secret_key(name, query=True):
            return f"the query parameter {name!r}"
    return None


def refuse_url_credentials(url: str | None) -> str | None:
    """Pydantic validator for URL fields: keep ``url`` unless it carries a credential.

    Raises:
        ValueError: naming what was found (never its value) and where the secret belongs.
    """
    if url is None:
        return None
    found = url_credentials(url)
    if found:
        raise ValueError(
            f"the URL holds a credential ({found}); a config is stored with every run, so keep "
            "secrets out of it: an endpoint key goes in the environment variable named by "
            "model.params.api_key_env (llmtime), S3 credentials in AWS_* variables or an AWS profile"
        )
    return url
