"""Stage references recorded per dataset so stages can run alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsalign.components.refs import DatasetRef, TrainedCandidates, TrainResult
from tsalign.components.state import MissingStageOutput, latest, record


def _dataset(md5: str) -> DatasetRef:
    return DatasetRef(
        name="d",
        path="/x/d.parquet",
        meta_path="/x/d.meta.json",
        md5=md5,
        remote="local",
        rows=10,
        channels=["a"],
        timestamp_col="timestamp",
        freq="h",
    )


def test_latest_returns_the_last_recorded_ref_per_stage(tmp_path: Path):
    record(tmp_path, "d", _dataset("1"))
    run = TrainResult(model="gpt4ts", run_name="r", checkpoint_uri="/c")
    record(tmp_path, "d", TrainedCandidates(runs=[run]))
    record(tmp_path, "d", _dataset("2"))
    assert latest(tmp_path, "d", DatasetRef).md5 == "2"
    assert latest(tmp_path, "d", TrainedCandidates).primary == run


def test_missing_stage_says_which_command_to_run(tmp_path: Path):
    with pytest.raises(MissingStageOutput, match="run `tsalign train`"):
        latest(tmp_path, "d", TrainedCandidates)
