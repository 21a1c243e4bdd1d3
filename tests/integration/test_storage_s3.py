"""The one S3 client factory against a real (moto) S3 server."""

from __future__ import annotations

import pytest

from tsalign.components.storage import s3_client


def test_client_reaches_the_configured_endpoint(s3_endpoint: str, s3_bucket: str) -> None:
    client = s3_client(s3_endpoint)
    client.put_object(Bucket=s3_bucket, Key="a/b.txt", Body=b"v")
    assert client.get_object(Bucket=s3_bucket, Key="a/b.txt")["Body"].read() == b"v"
    assert client.meta.config.retries == {"total_max_attempts": 6, "mode": "standard"}
    assert client.meta.config.s3 == {"addressing_style": "path"}


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"])
def test_without_an_endpoint_the_aws_variables_are_used(
    s3_endpoint: str, s3_bucket: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv(variable, s3_endpoint)
    client = s3_client()
    assert client.meta.endpoint_url == s3_endpoint
    assert client.meta.config.s3 == {"addressing_style": "path"}
    client.put_object(Bucket=s3_bucket, Key="k", Body=b"x")
    assert client.head_object(Bucket=s3_bucket, Key="k")["ContentLength"] == 1


def test_an_explicit_endpoint_wins_over_the_environment(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert s3_client(s3_endpoint).meta.endpoint_url == s3_endpoint
