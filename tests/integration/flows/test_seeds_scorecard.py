"""Two seeds through the real pipeline (Prefect, DVC, Ray Train + DeepSpeed): the scorecard.

One run of configs/tiny.yaml with ``eval.seeds=[0,1]``: gpt4ts and its LLM-free ablation
are each trained under both seeds, evaluated as mean ± std, compared by paired bootstrap
intervals, and the scorecard lands in the evaluation outputs, the registry version and a
Prefect artifact.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest
from _flow_helpers import fast_config, make_project

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def run(prefect_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    import ray

    from tsalign.components.refs import EvalReport, TrainedCandidates
    from tsalign.components.state import latest
    from tsalign.flows.pipeline import pipeline

    project = make_project(tmp_path_factory.mktemp("project"))
    work = tmp_path_factory.mktemp("work")
    config = fast_config(work, "compare=[gpt4ts_wo_llm]", "eval.seeds=[0,1]", "train.num_workers=1")
    try:
        version = pipeline(config=config, project_root=str(project))
    finally:
        ray.shutdown()
    return {
        "config": config,
        "version": version,
        "trained": latest(config.workdir, config.data.name, TrainedCandidates),
        "report": latest(config.workdir, config.data.name, EvalReport),
    }


def test_every_trainable_candidate_trains_once_per_seed(run):
    runs = [(r.model, r.seed) for r in run["trained"].runs]
    assert runs == [("gpt4ts", 0), ("gpt4ts", 1), ("gpt4ts_wo_llm", 0), ("gpt4ts_wo_llm", 1)]
    assert len({r.run_name for r in run["trained"].runs}) == 4


def test_scorecard_json_has_every_field_and_the_intervals(run):
    report = run["report"]
    paths = {Path(p).name: Path(p) for p in report.scorecard_paths}
    assert set(paths) == {"scorecard.json", "scorecard.md", "scorecard.png"}
    card = json.loads(paths["scorecard.json"].read_text())
    rows = {r["model"]: r for r in card["rows"]}
    assert set(rows) == {"gpt4ts", "gpt4ts_wo_llm", "seasonal_naive"}
    for name in ("gpt4ts", "gpt4ts_wo_llm"):
        row = rows[name]
        assert row["seeds"] == 2 and row["mse_std"] is not None and row["mae_std"] is not None
        assert 0 < row["trainable_params"] <= row["total_params"]
        cost = row["training"]
        assert cost["epoch_seconds"] > 0 and cost["samples_per_s"] > 0
        assert cost["peak_memory_mib"] > 100 and cost["memory"] == "worker RSS"
        assert row["inference_ms_per_window"] > 0
        assert math.isfinite(row["mse"]) and row["mse"] == pytest.approx(
            report.metrics[name]["mse"]
        )
    # The frozen LM counts in the total, not in what is trained.
    assert rows["gpt4ts"]["total_params"] > 10 * rows["gpt4ts"]["trainable_params"]
    assert rows["seasonal_naive"]["training"] is None and rows["seasonal_naive"]["seeds"] == 1
    pairs = {(c["reference"], c["kind"]): c for c in card["comparisons"]}
    assert set(pairs) == {("gpt4ts_wo_llm", "ablation"), ("seasonal_naive", "baseline")}
    for c in pairs.values():
        i = c["interval"]
        assert i["low"] <= i["estimate"] <= i["high"] and i["confidence"] == 0.95
        assert i["blocks"] >= 10 and i["block_windows"] == 12  # blocks of one horizon
    expected = report.metrics["gpt4ts"]["mse"] - report.metrics["gpt4ts_wo_llm"]["mse"]
    ablation = pairs["gpt4ts_wo_llm", "ablation"]
    assert ablation["interval"]["estimate"] == pytest.approx(expected)
    assert (ablation["verdict"] == "the LM helps") == (ablation["interval"]["high"] < 0)
    leaderboard = Path(report.leaderboard_path).read_text()
    assert "Does the LM help?" in leaderboard and " ± " in leaderboard


def test_the_registry_version_and_a_prefect_artifact_hold_the_scorecard(run):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from tsalign.components.registry import open_registry

    manifest = open_registry(run["config"].registry).show(str(run["version"]))
    assert {"scorecard.json", "scorecard.md", "scorecard.png"} <= set(manifest.files)

    async def read() -> list:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["vic-elec-scorecard"]))
            )

    (artifact, *_) = asyncio.run(read())
    assert "Paradigm scorecard" in artifact.data and "gpt4ts_wo_llm" in artifact.data
