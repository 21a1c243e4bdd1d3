"""Forecasting from a published version: timestamps continued, scaling undone, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from tsalign.components.config import ModelConfig, RegistryConfig
from tsalign.components.inference import PredictError, forecast
from tsalign.components.models.catalogue import build_model
from tsalign.components.models.persistence import save_pretrained
from tsalign.components.models.spec import ModelSpec
from tsalign.components.registry import (
    IntegrityError,
    NotFoundError,
    RefError,
    Registry,
    open_registry,
)

SEQ, HORIZON, CHANNELS = 16, 4, ["load", "temp"]
MEAN, STD = np.array([100.0, 20.0]), np.array([10.0, 5.0])


@pytest.fixture
def published(tmp_path: Path) -> tuple[Registry, torch.nn.Module]:
    torch.manual_seed(0)
    spec = ModelSpec(seq_len=SEQ, horizon=HORIZON, n_channels=len(CHANNELS))
    cfg = ModelConfig(name="dlinear", params={"moving_avg": 5})
    model = build_model(cfg, spec)
    save_pretrained(model, cfg, spec, tmp_path / "export" / "model")
    scaler = {"channels": CHANNELS, "mean": MEAN.tolist(), "std": STD.tolist(), "freq": "h"}
    (tmp_path / "export" / "scaler.json").write_text(json.dumps(scaler))
    reg = open_registry(RegistryConfig(uri=str(tmp_path / "reg")))
    reg.publish(
        "fc",
        {
            "model": tmp_path / "export" / "model",
            "scaler.json": tmp_path / "export" / "scaler.json",
        },
        config={},
        metrics={},
        lineage={},
    )
    reg.set_alias("fc", "champion", 1)
    model.eval()
    return reg, model


def history(rows: int = 40, freq: str = "h") -> pd.DataFrame:
    rng = np.random.default_rng(1)
    stamps = pd.date_range("2024-01-01", periods=rows, freq=freq)
    return pd.DataFrame(
        {
            "timestamp": stamps,
            "temp": 20 + 5 * rng.standard_normal(rows),
            "extra": 1.0,
            "load": 100 + 10 * rng.standard_normal(rows),
        }
    )


def test_forecast_matches_model_and_continues_timestamps(published) -> None:
    reg, model = published
    frame = history()
    out = forecast(reg, "fc@champion", frame)
    assert list(out.columns) == ["timestamp", *CHANNELS]
    expected_times = pd.date_range("2024-01-02 16:00", periods=HORIZON, freq="h")
    assert list(out["timestamp"]) == list(expected_times)
    x = (frame[CHANNELS].to_numpy()[-SEQ:] - MEAN) / STD
    with torch.no_grad():
        y = model(torch.tensor(x, dtype=torch.float32)[None])[0].numpy()
    np.testing.assert_allclose(out[CHANNELS].to_numpy(), y * STD + MEAN, rtol=1e-5)


def test_longer_horizon_rolls_forward(published) -> None:
    reg, _ = published
    short = forecast(reg, "fc:1", history())
    long = forecast(reg, "fc", history(), horizon=10)
    assert len(long) == 10
    np.testing.assert_allclose(long[CHANNELS].to_numpy()[:HORIZON], short[CHANNELS].to_numpy())
    assert long["timestamp"].iloc[-1] == pd.Timestamp("2024-01-02 16:00") + pd.Timedelta(hours=9)


def test_shuffled_input_rows_are_sorted_by_time(published) -> None:
    reg, _ = published
    frame = history()
    shuffled = frame.sample(frac=1.0, random_state=0)
    pd.testing.assert_frame_equal(forecast(reg, "fc", frame), forecast(reg, "fc", shuffled))


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda f: f.drop(columns=["temp"]), r"lacks column\(s\) \['temp'\]"),
        (lambda f: f.iloc[:10], "looks back 16 steps"),
        (lambda f: f.assign(load=f["load"].where(f.index != 35)), "'load' is missing/non-finite"),
        (lambda f: f.drop(index=[30]), "not evenly spaced"),
        (
            lambda f: f.rename(columns={"timestamp": "when"}).assign(
                when=lambda d: d["when"].astype(str)
            ),
            "cannot tell which input column",
        ),
    ],
)
def test_bad_input_is_explained(published, mutate, pattern) -> None:
    reg, _ = published
    with pytest.raises(PredictError, match=pattern):
        forecast(reg, "fc", mutate(history()))


def test_other_frequency_is_refused(published) -> None:
    reg, _ = published
    with pytest.raises(PredictError, match=r"sampled every .30min.*trained on .h."):
        forecast(reg, "fc", history(freq="30min"))


def test_bad_refs_and_corruption(published, tmp_path: Path) -> None:
    reg, _ = published
    with pytest.raises(NotFoundError, match="fc:3 does not exist"):
        forecast(reg, "fc:3", history())
    with pytest.raises(RefError):
        forecast(reg, "FC", history())
    entry = reg.show("fc:1").files["model/model.safetensors"]
    (tmp_path / "reg" / "models" / "fc" / "blobs" / entry.sha256[:2] / entry.sha256).write_bytes(
        b"x"
    )
    with pytest.raises(IntegrityError, match=r"model/model\.safetensors"):
        forecast(reg, "fc", history())


def test_non_forecaster_version_is_refused(published, tmp_path: Path) -> None:
    reg, _ = published
    (tmp_path / "notes.txt").write_text("hi")
    reg.publish("fc", {"notes.txt": tmp_path / "notes.txt"}, config={}, metrics={}, lineage={})
    with pytest.raises(PredictError, match="fc:2 is not a model version"):
        forecast(reg, "fc:2", history())


def test_predict_cli_writes_csv_and_fails_cleanly(published, tmp_path: Path) -> None:
    import typer

    from tsalign.flows.cli.predict import predict_cmd

    app = typer.Typer()
    app.command()(predict_cmd)
    reg, _ = published
    history().to_csv(tmp_path / "in.csv", index=False)
    runner = CliRunner()
    args = ["fc@champion", "--input", str(tmp_path / "in.csv"), "--registry", reg.store.uri]
    res = runner.invoke(app, [*args, "--output", str(tmp_path / "out.csv"), "--horizon", "6"])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "out.csv", parse_dates=["timestamp"])
    assert len(out) == 6 and list(out.columns) == ["timestamp", *CHANNELS]
    assert out["timestamp"].iloc[0] == pd.Timestamp("2024-01-02 16:00")
    res = runner.invoke(
        app,
        [
            "fc@staging",
            "--input",
            str(tmp_path / "in.csv"),
            "--registry",
            reg.store.uri,
            "--output",
            str(tmp_path / "bad.csv"),
        ],
    )
    assert res.exit_code == 1 and "no such alias" in res.output
    assert not (tmp_path / "bad.csv").exists()
    history().drop(columns=["load"]).to_csv(tmp_path / "in2.csv", index=False)
    res = runner.invoke(
        app, ["fc", "--input", str(tmp_path / "in2.csv"), "--registry", reg.store.uri]
    )
    assert res.exit_code == 1 and "lacks column" in res.output


def test_predict_device_cpu_matches_auto_and_missing_cuda_is_a_clean_error(
    published, tmp_path: Path
) -> None:
    import typer

    from tsalign.flows.cli.predict import predict_cmd

    reg, _ = published
    frame = history()
    pd.testing.assert_frame_equal(
        forecast(reg, "fc@champion", frame, device="cpu"), forecast(reg, "fc@champion", frame)
    )
    if torch.cuda.is_available():
        return  # the refusal below is what a machine without CUDA answers
    app = typer.Typer()
    app.command()(predict_cmd)
    frame.to_csv(tmp_path / "in.csv", index=False)
    args = ["fc@champion", "--input", str(tmp_path / "in.csv"), "--registry", reg.store.uri]
    res = CliRunner().invoke(app, [*args, "--device", "cuda", "--output", str(tmp_path / "o.csv")])
    assert res.exit_code == 1 and "--device=cuda but no CUDA device" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "o.csv").exists()


def test_exported_directory_forecasts_like_its_published_version(published, tmp_path: Path) -> None:
    from tsalign.components.inference import Predictor

    reg, _ = published
    frame = history()
    local = Predictor.load(tmp_path / "export", device="cpu")
    assert local.spec.seq_len == SEQ and local.scaler.channels == CHANNELS
    pd.testing.assert_frame_equal(
        local.forecast(frame, horizon=7), forecast(reg, "fc@champion", frame, horizon=7)
    )
    (tmp_path / "export" / "scaler.json").write_text(json.dumps({"channels": CHANNELS}))
    with pytest.raises(PredictError, match=r"export: scaler\.json is not a scaler"):
        Predictor.load(tmp_path / "export")
