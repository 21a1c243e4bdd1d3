"""The evaluation stage on a real slice of ETTh1: same windows for every model, honest counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tsalign.components.config import DataConfig, EvalConfig, ModelConfig, WindowConfig
from tsalign.components.data.meta import TIMESTAMP, DatasetMeta
from tsalign.components.evaluation.leaderboard import recommended_won, render_leaderboard
from tsalign.components.evaluation.runner import EvaluationError, evaluate
from tsalign.components.models import ModelSpec, build_model, save_pretrained

ETTH1 = Path(__file__).resolve().parents[4] / "shared" / "data" / "ett" / "ETTh1.csv"
ROWS = 1200
SEQ, HORIZON = 48, 12


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A canonical dataset file (Parquet + meta JSON) cut from ETTh1."""
    root = tmp_path_factory.mktemp("data")
    raw = pd.read_csv(ETTH1, nrows=ROWS)
    frame = pd.DataFrame(
        {TIMESTAMP: pd.to_datetime(raw["date"]), "OT": raw["OT"], "HUFL": raw["HUFL"]}
    )
    path = root / "ett.parquet"
    frame.to_parquet(path, index=False)
    meta = DatasetMeta(
        name="ett",
        source=str(ETTH1),
        channels=["OT", "HUFL"],
        targets=["OT", "HUFL"],
        freq="h",
        rows=ROWS,
        start=str(frame[TIMESTAMP].iloc[0]),
        end=str(frame[TIMESTAMP].iloc[-1]),
    )
    (root / "ett.meta.json").write_text(meta.model_dump_json())
    return str(path)


DATA = DataConfig(name="ett", window=WindowConfig(seq_len=SEQ, horizon=HORIZON))
SPEC = ModelSpec(seq_len=SEQ, horizon=HORIZON, n_channels=2, season=24)


@pytest.fixture(scope="module")
def dlinear_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    cfg = ModelConfig(name="dlinear")
    spec = ModelSpec(seq_len=SEQ, horizon=HORIZON, n_channels=2)
    out = tmp_path_factory.mktemp("model") / "dlinear"
    save_pretrained(build_model(cfg, spec), cfg, spec, out)
    return str(out)


def test_every_model_scored_on_all_protocol_windows(dataset, dlinear_dir, tmp_path: Path):
    report = evaluate(
        dataset,
        DATA,
        EvalConfig(baselines=["seasonal_naive", "naive"]),
        {"dlinear": dlinear_dir},
        spec=SPEC,
        out_dir=tmp_path,
        recommended_paradigm="internal",
        context={"data_md5": "abc"},
    )
    test_rows = ROWS - int(ROWS * 0.7) - int(ROWS * 0.1)  # ratio split: test gets the remainder
    assert report.test_windows == test_rows - HORIZON + 1  # starts seq_len earlier, none dropped
    assert set(report.metrics) == {"dlinear", "seasonal_naive", "naive"}
    payload = json.loads(Path(report.report_path).read_text())
    assert payload["protocol_windows"] == report.test_windows
    assert set(payload["breakdown"]["dlinear"]["horizon"]) == {"1-3", "4-6", "7-9", "10-12"}
    assert set(payload["breakdown"]["naive"]["channel"]) == {"OT", "HUFL"}
    assert payload["provenance"]["data_md5"] == "abc"
    assert payload["provenance"]["libraries"]["torch"].startswith("2.")
    assert report.recommended_won is None  # no internal-paradigm model was evaluated
    assert (
        "Recommended paradigm: **internal** — was not evaluated: no internal model was trained; "
        "add `auto` to compare" in Path(report.leaderboard_path).read_text()
    )
    assert {Path(p).name for p in report.plot_paths} == {
        "forecast_vs_actual.png",
        "error_by_horizon.png",
    }


def test_is_deterministic(dataset, dlinear_dir, tmp_path: Path):
    runs = [
        evaluate(
            dataset,
            DATA,
            EvalConfig(baselines=[]),
            {"dlinear": dlinear_dir},
            SPEC,
            tmp_path / str(i),
        )
        for i in range(2)
    ]
    assert runs[0].metrics == runs[1].metrics


