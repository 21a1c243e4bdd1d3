"""Stage caching through the real pipeline (Prefect, DVC, Ray Train + DeepSpeed).

Counts, per pipeline run, which stage tasks executed and which came from the cache:
an unchanged rerun executes only publish; an eval-only change executes evaluate and
publish; moving the download cache or the S3 endpoint keeps every cached stage; a
learning-rate change retrains; every run publishes a new version on the same data version.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
from pathlib import Path

import pytest
import yaml
from _flow_helpers import fast_config, make_project

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STAGE_TASKS = ("ingest-data", "profile-data", "train-model", "evaluate-models", "publish-version")


def _task_states() -> dict[str, tuple[str, str]]:
    """task run id -> (task name, state name), for every task run the test server holds."""
    from prefect.client.orchestration import get_client

    async def read() -> dict[str, tuple[str, str]]:
        async with get_client() as client:
            runs = await client.read_task_runs(limit=200)
        return {str(r.id): (r.name.rsplit("-", 1)[0], r.state.name) for r in runs}

    return asyncio.run(read())


def _run(config, project: Path) -> tuple[object, dict[str, str | list[str]]]:
    """Run the pipeline; return its result and {stage task: state name(s)} for this run."""
    from tsalign.flows.pipeline import pipeline

    before = set(_task_states())
    version = pipeline(config=config, project_root=str(project))
    seen: dict[str, list[str]] = {}
    for run_id, (name, state) in sorted(_task_states().items()):
        if run_id not in before and name in STAGE_TASKS:
            seen.setdefault(name, []).append(state)
    # One task run per stage, except a refused cache hit followed by its recomputation.
    return version, {name: s[0] if len(s) == 1 else sorted(s) for name, s in seen.items()}


def _dvc_md5(project: Path) -> str:
    return yaml.safe_load((project / "data.dvc").read_text())["outs"][0]["md5"]


@pytest.fixture(scope="module")
def runs(prefect_home: Path, tmp_path_factory: pytest.TempPathFactory):
    import ray

    from tsalign.components import fingerprint

    project = make_project(tmp_path_factory.mktemp("project"))
    work = tmp_path_factory.mktemp("work")
    # The code version is read once, as one process would: edits to components/ made
    # meanwhile (on a shared checkout) must not turn cache hits into misses here;
    # tests/unit/flows/test_fingerprint.py covers code versions.
    mp = pytest.MonkeyPatch()
    mp.setattr(fingerprint, "code_version", functools.cache(fingerprint.code_version))
    base = fast_config(work)
    results = {"project": project, "work": work}
    try:
        results["first"] = _run(base, project)
        results["md5_first"] = _dvc_md5(project)
        results["second"] = _run(base, project)
        results["md5_second"] = _dvc_md5(project)
        results["eval_changed"] = _run(fast_config(work, "eval.max_test_windows=16"), project)
        # How the source is reached, not what it holds: nothing after it reads these.
        moved = (f"data.cache_dir={work / 'elsewhere'}", "data.endpoint_url=http://127.0.0.1:9")
        results["source_access_changed"] = _run(fast_config(work, *moved), project)
        results["lr_changed"] = _run(fast_config(work, "train.lr=0.002"), project)
        # The profile's files are gone: its cached reference is refused and it runs again.
        shutil.rmtree(work / "outputs" / base.data.name / "profile")
        results["profile_deleted"] = _run(base, project)
    finally:
        ray.shutdown()
        mp.undo()
    return results


def test_first_run_executes_every_stage(runs):
    version, states = runs["first"]
    assert states == dict.fromkeys(STAGE_TASKS, "Completed")
    assert str(version) == "tiny-forecaster:1"


def test_unchanged_rerun_reuses_ingest_profile_train_and_evaluate(runs):
    version, states = runs["second"]
    assert states == {
        "ingest-data": "Cached",
        "profile-data": "Cached",
        "train-model": "Cached",
        "evaluate-models": "Cached",
        "publish-version": "Completed",
    }
    assert str(version) == "tiny-forecaster:2"  # publish is never cached: a new version
    assert runs["md5_second"] == runs["md5_first"]  # re-ingest of unchanged data: same md5


def test_eval_change_reruns_only_evaluate_and_publish(runs):
    version, states = runs["eval_changed"]
    assert states == {
        "ingest-data": "Cached",
        "profile-data": "Cached",
        "train-model": "Cached",
        "evaluate-models": "Completed",
        "publish-version": "Completed",
    }
    assert str(version) == "tiny-forecaster:3"


def test_moved_download_cache_and_endpoint_keep_the_trained_model(runs):
    version, states = runs["source_access_changed"]
    assert states == {
        "ingest-data": "Cached",
        "profile-data": "Cached",
        "train-model": "Cached",
        "evaluate-models": "Cached",
        "publish-version": "Completed",
    }
    assert str(version) == "tiny-forecaster:4"


def test_learning_rate_change_retrains_on_the_cached_data_and_profile(runs):
    _, states = runs["lr_changed"]
    assert states == {
        "ingest-data": "Cached",
        "profile-data": "Cached",
        "train-model": "Completed",
        "evaluate-models": "Completed",
        "publish-version": "Completed",
    }


def test_deleted_outputs_are_recomputed_not_reused(runs):
    _, states = runs["profile_deleted"]
    # The cache hit is refused (its files are gone) and the stage is recomputed.
    assert states["profile-data"] == ["Cached", "Completed"]
    assert states["train-model"] == "Cached"
    profile_dir = runs["work"] / "outputs" / "vic_elec" / "profile"
    assert (profile_dir / "profile.json").is_file()


def test_ingest_key_follows_the_source_content(prefect_home: Path, tmp_path: Path):
    """A scheduled re-ingest gets a new DVC md5 only when the source data changed."""
    import pandas as pd

    from tsalign.flows.ingest import ingest_flow

    project = make_project(tmp_path / "project")
    src = tmp_path / "series.csv"
    ts = pd.date_range("2024-01-01", periods=600, freq="h")
    frame = pd.DataFrame({"timestamp": ts, "y": [float(i % 24) for i in range(600)]})
    frame.to_csv(src, index=False)
    cfg = fast_config(tmp_path, f"data.source={src}", "data.name=csv_series", "data.max_rows=null")

    def ingest() -> tuple[str, str]:
        before = set(_task_states())
        ref = ingest_flow(cfg, str(project))
        new = [s for i, (n, s) in _task_states().items() if i not in before and n == "ingest-data"]
        return ref.md5, new[0]

    md5_1, state_1 = ingest()
    md5_2, state_2 = ingest()
    frame.assign(y=frame["y"] + 1).to_csv(src, index=False)
    md5_3, state_3 = ingest()
    assert (state_1, state_2, state_3) == ("Completed", "Cached", "Completed")
    assert md5_1 == md5_2 != md5_3
    assert _dvc_md5(project) == md5_3
