"""eval.seeds in the train stage, and the scorecard in `tsalign run`'s console output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsalign.components.config import ConfigError, RunConfig, load_config
from tsalign.components.evaluation.intervals import Comparison, Interval
from tsalign.components.evaluation.scorecard import Scorecard, ScorecardRow, write_scorecard
from tsalign.components.fingerprint import train_key
from tsalign.components.refs import DatasetRef, EvalReport
from tsalign.flows.console import console
from tsalign.flows.summary import print_scorecard
from tsalign.flows.train import run_label_of

DATASET = DatasetRef(
    name="d",
    path="/nowhere/d.parquet",
    meta_path="/nowhere/d.meta.json",
    md5="m",
    remote="r",
    rows=10,
    channels=["y"],
    timestamp_col="ts",
    freq="h",
)


def _train_key(config: RunConfig) -> str:
    """The train key of ``config.model`` from the sections flows/train.py hands it."""
    label = run_label_of(config.model.name, config)
    protocol, season = config.data.protocol(), config.eval.season
    return train_key(
        config.task, protocol, config.model, config.train, season, label, DATASET, None
    )


def test_without_eval_seeds_each_candidate_trains_once_as_before():
    config = RunConfig()
    (only,) = config.seeded(trainable=True)
    assert only == config
    assert _train_key(only) == _train_key(config)  # cache kept


def test_each_seed_trains_its_own_run_and_untrained_models_export_once():
    config = RunConfig.model_validate({"eval": {"seeds": [0, 1, 2]}})
    seeded = config.seeded(trainable=True)
    assert [c.train.seed for c in seeded] == [0, 1, 2]
    assert len({_train_key(c) for c in seeded}) == 3
    assert [c.train.seed for c in config.seeded(trainable=False)] == [0]


def test_a_seed_listed_twice_is_refused_with_the_field(tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_text("eval:\n  seeds: [0, 1, 0]\n")
    with pytest.raises(ConfigError, match=r"eval\.seeds.*\[0\] are listed twice"):
        load_config(path)


def test_run_prints_the_scorecard_and_every_interval(tmp_path: Path, monkeypatch):
    interval = Interval(
        estimate=-0.031, low=-0.052, high=-0.012, confidence=0.95, blocks=60, block_windows=12
    )
    card = Scorecard(
        test_windows=720,
        rows=[
            ScorecardRow(
                model="gpt4ts",
                paradigm="internal",
                seeds=2,
                trainable_params=1000,
                total_params=5000,
                training=None,
                inference_ms_per_window=0.5,
                mse=0.41,
                mse_std=0.01,
                mae=0.4,
                mae_std=0.02,
            ),
        ],
        comparisons=[
            Comparison(
                model="gpt4ts",
                reference="gpt4ts_wo_llm",
                kind="ablation",
                interval=interval,
                verdict="the LM helps",
            ),
        ],
    )
    paths = write_scorecard(card, tmp_path)
    report = EvalReport(
        report_path=str(tmp_path / "metrics.json"),
        test_windows=720,
        metrics={},
        candidate="gpt4ts",
        scorecard_paths=[str(p) for p in paths],
    )
    monkeypatch.setattr(console, "width", 300)
    with console.capture() as captured:
        print_scorecard(report)
    text = captured.get()
    assert "paradigm scorecard, 720 test windows" in text
    assert "0.4100 ± 0.0100" in text
    assert (
        "gpt4ts - gpt4ts_wo_llm (ablation): -0.0310 MSE [95% CI -0.0520, -0.0120]: the LM helps"
        in text
    )


def test_a_report_without_a_scorecard_prints_nothing_more(monkeypatch):
    report = EvalReport(report_path="/x/metrics.json", test_windows=1, metrics={}, candidate="a")
    with console.capture() as captured:
        print_scorecard(report)
    assert captured.get() == ""
