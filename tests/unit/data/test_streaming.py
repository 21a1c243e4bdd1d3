"""The streaming fast path writes the same bytes as the in-memory path and falls back on anything odd."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tsalign.components.config import DataConfig
from tsalign.components.data import DataError, canonical
from tsalign.components.data.sources import resolve_source

# The package re-exports the ingest() function under the module's name; take the module.
ingest_mod = importlib.import_module("tsalign.components.data.ingest")
CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "broken"
MANIFEST = yaml.safe_load((CORPUS / "cases.yaml").read_text())


def stage(cfg: DataConfig, tmp: Path, stream: bool, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(ingest_mod, "STREAM_MIN_BYTES", 0 if stream else 1 << 62)
    out = tmp / ("s" if stream else "m")
    out.mkdir(exist_ok=True)
    with resolve_source(cfg, tmp) as src:
        canon, staged = ingest_mod.stage_canonical(src, cfg, out)
    return canon, staged.read_bytes()


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many CSV blocks and several row groups even for a small file.
    monkeypatch.setattr(canonical, "STREAM_BLOCK_BYTES", 4096)
    monkeypatch.setattr(canonical, "PARQUET_ROW_GROUP", 1000)


def test_streamed_bytes_equal_in_memory_bytes(tmp_path: Path, monkeypatch, small_blocks) -> None:
    n = 5003
    frame = pd.DataFrame(
        {
            "t": pd.date_range("2020-01-01", periods=n, freq="15min", tz="UTC"),
            "a": np.round(np.random.default_rng(0).normal(size=n), 3),
            "b": np.arange(n),
            "flag": np.arange(n) % 2 == 0,
        }
    )
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    cfg = DataConfig(name="big", source=str(path), window={"seq_len": 8, "horizon": 4})
    streamed, s_bytes = stage(cfg, tmp_path, True, monkeypatch)
    memory, m_bytes = stage(cfg, tmp_path, False, monkeypatch)
    assert streamed.streamed and not memory.streamed  # each really took its path
    assert s_bytes == m_bytes
    for field in (
        "channels",
        "targets",
        "freq",
        "inferred",
        "timezone",
        "rows",
        "start_ns",
        "end_ns",
    ):
        assert getattr(streamed, field) == getattr(memory, field), field


LOCAL = [
    c for c in MANIFEST["cases"] if "://" not in c["source"] and c["source"] != "does_not_exist.csv"
]


@pytest.mark.parametrize("case", LOCAL, ids=[c["id"] for c in LOCAL])
def test_broken_inputs_fall_back_to_the_same_error(
    case: dict, tmp_path: Path, monkeypatch, small_blocks
) -> None:
    cfg = DataConfig(
        name="t",
        source=str(CORPUS / case["source"]),
        **MANIFEST["defaults"],
        **case.get("config", {}),
    )
    messages = []
    for stream in (True, False):
        with pytest.raises(DataError) as caught:
            stage(cfg, tmp_path, stream, monkeypatch)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert not list((tmp_path / "s").iterdir())  # the partial streamed file was removed


def test_policy_cases_fall_back_and_fill(tmp_path: Path, monkeypatch, small_blocks) -> None:
    cfg = DataConfig(
        name="t",
        source=str(CORPUS / "gap_refused.csv"),
        missing="interpolate",
        window={"seq_len": 8, "horizon": 4},
    )
    canon, s_bytes = stage(cfg, tmp_path, True, monkeypatch)
    _, m_bytes = stage(cfg, tmp_path, False, monkeypatch)
    assert canon.rows == 60 and canon.filled == {"load": 2, "temp": 2}
    assert s_bytes == m_bytes
