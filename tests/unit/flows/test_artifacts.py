"""Artifact tables: the candidate first, baselines beside it, ratio to seasonal-naive."""

from __future__ import annotations

from tsalign.components.refs import EvalReport
from tsalign.flows.artifacts import artifact_key, metrics_rows


def test_metrics_rows_put_the_candidate_first_with_its_ratio_to_seasonal_naive():
    metric = {"mae": 0.5, "mae_orig": 1.0, "smape": 10.0, "mase": 0.9}
    report = EvalReport(
        report_path="/x/metrics.json",
        test_windows=10,
        candidate="gpt4ts",
        metrics={
            "seasonal_naive": {**metric, "mse": 0.5},
            "gpt4ts": {**metric, "mse": 0.4},
            "naive": {**metric, "mse": 1.0},
        },
    )
    rows = metrics_rows(report)
    assert [r["model"] for r in rows] == ["gpt4ts", "seasonal_naive", "naive"]
    assert rows[0]["MSE / seasonal_naive"] == "0.800"
    assert rows[2]["MSE / seasonal_naive"] == "2.000"


def test_artifact_keys_are_valid_prefect_keys():
    assert artifact_key("vic_elec", "plot-Demand STL") == "vic-elec-plot-demand-stl"
