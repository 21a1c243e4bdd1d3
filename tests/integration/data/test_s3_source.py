"""An s3:// data source on a real moto server: its cache fingerprint and its download."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from tsalign.components.config import DataConfig
from tsalign.components.data import DataError
from tsalign.components.data.sources import S3Source, resolve_source, source_for
from tsalign.components.fingerprint import source_fingerprint

pytestmark = pytest.mark.integration


def test_the_fingerprint_follows_the_object_and_open_downloads_it(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.put_object(Bucket=s3_bucket, Key="d/x.csv", Body=b"t,a\n1,2\n")
    cfg = DataConfig(source=f"s3://{s3_bucket}/d/x.csv", endpoint_url=s3_endpoint)
    assert isinstance(source_for(cfg, tmp_path), S3Source)
    first = source_fingerprint(cfg, tmp_path)
    assert first is not None and first["size"] == 8 and first["etag"]
    with resolve_source(cfg, tmp_path) as src:
        assert src.path.read_bytes() == b"t,a\n1,2\n" and src.fmt == "csv"
        downloaded = src.path
    assert not downloaded.exists()  # the temporary download is removed after use
    client.put_object(Bucket=s3_bucket, Key="d/x.csv", Body=b"t,a\n1,3\n")
    second = source_fingerprint(cfg, tmp_path)
    assert second is not None and second["etag"] != first["etag"]


def test_a_missing_object_is_not_cached_and_ingest_names_it(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    cfg = DataConfig(source=f"s3://{s3_bucket}/nope.csv", endpoint_url=s3_endpoint)
    assert source_fingerprint(cfg, tmp_path) is None
    with (
        pytest.raises(DataError, match=rf"cannot read S3 object s3://{s3_bucket}/nope.csv"),
        resolve_source(cfg, tmp_path),
    ):
        pass
