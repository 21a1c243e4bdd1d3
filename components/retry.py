"""Which failures are worth retrying: network hiccups yes, user errors never.

The stages that touch the network (publishing to S3, connecting to a Ray cluster)
retry with backoff, but only on errors that a second attempt can fix. A wrong
bucket name, missing credentials or a bad config fails the same way every time,
so retrying it would only delay the message the user needs.

The registry and data layers turn botocore exceptions into readable errors with
``raise ... from None``; Python still keeps the original exception in
``__context__``, which is what this module inspects.
"""

from __future__ import annotations

from collections.abc import Iterator

TRANSIENT_S3_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ServiceUnavailable",
        "InternalError",
        "503",
        "500",
        "502",
        "504",
    }
)
"""S3 error codes that AWS documents as retryable."""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        yield node
        node = node.__cause__ or node.__context__


def _is_transient_one(exc: BaseException) -> bool:
    try:
        import botocore.exceptions as bex
    except ImportError:  # pragma: no cover - boto3 is a dependency
        bex = None
    if bex is not None:
        if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
            return False
        if isinstance(
            exc,
            bex.EndpointConnectionError
            | bex.ConnectTimeoutError
            | bex.ReadTimeoutError
            | bex.ConnectionClosedError,
        ):
            return True
        if isinstance(exc, bex.ClientError):
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return str(error.get("Code", "")) in TRANSIENT_S3_CODES or (
                isinstance(status, int) and status >= 500
            )
    # Sockets refused/reset and timeouts (urllib, Ray's GCS client, boto's transport).
    return isinstance(exc, ConnectionError | TimeoutError)


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (or an exception it was raised from) is a network failure.

    Args:
        exc: the exception a stage raised.

    Returns:
        True for connection/timeout errors and retryable S3 codes (throttling, 5xx);
        False for everything else: user errors (config, data, credentials, missing
        objects, access denied) and bugs.
    """
    return any(_is_transient_one(node) for node in _chain(exc))
