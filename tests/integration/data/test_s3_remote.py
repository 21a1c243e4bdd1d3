"""DVC with an S3 remote on a real moto server process (started by the s3_endpoint fixture)."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pandas as pd
import pytest
from _data_helpers import CORPUS

from tsalign.components.config import DataConfig
from tsalign.components.data import (
    DataError,
    ensure_dvc_project,
    ingest,
    load_frame,
    load_frame_at_rev,
)

pytestmark = pytest.mark.integration

WINDOW = {"window": {"seq_len": 8, "horizon": 4}}


def keys(endpoint: str, bucket: str) -> dict[str, str]:
    client = boto3.client("s3", endpoint_url=endpoint)
    listing = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {obj["Key"]: obj["ETag"] for obj in listing}


def test_ingest_pushes_to_s3_and_reads_back(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    ensure_dvc_project(root, remote_url=f"s3://{s3_bucket}/dvcstore", endpoint_url=s3_endpoint)
    cfg = DataConfig(name="t", source=str(CORPUS / "good.csv"), **WINDOW)
    ref = ingest(cfg, root)
    assert ref.remote == f"s3://{s3_bucket}/dvcstore"
    stored = keys(s3_endpoint, s3_bucket)
    assert f"dvcstore/files/md5/{ref.md5[:2]}/{ref.md5[2:]}" in stored
    assert len(stored) == 3  # the .dir object, the Parquet file, the metadata JSON

    again = ingest(cfg, root)
    assert again.md5 == ref.md5 and keys(s3_endpoint, s3_bucket) == stored  # no new object

    old = load_frame(ref)
    changed = ingest(
        cfg.model_copy(
            update={"source": str(CORPUS / "missing_values.csv"), "missing": "interpolate"}
        ),
        root,
    )
    assert changed.md5 != ref.md5 and len(keys(s3_endpoint, s3_bucket)) > len(stored)

    # A machine without the local cache reads the old version from the S3 remote.
    shutil.rmtree(root / ".dvc" / "cache")
    pd.testing.assert_frame_equal(load_frame_at_rev("t", ref.md5, root), old)


def test_broken_input_leaves_the_s3_remote_untouched(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    ensure_dvc_project(root, remote_url=f"s3://{s3_bucket}/dvcstore", endpoint_url=s3_endpoint)
    ingest(DataConfig(name="t", source=str(CORPUS / "good.csv"), **WINDOW), root)
    stored = keys(s3_endpoint, s3_bucket)
    dvc_file = (root / "data.dvc").read_bytes()
    with pytest.raises(DataError, match=r"pos_inf.csv, column 'load'.*row 12"):
        ingest(DataConfig(name="t", source=str(CORPUS / "pos_inf.csv"), **WINDOW), root)
    assert keys(s3_endpoint, s3_bucket) == stored
    assert (root / "data.dvc").read_bytes() == dvc_file


def test_unreachable_s3_remote_is_a_data_error(s3_endpoint: str, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    ensure_dvc_project(
        root, remote_url="s3://no-such-bucket-xyz/dvcstore", endpoint_url=s3_endpoint
    )
    with pytest.raises(
        DataError, match=r"data.dvc: DVC add/push failed.*Fix: check the DVC remote"
    ):
        ingest(DataConfig(name="t", source=str(CORPUS / "good.csv"), **WINDOW), root)
    assert not (root / "data.dvc").exists()
    assert not (root / "data").exists()
