"""A tiny synthetic dataset and config for the training integration tests (no DVC, no download)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tsalign.components.config import DataConfig, ModelConfig, TrainConfig
from tsalign.components.data.meta import TIMESTAMP, DatasetMeta
from tsalign.components.models import ModelSpec
from tsalign.components.refs import DatasetRef
from tsalign.components.training.job import TrainJob

ROWS = 3000


def write_dataset(root: Path, name: str = "tiny", inf_row: int | None = None) -> DatasetRef:
    """Hourly sine with a daily season plus noise, as canonical Parquet + meta JSON.

    ``inf_row`` writes +inf there, which ingest would refuse: a run on it diverges at once.
    """
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = np.arange(ROWS)
    frame = pd.DataFrame(
        {
            TIMESTAMP: pd.date_range("2024-01-01", periods=ROWS, freq="h"),
            "load": np.sin(2 * np.pi * t / 24) + 0.1 * rng.standard_normal(ROWS),
        }
    )
    if inf_row is not None:
        frame.loc[inf_row, "load"] = np.inf
    path = root / f"{name}.parquet"
    frame.to_parquet(path, index=False)
    meta = DatasetMeta(
        name=name,
        source="synthetic",
        channels=["load"],
        targets=["load"],
        freq="h",
        rows=ROWS,
        start=str(frame[TIMESTAMP].iloc[0]),
        end=str(frame[TIMESTAMP].iloc[-1]),
    )
    meta_path = root / f"{name}.meta.json"
    meta_path.write_text(json.dumps(meta.model_dump()))
    return DatasetRef(
        name=name,
        path=str(path),
        meta_path=str(meta_path),
        md5="0" * 32,
        remote="none",
        rows=ROWS,
        channels=["load"],
        timestamp_col=TIMESTAMP,
        freq="h",
    )


def data_cfg(name: str = "tiny") -> DataConfig:
    return DataConfig(name=name, source="synthetic", window={"seq_len": 24, "horizon": 6})


def job(
    dataset: DatasetRef, train: TrainConfig, run_name: str, model: ModelConfig | None = None
) -> TrainJob:
    """A training run of ``model`` (gpt4ts by default) on the tiny protocol."""
    return TrainJob(dataset, data_cfg().protocol(), model or model_cfg(), train, spec(), run_name)


def model_cfg() -> ModelConfig:
    return ModelConfig(name="gpt4ts", n_layers=1, params={"patch_len": 6, "patch_stride": 6})


def spec() -> ModelSpec:
    return ModelSpec(seq_len=24, horizon=6, n_channels=1, season=24, domain_context="")


def train_cfg(storage: Path, **overrides) -> TrainConfig:
    base = {
        "num_workers": 2,
        "deepspeed_preset": "zero2",
        "epochs": 4,
        "batch_size": 16,
        "lr": 3e-3,
        "patience": 10,
        "max_train_windows": 96,
        "max_val_windows": 48,
        "storage_path": str(storage),
        "max_failures": 2,
    }
    return TrainConfig(**{**base, **overrides})
