"""The end-of-run metrics table shows each task's own figures."""

from __future__ import annotations

from rich.console import Console

from tsalign.components.refs import EvalReport, TrainResult
from tsalign.flows.summary import metrics_table, search_line

NAB = {
    "nab_standard": 41.25,
    "nab_reward_low_FP_rate": 20.5,
    "nab_reward_low_FN_rate": 50.0,
    "pointwise_f1": 0.031,
    "point_adjusted_f1": 0.75,
}


def _render(report: EvalReport) -> str:
    console = Console(width=200, record=True)
    console.print(metrics_table(report))
    return console.export_text()


def test_an_anomaly_report_shows_nab_scores_and_labelled_f1():
    report = EvalReport(
        report_path="m.json",
        test_windows=365558,
        metrics={"gpt4ts": NAB, "windowed_gaussian": NAB},
        candidate="gpt4ts",
    )
    text = _render(report)
    assert "NAB score over 365558 rows" in text and "not NAB's score" in text
    assert "41.2" in text and "0.750" in text and "MSE" not in text


def test_a_forecast_report_keeps_its_error_columns():
    row = {"mse": 0.5, "mae": 0.4, "mae_orig": 3.0, "smape": 12.0, "mase": 0.9}
    report = EvalReport(report_path="m.json", test_windows=10, metrics={"a": row}, candidate="a")
    text = _render(report)
    assert "MSE" in text and "0.5000" in text and "NAB" not in text


def test_a_retrained_seed_is_named_as_the_chosen_settings_not_as_unsearched():
    retrained = TrainResult(
        model="dlinear",
        run_name="r",
        checkpoint_uri="c",
        seed=2025,
        overrides={"train.lr": 0.00123, "model.params.moving_avg": 13},
    )
    line = search_line(retrained)
    assert "not searched" not in line
    assert "trained again under seed 2025" in line and "train.lr=0.00123" in line
    plain = TrainResult(model="seasonal_naive", run_name="n", checkpoint_uri="c")
    assert search_line(plain) == "seasonal_naive: not searched (nothing to tune)"
