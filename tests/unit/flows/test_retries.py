"""Network stages retry transient failures with backoff; user errors fail at once."""

from __future__ import annotations

import botocore.exceptions as bex
import pytest
from prefect import flow, task

from tsalign.components.config import ConfigError
from tsalign.components.registry.errors import RegistryError
from tsalign.components.retry import is_transient
from tsalign.flows.caching import NETWORK_RETRIES, retry_transient
from tsalign.flows.publish import publish_version
from tsalign.flows.train import connect_cluster


def _wrapped(cause: BaseException, message: str) -> RegistryError:
    """How the registry reports botocore failures: ``raise ... from None`` inside ``except``."""
    try:
        try:
            raise cause
        except type(cause):
            raise RegistryError(message) from None
    except RegistryError as err:
        return err


def test_unreachable_endpoint_and_throttling_are_transient():
    assert is_transient(_wrapped(bex.EndpointConnectionError(endpoint_url="http://x"), "down"))
    slow = bex.ClientError({"Error": {"Code": "SlowDown"}}, "PutObject")
    assert is_transient(_wrapped(slow, "slow"))
    assert is_transient(ConnectionRefusedError("ray head refused"))


def test_user_errors_are_not_transient():
    assert not is_transient(_wrapped(bex.NoCredentialsError(), "no credentials"))
    denied = bex.ClientError(
        {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "Put"
    )
    assert not is_transient(_wrapped(denied, "denied"))
    assert not is_transient(ConfigError("train.epochs: bad"))
    assert not is_transient(ValueError("bug"))


def test_network_stages_declare_retries_with_the_condition():
    for stage in (publish_version, connect_cluster):
        assert stage.retries == 3
        assert stage.retry_condition_fn is retry_transient
        assert callable(stage.retry_delay_seconds) or isinstance(stage.retry_delay_seconds, list)


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize(
    ("error", "attempts"),
    [(ConnectionResetError("reset by peer"), 3), (ConfigError("registry.uri: bad"), 1)],
)
def test_retry_condition_in_the_engine(error: Exception, attempts: int):
    calls: list[int] = []

    @task(**{**NETWORK_RETRIES, "retry_delay_seconds": 0}, retry_condition_fn=retry_transient)
    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise error
        return "ok"

    @flow
    def run() -> str:
        return flaky()

    if attempts == 3:
        assert run() == "ok"
    else:
        with pytest.raises(ConfigError):
            run()
    assert len(calls) == attempts
