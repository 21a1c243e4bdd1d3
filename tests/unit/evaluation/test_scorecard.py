"""The paradigm scorecard: training cost from the curves, and the files it is written to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsalign.components.evaluation.intervals import Comparison, Interval
from tsalign.components.evaluation.scorecard import (
    Scorecard,
    ScorecardRow,
    TrainingCost,
    load_scorecard,
    table_rows,
    training_cost,
    write_scorecard,
)


def test_training_cost_averages_epochs_over_seeds_and_keeps_the_peak_memory():
    seeds = [
        {
            "epoch_seconds": [2.0, 4.0],
            "samples_per_s": [100.0, 300.0],
            "peak_rss_mib": [900.0],
            "peak_cuda_mib": [0.0],
        },
        {
            "epoch_seconds": [6.0],
            "samples_per_s": [200.0],
            "peak_rss_mib": [1200.0],
            "peak_cuda_mib": [0.0],
        },
    ]
    cost = training_cost(seeds)
    assert cost == TrainingCost(
        epoch_seconds=4.0, samples_per_s=200.0, peak_memory_mib=1200.0, memory="worker RSS"
    )


def test_training_cost_reports_gpu_memory_when_there_is_any():
    cost = training_cost(
        [
            {
                "epoch_seconds": [1.0],
                "samples_per_s": [5.0],
                "peak_rss_mib": [3000.0],
                "peak_cuda_mib": [512.0],
            }
        ]
    )
    assert (cost.peak_memory_mib, cost.memory) == (512.0, "CUDA allocated")


def test_training_cost_is_none_without_a_timed_epoch():
    assert training_cost([]) is None
    assert training_cost([{"train_loss": [0.5], "val_loss": [0.6]}]) is None  # older runs


def _card() -> Scorecard:
    trained = TrainingCost(
        epoch_seconds=3.5, samples_per_s=410.0, peak_memory_mib=1500.0, memory="worker RSS"
    )

    def row(model: str, paradigm: str, mse: float, training: TrainingCost | None, **kw):
        return ScorecardRow(
            model=model,
            paradigm=paradigm,
            seeds=kw.get("seeds", 1),
            trainable_params=kw.get("trainable", 0),
            total_params=kw.get("total", 0),
            training=training,
            inference_ms_per_window=0.25,
            mse=mse,
            mse_std=kw.get("std"),
            mae=mse / 2,
            mae_std=kw.get("std"),
        )

    interval = Interval(
        estimate=0.02, low=-0.01, high=0.05, confidence=0.95, blocks=40, block_windows=12
    )
    return Scorecard(
        test_windows=480,
        rows=[
            row(
                "gpt4ts",
                "internal",
                0.52,
                trained,
                seeds=3,
                trainable=12_000,
                total=22_700_000,
                std=0.01,
            ),
            row(
                "gpt4ts_wo_llm",
                "ablation",
                0.50,
                trained,
                seeds=3,
                trainable=9_000,
                total=9_000,
                std=0.02,
            ),
            row("seasonal_naive", "baseline", 0.90, None),
        ],
        comparisons=[
            Comparison(
                model="gpt4ts",
                reference="gpt4ts_wo_llm",
                kind="ablation",
                interval=interval,
                verdict="LM benefit not shown",
            ),
            Comparison(
                model="gpt4ts",
                reference="seasonal_naive",
                kind="baseline",
                interval=interval.model_copy(
                    update={"estimate": -0.38, "low": -0.42, "high": -0.33}
                ),
                verdict="beats seasonal_naive",
            ),
        ],
    )


def test_write_scorecard_writes_json_markdown_and_a_plot(tmp_path: Path):
    card = _card()
    paths = write_scorecard(card, tmp_path / "eval", header="3 seeds; eval.seeds=[0,1,2]")
    assert [p.name for p in paths] == ["scorecard.json", "scorecard.md", "scorecard.png"]
    assert load_scorecard(paths[0]) == card  # the json round-trips
    raw = json.loads(paths[0].read_text())
    assert raw["rows"][0]["training"]["peak_memory_mib"] == 1500.0
    assert raw["comparisons"][0]["interval"]["low"] == -0.01
    md = paths[1].read_text()
    assert "3 seeds; eval.seeds=[0,1,2]" in md
    assert "| gpt4ts_wo_llm | ablation | 3 | 9.0k / 9.0k | 3.50 | 410 |" in md
    assert "0.5200 ± 0.0100" in md
    assert "+0.0200 [-0.0100, +0.0500] vs gpt4ts_wo_llm" in md
    assert "LM benefit not shown" in md and "beats seasonal_naive" in md
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_table_rows_rank_by_mse_and_leave_untrained_costs_blank():
    rows = table_rows(_card())
    assert [r["model"] for r in rows] == ["gpt4ts_wo_llm", "gpt4ts", "seasonal_naive"]
    naive = rows[2]
    assert naive["train s/epoch"] == naive["peak memory MiB"] == naive["verdict"] == "-"
    assert naive["test MSE"] == "0.9000"  # one seed: no ± to show
    assert rows[1]["trainable / total params"] == "12.0k / 22.70M"
    assert rows[1]["verdict"] == "LM benefit not shown"


def test_a_scorecard_without_llm_models_says_there_is_nothing_to_compare(tmp_path: Path):
    card = _card().model_copy(update={"comparisons": []})
    md = write_scorecard(card, tmp_path)[1].read_text()
    assert "no LLM model was evaluated" in md


@pytest.mark.parametrize("bad", [{"test_windows": "x"}, {"rows": [{"model": "a"}]}])
def test_load_scorecard_refuses_a_malformed_file(tmp_path: Path, bad: dict):
    path = tmp_path / "scorecard.json"
    path.write_text(json.dumps({"test_windows": 1, "rows": [], "comparisons": [], **bad}))
    with pytest.raises(ValueError):
        load_scorecard(path)
