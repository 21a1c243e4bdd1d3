"""Forecasting with recent text: aligned to the forecast start by the version's rule, read
with its text columns, refused with the file and row when bad (the real MiniLM encoder)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import typer
from typer.testing import CliRunner

from tsalign.components.config import ModelConfig, RegistryConfig
from tsalign.components.data.errors import DataError
from tsalign.components.inference import PredictError, forecast
from tsalign.components.models.catalogue import build_model
from tsalign.components.models.persistence import save_pretrained
from tsalign.components.models.spec import ModelSpec
from tsalign.components.registry import Registry, open_registry
from tsalign.flows.cli.predict import predict_cmd

SEQ, HORIZON, CHANNELS = 16, 4, ["load"]
TEXT = {"sources": [{"source": "notes.csv", "text_cols": ["note"]}], "lag": "2h", "last": 2}
ORIGIN = pd.Timestamp("2024-01-02 16:00")  # the first forecast step of ``history()``


def _publish(reg: Registry, name: str, fusion: str, root: Path) -> None:
    torch.manual_seed(0)
    fused = fusion != "none"
    spec = ModelSpec(
        seq_len=SEQ, horizon=HORIZON, n_channels=1,
        text_dim=384 if fused else None, text_tokens=2 if fused else 1,
    )  # fmt: skip
    params = {"moving_avg": 5, "text_fusion": fusion, **({"text_weight": 1.0} if fused else {})}
    cfg = ModelConfig(name="dlinear", params=params)
    model = build_model(cfg, spec)
    if fused:
        with torch.no_grad():
            model.text_head.weight.normal_(0, 1.0)
    save_pretrained(model, cfg, spec, root / name / "model")
    scaler = {"channels": CHANNELS, "mean": [100.0], "std": [10.0], "freq": "h"}
    (root / name / "scaler.json").write_text(json.dumps(scaler))
    files = {"model": root / name / "model", "scaler.json": root / name / "scaler.json"}
    reg.publish(name, files, config={"data": {"name": "x", "text": TEXT}}, metrics={}, lineage={})


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    root = tmp_path_factory.mktemp("versions")
    reg = open_registry(RegistryConfig(uri=str(root / "reg")))
    _publish(reg, "fused", "add", root)
    _publish(reg, "plain", "none", root)
    return reg


def history() -> pd.DataFrame:
    stamps = pd.date_range("2024-01-01", periods=40, freq="h")
    return pd.DataFrame({"timestamp": stamps, "load": 100 + np.sin(np.arange(40))})


def _notes(path: Path, *rows: tuple[str, str, str]) -> Path:
    pd.DataFrame(rows, columns=["start_date", "end_date", "note"]).to_csv(path, index=False)
    return path


def test_only_text_that_ended_a_lag_before_the_forecast_is_used(registry, tmp_path: Path):
    plain = forecast(registry, "fused", history())
    # ends 15:00: 15:00 + 2h lag is not before the 16:00 origin, so it must not be read
    late = _notes(tmp_path / "late.csv", ("2024-01-02 14:00", "2024-01-02 15:00", "load 140"))
    assert forecast(registry, "fused", history(), texts=late).equals(plain)
    early = _notes(
        tmp_path / "early.csv",
        ("2024-01-02 12:00", "2024-01-02 13:00", "load will rise"),
        ("2024-01-02 14:00", "2024-01-02 15:00", "load 140"),
    )
    with_text = forecast(registry, "fused", history(), texts=early)
    assert not np.allclose(with_text["load"], plain["load"])  # the 13:00 text reached it
    assert with_text["timestamp"].iloc[0] == ORIGIN


def test_bad_text_input_is_named_and_exits_1(registry, tmp_path: Path):
    backwards = _notes(tmp_path / "bad.csv", ("2024-01-02 12:00", "2024-01-01 13:00", "x"))
    with pytest.raises(DataError, match="end before start"):
        forecast(registry, "fused", history(), texts=backwards)
    with pytest.raises(PredictError, match="does not read text"):
        forecast(registry, "plain", history(), texts=backwards)
    app = typer.Typer()
    app.command()(predict_cmd)
    history().to_csv(tmp_path / "in.csv", index=False)
    args = ["fused", "--input", str(tmp_path / "in.csv"), "--registry", registry.store.uri]
    runner = CliRunner()
    for text, message in [
        (backwards, "end before start"),
        (tmp_path / "missing.csv", "--text .*missing.csv: file not found"),
        (_notes(tmp_path / "empty.csv", ("2024-01-01", "2024-01-01", "")), "empty text"),
    ]:
        res = runner.invoke(app, [*args, "--text", str(text)])
        assert res.exit_code == 1, res.output
        assert re.search(message, res.output), res.output
        assert "Traceback" not in res.output
    ok = _notes(tmp_path / "ok.csv", ("2024-01-02 12:00", "2024-01-02 13:00", "load up"))
    out = tmp_path / "out.csv"
    res = runner.invoke(app, [*args, "--text", str(ok), "--horizon", "6", "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(out)) == 6  # two rolls, each with its text
