"""Shared set-up of the training benchmarks: a synthetic series and a small GPT4TS config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tsalign.components.config import DataConfig, ModelConfig, TrainConfig
from tsalign.components.data.meta import TIMESTAMP, DatasetMeta
from tsalign.components.models import ModelSpec
from tsalign.components.refs import DatasetRef

SEQ_LEN, HORIZON = 96, 24


def write_dataset(root: Path, rows: int = 6000) -> DatasetRef:
    """Hourly series with a daily and a weekly season, canonical Parquet + meta JSON."""
    root.mkdir(parents=True, exist_ok=True)
    t = np.arange(rows)
    rng = np.random.default_rng(0)
    values = np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 168)
    frame = pd.DataFrame(
        {
            TIMESTAMP: pd.date_range("2024-01-01", periods=rows, freq="h"),
            "load": values + 0.1 * rng.standard_normal(rows),
        }
    )
    path = root / "bench.parquet"
    frame.to_parquet(path, index=False)
    meta = DatasetMeta(
        name="bench",
        source="synthetic",
        channels=["load"],
        targets=["load"],
        freq="h",
        rows=rows,
        start=str(frame[TIMESTAMP].iloc[0]),
        end=str(frame[TIMESTAMP].iloc[-1]),
    )
    (root / "bench.meta.json").write_text(json.dumps(meta.model_dump()))
    return DatasetRef(
        name="bench",
        path=str(path),
        meta_path=str(root / "bench.meta.json"),
        md5="0" * 32,
        remote="none",
        rows=rows,
        channels=["load"],
        timestamp_col=TIMESTAMP,
        freq="h",
    )


def data_cfg() -> DataConfig:
    return DataConfig(
        name="bench", source="synthetic", window={"seq_len": SEQ_LEN, "horizon": HORIZON}
    )


def model_cfg(n_layers: int = 2) -> ModelConfig:
    return ModelConfig(name="gpt4ts", n_layers=n_layers, params={"dropout": 0.0})


def spec() -> ModelSpec:
    return ModelSpec(seq_len=SEQ_LEN, horizon=HORIZON, n_channels=1, season=24, domain_context="")


def train_cfg(storage: Path, **kw) -> TrainConfig:
    base = {
        "num_workers": 1,
        "deepspeed_preset": "zero0",
        "epochs": 2,
        "batch_size": 32,
        "max_train_windows": 1024,
        "max_val_windows": 64,
        "patience": 10,
        "storage_path": str(storage),
    }
    return TrainConfig(**{**base, **kw})