def test_naive_metrics_match_a_hand_computation(dataset, dlinear_dir, tmp_path: Path):
    from tsalign.components.data.protocol import load_protocol

    report = evaluate(
        dataset, DATA, EvalConfig(baselines=["naive"]), {"dlinear": dlinear_dir}, SPEC, tmp_path
    )
    test = load_protocol(dataset, DATA).test
    n = len(test) - SEQ - HORIZON + 1
    errors = [test[i + SEQ : i + SEQ + HORIZON] - test[i + SEQ - 1] for i in range(n)]
    assert report.metrics["naive"]["mse"] == pytest.approx(
        float(np.mean(np.square(errors))), rel=1e-5
    )


def test_model_trained_for_another_window_is_refused(dataset, dlinear_dir, tmp_path: Path):
    other = DataConfig(name="ett", window=WindowConfig(seq_len=SEQ, horizon=24))
    spec = ModelSpec(seq_len=SEQ, horizon=24, n_channels=2, season=24)
    with pytest.raises(EvaluationError, match="trained for seq_len=48, horizon=12"):
        evaluate(dataset, other, EvalConfig(), {"dlinear": dlinear_dir}, spec, tmp_path)
    with pytest.raises(EvaluationError, match="model spec is for seq_len=48, horizon=12"):
        evaluate(dataset, other, EvalConfig(), {"dlinear": dlinear_dir}, SPEC, tmp_path)


def test_recommended_won_audits_against_all_models():
    metrics = {"gpt4ts": {"mse": 0.5}, "timellm": {"mse": 0.4}, "dlinear": {"mse": 0.3}}
    paradigms = {"gpt4ts": "internal", "timellm": "bridging", "dlinear": "baseline"}
    assert recommended_won(metrics, paradigms, "bridging") is False  # a baseline beat it
    assert recommended_won({**metrics, "dlinear": {"mse": 0.45}}, paradigms, "bridging") is True
    assert recommended_won(metrics, paradigms, "injective") is None
    assert recommended_won(metrics, paradigms, None) is None


def test_an_unevaluated_recommendation_always_says_why():
    metrics = {"dlinear": {"mse": 0.3, "mae": 0.4, "mae_orig": 1.0, "smape": 9.0, "mase": 1.0}}
    paradigms = {"dlinear": "baseline"}

    def verdict(recommended, skipped=None):
        text = render_leaderboard(
            metrics, paradigms, "dlinear", recommended, None, 5, skipped=skipped
        )
        return text.split("Recommended paradigm: ")[1].splitlines()[0]

    assert (
        verdict(None)
        == "**none** — was not evaluated: no paradigm was recommended (the run has no profile)."
    )
    assert verdict("injective", {"llmtime": "could not be built: an encoder"}) == (
        "**injective** — was not evaluated: llmtime could not be built: an encoder."
    )
    assert "add `auto` to compare" in verdict("bridging")


def test_trainable_baseline_is_refused_with_the_fix():
    from tsalign.components.evaluation.runner import check_baselines

    check_baselines(["naive", "seasonal_naive"])
    with pytest.raises(EvaluationError, match=r"move it to compare: \[dlinear\]"):
        check_baselines(["dlinear"])
    with pytest.raises(EvaluationError, match=r"eval\.baselines\[0\]: .*valid"):
        check_baselines(["nope"])


def test_eval_device_cpu_matches_auto_and_missing_cuda_names_the_field(
    dataset, dlinear_dir, tmp_path: Path
):
    from tsalign.components.device import DeviceError

    run = {"dlinear": dlinear_dir}
    auto = evaluate(dataset, DATA, EvalConfig(baselines=[]), run, SPEC, tmp_path / "auto")
    cpu = evaluate(dataset, DATA, EvalConfig(baselines=[], device="cpu"), run, SPEC, tmp_path / "c")
    assert cpu.metrics == auto.metrics
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match=r"eval.device=cuda but no CUDA device"):
            evaluate(dataset, DATA, EvalConfig(device="cuda"), run, SPEC, tmp_path / "cuda")


