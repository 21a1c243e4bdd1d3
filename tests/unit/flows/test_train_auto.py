"""The train stage with `compare: auto`: what it could not build is reported, never hidden."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsalign.components.config import build_config
from tsalign.components.data.meta import TIMESTAMP, DatasetMeta
from tsalign.components.models import ModelBuildError
from tsalign.components.refs import DatasetRef, ProfileRef

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def dataset(tmp_path: Path) -> DatasetRef:
    rows = 400
    frame = pd.DataFrame(
        {
            TIMESTAMP: pd.date_range("2024-01-01", periods=rows, freq="h"),
            "y": np.sin(np.arange(rows) * 2 * np.pi / 24) + 5.0,
        }
    )
    frame.to_parquet(tmp_path / "s.parquet", index=False)
    meta = DatasetMeta(
        name="s",
        source="test",
        channels=["y"],
        targets=["y"],
        freq="h",
        rows=rows,
        start="2024-01-01",
        end="2024-01-17",
    )
    (tmp_path / "s.meta.json").write_text(meta.model_dump_json())
    return DatasetRef(
        name="s",
        path=str(tmp_path / "s.parquet"),
        meta_path=str(tmp_path / "s.meta.json"),
        md5="x",
        remote="local",
        rows=rows,
        channels=["y"],
        timestamp_col=TIMESTAMP,
        freq="h",
    )


def _config(tmp_path: Path, compare: object):
    # Models with nothing to fit are exported without Ray, so the stage runs in seconds.
    return build_config(
        {
            "data": {"name": "s", "window": {"seq_len": 48, "horizon": 24}},
            "model": {"name": "seasonal_naive"},
            "compare": compare,
            "train": {"storage_path": str(tmp_path / "runs")},
            "workdir": str(tmp_path / "outputs"),
        }
    )


PROFILE = ProfileRef(
    profile_path="p.json", report_path="r.md", dominant_period=24, recommended_paradigm="injective"
)


def test_an_auto_model_that_cannot_be_built_is_skipped_with_the_reason(dataset, tmp_path: Path):
    from tsalign.flows.train import train_flow

    trained = train_flow(_config(tmp_path, "auto"), dataset, PROFILE)
    assert [run.model for run in trained.runs] == ["seasonal_naive"]
    assert list(trained.skipped) == ["llmtime"]
    assert "could not be built" in trained.skipped["llmtime"]
    assert "encoder" in trained.skipped["llmtime"]  # minilm is no causal LM


def test_a_model_the_user_listed_still_fails_the_stage(dataset, tmp_path: Path):
    from tsalign.flows.train import train_flow

    with pytest.raises(ModelBuildError, match="encoder"):
        train_flow(_config(tmp_path, ["llmtime"]), dataset, PROFILE)


@pytest.mark.slow
def test_an_auto_model_that_fails_in_its_ray_worker_is_skipped_with_the_reason(
    dataset, tmp_path: Path
):
    """The bridging models auto picks build in the Ray worker (not the driver): a window of
    4 steps is shorter than Time-LLM's 16-step patches, so both fail there. The run goes on
    with model.name and names each failure, as for a model that could not be built."""
    import ray

    from tsalign.flows.train import train_flow

    config = build_config(
        {
            "data": {"name": "s", "window": {"seq_len": 4, "horizon": 4}},
            "model": {"name": "seasonal_naive"},
            "compare": "auto",
            "train": {
                "storage_path": str(tmp_path / "runs"),
                "num_workers": 1,
                "cpus_per_worker": 1,
                "deepspeed_preset": "zero0",
                "max_train_windows": 32,
                # The build error is deterministic: restarting the worker group would only
                # fail the same way again (3 group starts per model with the default 2).
                "max_failures": 0,
            },
            "workdir": str(tmp_path / "outputs"),
        }
    )
    bridging = PROFILE.model_copy(update={"recommended_paradigm": "bridging"})
    try:
        trained = train_flow(config, dataset, bridging)
    finally:
        ray.shutdown()
    assert [run.model for run in trained.runs] == ["seasonal_naive"]
    assert list(trained.skipped) == ["timellm", "timellm_wo_llm"]
    for why in trained.skipped.values():
        assert why.startswith("failed in training: ")
        assert "patch_len=16 is longer than seq_len=4" in why
