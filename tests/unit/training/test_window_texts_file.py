"""The window texts a fused candidate's workers receive: computed once per data version with
the real MiniLM, at an absolute path (Ray workers do not run in the driver's directory)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsalign.components.config import RunConfig
from tsalign.components.data.meta import TIMESTAMP, DatasetMeta
from tsalign.components.data.text import text_path
from tsalign.components.data.text_features import load_window_texts
from tsalign.components.models import ModelSpec
from tsalign.components.refs import DatasetRef
from tsalign.components.training.candidates import window_texts_file, with_text_dims

ROWS = 120


@pytest.fixture
def dataset(tmp_path: Path) -> DatasetRef:
    ts = pd.date_range("2020-01-06", periods=ROWS, freq="W-MON")
    series = tmp_path / "data" / "energy.parquet"
    series.parent.mkdir()
    pd.DataFrame({TIMESTAMP: ts, "OT": np.sin(np.arange(ROWS))}).to_parquet(series, index=False)
    meta = DatasetMeta(
        name="energy", source="x", channels=["OT"], targets=["OT"], freq="W-MON", rows=ROWS,
        start=str(ts[0]), end=str(ts[-1]),
    )  # fmt: skip
    (tmp_path / "data" / "energy.meta.json").write_text(meta.model_dump_json())
    ends = ts[::10] + pd.Timedelta("4D")
    pd.DataFrame(
        {"source": "notes.csv", "start": ends - pd.Timedelta("4D"), "end": ends,
         "field": "fact", "text": [f"price rose {i} cents" for i in range(len(ends))]}
    ).to_parquet(text_path(series), index=False)  # fmt: skip
    return DatasetRef(
        name="energy", path=str(series), meta_path=str(series.with_suffix(".meta.json")),
        md5="abc", remote="local", rows=ROWS, channels=["OT"], timestamp_col=TIMESTAMP,
        freq="W-MON",
    )  # fmt: skip


def _config(fusion: str) -> RunConfig:
    return RunConfig.model_validate(
        {
            "workdir": "outputs",  # relative, as in the shipped configs
            "data": {
                "name": "energy",
                "window": {"seq_len": 12, "horizon": 4},
                "text": {"sources": [{"source": "notes.csv"}], "last": 2, "lag": "7D"},
            },
            "model": {"name": "dlinear", "params": {"moving_avg": 5, "text_fusion": fusion}},
        }
    )


def test_a_fused_candidate_gets_an_absolute_window_texts_file(dataset, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert window_texts_file(_config("none"), dataset, None) is None  # the twin needs none
    path = window_texts_file(_config("add"), dataset, None)
    assert path is not None and Path(path).is_absolute() and Path(path).is_file()
    texts = load_window_texts(path)
    assert texts.vectors.shape == (12, 384) and texts.tokens == 2  # MiniLM, data.text.last
    again = window_texts_file(_config("concat"), dataset, None)
    assert again == path  # one file per data version and alignment, whatever the fusion
    config = _config("add")
    spec = with_text_dims(ModelSpec(seq_len=12, horizon=4, n_channels=1), config.model, path)
    assert (spec.text_dim, spec.text_tokens) == (384, 2)
