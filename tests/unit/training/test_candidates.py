"""Candidates with nothing to fit are exported as built, in the training checkpoint layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tsalign.components.config import ModelConfig, ProtocolConfig, TrainConfig, WindowConfig
from tsalign.components.data.meta import TIMESTAMP, DatasetMeta
from tsalign.components.models import ModelSpec, load_pretrained
from tsalign.components.refs import DatasetRef
from tsalign.components.training.candidates import train_candidate
from tsalign.components.training.job import TrainJob


def test_seasonal_naive_is_exported_without_ray(tmp_path: Path):
    rows = 400
    values = np.sin(np.arange(rows) * 2 * np.pi / 24) + 5.0
    frame = pd.DataFrame(
        {TIMESTAMP: pd.date_range("2024-01-01", periods=rows, freq="h"), "y": values}
    )
    frame.to_parquet(tmp_path / "s.parquet", index=False)
    meta = DatasetMeta(
        name="s",
        source="test",
        channels=["y"],
        targets=["y"],
        freq="h",
        rows=rows,
        start="2024-01-01",
        end="2024-01-17",
    )
    (tmp_path / "s.meta.json").write_text(meta.model_dump_json())
    dataset = DatasetRef(
        name="s",
        path=str(tmp_path / "s.parquet"),
        meta_path=str(tmp_path / "s.meta.json"),
        md5="x",
        remote="local",
        rows=rows,
        channels=["y"],
        timestamp_col=TIMESTAMP,
        freq="h",
    )
    spec = ModelSpec(seq_len=48, horizon=24, n_channels=1, season=24)
    job = TrainJob(
        dataset,
        ProtocolConfig(window=WindowConfig(seq_len=48, horizon=24)),
        ModelConfig(name="seasonal_naive"),
        TrainConfig(storage_path=str(tmp_path / "runs")),
        spec,
        "sn-run",
    )
    result = train_candidate(job)
    assert result.model == "seasonal_naive" and result.curves == {}
    model, _, loaded_spec = load_pretrained(Path(result.checkpoint_uri))
    assert loaded_spec.season == 24
    x = torch.randn(1, 48, 1)
    assert torch.equal(model(x), x[:, -24:, :])  # one season repeated
    scaler = json.loads((Path(result.checkpoint_uri).parent / "scaler.json").read_text())
    assert scaler["channels"] == ["y"] and scaler["freq"] == "h"