@pytest.fixture(scope="module")
def dlinear_seed_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Two DLinear exports that differ only in their initialisation seed."""
    cfg = ModelConfig(name="dlinear")
    spec = ModelSpec(seq_len=SEQ, horizon=HORIZON, n_channels=2)
    dirs = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        out = tmp_path_factory.mktemp(f"seed{seed}") / "dlinear"
        save_pretrained(build_model(cfg, spec), cfg, spec, out)
        dirs.append(str(out))
    return dirs


def test_seeds_are_reported_as_mean_and_std_with_a_scorecard(
    dataset, dlinear_seed_dirs, tmp_path: Path
):
    each = [
        evaluate(dataset, DATA, EvalConfig(baselines=[]), {"dlinear": d}, SPEC, tmp_path / d[-20:])
        for d in dlinear_seed_dirs
    ]
    report = evaluate(
        dataset,
        DATA,
        EvalConfig(baselines=["naive"]),
        {"dlinear": dlinear_seed_dirs},
        SPEC,
        tmp_path / "both",
        curves={"dlinear": [{"epoch_seconds": [2.0], "samples_per_s": [50.0]}] * 2},
    )
    per_seed = [r.metrics["dlinear"]["mse"] for r in each]
    assert per_seed[0] != per_seed[1]
    assert report.metrics["dlinear"]["mse"] == pytest.approx(np.mean(per_seed))
    payload = json.loads(Path(report.report_path).read_text())
    assert payload["metrics_std"]["dlinear"]["mse"] == pytest.approx(np.std(per_seed, ddof=1))
    assert payload["metrics_std"]["naive"] == {}  # built once: no spread to report
    assert payload["seeds"] == {"dlinear": 2, "naive": 1}
    assert " ± " in Path(report.leaderboard_path).read_text()
    paths = {Path(p).name: Path(p) for p in report.scorecard_paths}
    assert set(paths) == {"scorecard.json", "scorecard.md", "scorecard.png"}
    card = json.loads(paths["scorecard.json"].read_text())
    rows = {r["model"]: r for r in card["rows"]}
    assert rows["dlinear"]["seeds"] == 2
    assert rows["dlinear"]["trainable_params"] == rows["dlinear"]["total_params"] > 0
    assert rows["dlinear"]["training"]["epoch_seconds"] == 2.0
    assert rows["dlinear"]["inference_ms_per_window"] > 0
    assert rows["naive"]["training"] is None and rows["naive"]["total_params"] == 0
    assert card["comparisons"] == []  # no LLM model here


TEXT_DATA = DataConfig(
    name="ett",
    window=WindowConfig(seq_len=SEQ, horizon=HORIZON),
    text={"sources": [{"source": "notes.csv"}], "last": 2},
)
TWIN_SPEC = ModelSpec(seq_len=SEQ, horizon=HORIZON, n_channels=2)


def _fused_and_twin(dataset: str, out: Path):
    """Window texts (one note a day, a 2-wide stand-in embedding), a DLinear fused with
    ``add`` saved under ``out/fused`` and its no-text base saved under ``out/twin``."""
    from tsalign.components.data.text_features import window_texts

    frame = pd.read_parquet(dataset)
    ends = frame[TIMESTAMP].to_numpy()[::24]
    texts = pd.DataFrame(
        {"start": ends, "end": ends, "text": [f"load {i % 7}" for i in range(len(ends))]}
    )
    texts_of = window_texts(
        frame[TIMESTAMP].to_numpy(),
        texts,
        TEXT_DATA,
        lambda batch: np.array([[float(t.split()[1]), 1.0] for t in batch]),
    )
    spec = ModelSpec(seq_len=SEQ, horizon=HORIZON, n_channels=2, text_dim=2, text_tokens=2)
    fused_cfg = ModelConfig(name="dlinear", params={"text_fusion": "add", "text_weight": 0.5})
    fused = build_model(fused_cfg, spec)
    with torch.no_grad():
        fused.text_head.weight.fill_(0.3)
    save_pretrained(fused, fused_cfg, spec, out / "fused")
    save_pretrained(fused.base, ModelConfig(name="dlinear"), TWIN_SPEC, out / "twin")
    return texts_of


def test_a_fused_model_is_scored_with_its_window_texts(dataset, tmp_path: Path):
    texts_of = _fused_and_twin(dataset, tmp_path)

    def mse(directory: str, **kwargs) -> float:
        report = evaluate(
            dataset, TEXT_DATA, EvalConfig(baselines=[]), {"dlinear": directory},
            spec=TWIN_SPEC, out_dir=tmp_path / "eval", **kwargs,
        )  # fmt: skip
        payload = json.loads(Path(report.report_path).read_text())
        if "window_texts" in kwargs:  # texts from day 1: every test window sees some
            assert payload["test_windows_without_text"] == 0
        return report.metrics["dlinear"]["mse"]

    twin = mse(str(tmp_path / "twin"))
    assert mse(str(tmp_path / "twin"), window_texts=texts_of) == twin  # no text, no change
    assert mse(str(tmp_path / "fused"), window_texts=texts_of) != twin  # text reached it
    with pytest.raises(EvaluationError, match="fuses text but no window texts"):
        mse(str(tmp_path / "fused"))


def test_a_fused_model_and_its_twin_are_compared_and_validated_with_text(dataset, tmp_path: Path):
    texts_of = _fused_and_twin(dataset, tmp_path)
    report = evaluate(
        dataset,
        TEXT_DATA,
        EvalConfig(baselines=["naive"]),
        {"dlinear": str(tmp_path / "fused"), "dlinear_no_text": str(tmp_path / "twin")},
        spec=TWIN_SPEC,
        out_dir=tmp_path / "eval",
        select="best_val",
        window_texts=texts_of,
        text_twins={"dlinear": "dlinear_no_text"},
    )
    # validation scores the fused model with its text, as training validated it: the fused
    # model's text head moves its forecast, so it cannot score as its twin does
    assert report.validation["dlinear"] != pytest.approx(report.validation["dlinear_no_text"])
    payload = json.loads(Path(report.report_path).read_text())
    assert payload["text_twins"] == {"dlinear": "dlinear_no_text"}
    assert payload["paradigms"]["dlinear_no_text"] == payload["paradigms"]["dlinear"]
    (text,) = [c for c in payload["comparisons"] if c["kind"] == "text"]
    assert (text["model"], text["reference"]) == ("dlinear", "dlinear_no_text")
    gap = report.metrics["dlinear"]["mse"] - report.metrics["dlinear_no_text"]["mse"]
    assert text["interval"]["estimate"] == pytest.approx(gap)
    assert text["verdict"].startswith("text ")
    board = Path(report.leaderboard_path).read_text()
    assert "## Does text help?" in board and "dlinear - dlinear_no_text (text)" in board
    assert f"0 of {report.test_windows} test windows see no text" in board
    assert "Does the LM help?" not in board  # no LLM model: text pairs are not LM verdicts
    card = Path(next(p for p in report.scorecard_paths if p.endswith(".md"))).read_text()
    assert "ΔMSE vs no-text twin" in card and "vs dlinear_no_text: text " in card


def test_windows_without_text_are_counted_over_the_evaluated_windows():
    from torch.utils.data import Subset

    from tsalign.components.data.text_features import WindowTexts
    from tsalign.components.data.windows import WindowDataset
    from tsalign.components.evaluation.runner import windows_without_text

    windows = WindowDataset(np.zeros((20, 1), np.float32), 4, 2)
    index = np.full((windows.n_windows, 2), -1)
    index[5:, 1] = 3  # windows 0-4 see no text
    texts = WindowTexts(np.zeros((4, 2), np.float32), {s: index for s in ("train", "val", "test")})
    assert windows_without_text(windows, texts) == 5
    assert windows_without_text(Subset(windows, [0, 6, 10]), texts) == 1  # a window cap
