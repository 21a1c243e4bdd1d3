"""A training job carries the data protocol only: the source never reaches a Ray worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from tsalign.components.config import build_config
from tsalign.components.models import ModelSpec
from tsalign.components.refs import DatasetRef
from tsalign.components.training.job import TrainJob
from tsalign.components.training.launcher import worker_config
from tsalign.components.training.worker import WorkerConfig

SOURCE = {
    "source": "s3://bucket/series.csv",
    "endpoint_url": "http://127.0.0.1:9000",
    "cache_dir": "/srv/tsalign-downloads",
    "sha256": "c" * 64,
    "local_copy": "/srv/ETTh1.csv",
}


def _job(tmp_path: Path) -> TrainJob:
    cfg = build_config({"data": {**SOURCE, "window": {"seq_len": 48, "horizon": 12}}})
    dataset = DatasetRef(
        name="d",
        path=str(tmp_path / "d.parquet"),
        meta_path=str(tmp_path / "d.meta.json"),
        md5="m",
        remote="local",
        rows=100,
        channels=["y"],
        timestamp_col="timestamp",
        freq="h",
    )
    spec = ModelSpec(seq_len=48, horizon=12, n_channels=1)
    return TrainJob(dataset, cfg.data.protocol(), cfg.model, cfg.train, spec, "run-1")


def test_workers_receive_protocol_model_and_train_but_nothing_of_the_source(tmp_path: Path):
    job = _job(tmp_path)
    shipped = worker_config(job, job.train, {"zero_optimization": {"stage": 0}}).model_dump(
        mode="json"
    )
    assert set(shipped) == {
        "dataset_path",
        "protocol",
        "model",
        "spec",
        "train",
        "ds_preset",
        "progress_actor",
        "text_path",  # a fused model's window texts: arrays, never the texts or sources
        "retrieval_path",  # a retrieval model's index: training rows and embeddings
    }
    assert shipped["protocol"]["window"]["seq_len"] == 48
    text = json.dumps(shipped)
    leaked = [value for value in SOURCE.values() if value in text]
    assert not leaked, f"source settings shipped to the workers: {leaked}"


def test_a_worker_refuses_a_data_section(tmp_path: Path):
    job = _job(tmp_path)
    shipped = worker_config(job, job.train, {}).model_dump(mode="json")
    with pytest.raises(ValidationError, match="data"):
        WorkerConfig.model_validate({**shipped, "data": SOURCE})
