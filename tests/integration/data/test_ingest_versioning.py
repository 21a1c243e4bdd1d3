"""Ingest into a real DVC project: canonical files, md5 stability, versions, old revisions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from _data_helpers import ETTH1, git_commit, tree_digest
from typer.testing import CliRunner

from tsalign.components.config import DataConfig
from tsalign.components.data import (
    DataError,
    checkout_version,
    ingest,
    list_versions,
    load_frame,
    load_frame_at_rev,
    load_meta,
    prepare_splits,
    split_borders,
    window_count,
)
from tsalign.components.data.meta import TIMESTAMP
from tsalign.flows.cli.data import app as data_app

pytestmark = pytest.mark.integration


def small_csv(path: Path, scale: float = 1.0) -> Path:
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2023-01-01", periods=200, freq="h"),
            "load": np.sin(np.arange(200) / 4.0) * scale + 10,
            "temp": np.arange(200) % 24 * 1.0,
        }
    )
    frame.to_csv(path, index=False)
    return path


def cache_objects(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in (root / ".dvc" / "cache").rglob("*") if p.is_file()}


def test_default_vic_elec_ingest(project: Path) -> None:
    ref = ingest(DataConfig(), project)
    assert ref.name == "vic_elec" and ref.rows == 52608
    assert ref.channels == ["Demand", "Temperature", "Holiday"] and ref.freq == "30min"
    assert ref.md5 == yaml.safe_load((project / "data.dvc").read_text())["outs"][0]["md5"]
    assert Path(ref.remote) == project / ".dvc-remote"
    frame = load_frame(ref)
    assert list(frame.columns) == [TIMESTAMP, "Demand", "Temperature", "Holiday"]
    assert frame[TIMESTAMP].dtype == "datetime64[ns]"
    assert set(frame["Holiday"].unique()) == {0.0, 1.0}
    meta = load_meta(ref)
    assert meta.units["Demand"] == "MWh per half hour" and "Victoria" in meta.description
    assert meta.targets == ["Demand"] and meta.covariates == ["Temperature", "Holiday"]
    assert meta.content_sha256 == hashlib.sha256(Path(ref.path).read_bytes()).hexdigest()
    # pushed: the remote holds the directory object DVC recorded
    md5 = ref.md5
    assert (project / ".dvc-remote" / "files" / "md5" / md5[:2] / md5[2:]).is_file()


def test_reingest_same_content_same_md5_no_new_object(project: Path, tmp_path: Path) -> None:
    cfg = DataConfig(
        name="small", source=str(small_csv(tmp_path / "s.csv")), window={"seq_len": 8, "horizon": 4}
    )
    first = ingest(cfg, project)
    objects = cache_objects(project)
    remote = tree_digest(project / ".dvc-remote")
    second = ingest(cfg, project)
    assert second.md5 == first.md5
    assert cache_objects(project) == objects
    assert tree_digest(project / ".dvc-remote") == remote
    changed = ingest(
        cfg.model_copy(update={"source": str(small_csv(tmp_path / "s2.csv", scale=2.0))}), project
    )
    assert changed.md5 != first.md5


def test_versions_and_reading_an_older_revision(project: Path, tmp_path: Path) -> None:
    cfg = DataConfig(
        name="small", source=str(small_csv(tmp_path / "a.csv")), window={"seq_len": 8, "horizon": 4}
    )
    v1 = ingest(cfg, project)
    sha1 = git_commit(project, "data v1", "data.dvc", ".gitignore")
    old = load_frame(v1)
    v2 = ingest(
        cfg.model_copy(update={"source": str(small_csv(tmp_path / "b.csv", scale=3.0))}), project
    )
    git_commit(project, "data v2", "data.dvc")
    v3 = ingest(
        cfg.model_copy(update={"source": str(small_csv(tmp_path / "c.csv", scale=5.0))}), project
    )
    assert len({v1.md5, v2.md5, v3.md5}) == 3

    versions = {v.md5: v for v in list_versions(project)}
    assert versions[v3.md5].origin == "workspace"  # not committed: known from the workspace
    assert versions[v2.md5].origin == "git" or versions[v2.md5].rev is not None
    assert versions[v1.md5].rev == sha1 and versions[v1.md5].message == "data v1"
    assert "small.parquet" in versions[v1.md5].files

    pd.testing.assert_frame_equal(load_frame_at_rev("small", sha1, project), old)
    pd.testing.assert_frame_equal(load_frame_at_rev("small", v1.md5, project), old)
    pd.testing.assert_frame_equal(load_frame_at_rev("small", "HEAD~1", project), old)

    ref = checkout_version("small", v1.md5, project)
    assert ref.md5 == v1.md5 and Path(ref.path).is_file()
    assert not Path(ref.path).is_relative_to(project / "data")  # workspace untouched
    pd.testing.assert_frame_equal(load_frame(ref), old)
    # cfg.rev (--data-rev) makes ingest hand back the older version instead of ingesting
    pinned = ingest(cfg.model_copy(update={"rev": sha1}), project)
    pd.testing.assert_frame_equal(load_frame(pinned), old)
    assert load_frame(v3)["load"].iloc[1] != old["load"].iloc[1]

    with pytest.raises(DataError, match=r"small.parquet@.*Fix:.*tsalign data versions"):
        load_frame_at_rev("small", "no-such-branch", project)
    with pytest.raises(DataError, match=r"other.parquet.*does not exist.*Fix:"):
        load_frame_at_rev("other", v1.md5, project)


def test_versions_without_git_come_from_the_cache(tmp_path: Path) -> None:
    from tsalign.components.data import ensure_dvc_project

    root = tmp_path / "nogit"
    ensure_dvc_project(root, git=False)
    assert not (root / ".git").exists()
    cfg = DataConfig(
        name="small", source=str(small_csv(tmp_path / "a.csv")), window={"seq_len": 8, "horizon": 4}
    )
    v1 = ingest(cfg, root)
    old = load_frame(v1)
    v2 = ingest(
        cfg.model_copy(update={"source": str(small_csv(tmp_path / "b.csv", scale=2.0))}), root
    )
    origins = {v.md5: v.origin for v in list_versions(root)}
    assert origins == {v2.md5: "workspace", v1.md5: "cache"}
    pd.testing.assert_frame_equal(load_frame_at_rev("small", v1.md5, root), old)
    with pytest.raises(DataError, match=r"other.parquet@.*not part of this version.*Fix:"):
        load_frame_at_rev("other", v1.md5, root)


def test_old_md5_is_fetched_from_the_remote_when_the_cache_lost_it(tmp_path: Path) -> None:
    import shutil

    from tsalign.components.data import ensure_dvc_project

    root = tmp_path / "p"
    ensure_dvc_project(root, git=False)
    cfg = DataConfig(
        name="small", source=str(small_csv(tmp_path / "a.csv")), window={"seq_len": 8, "horizon": 4}
    )
    v1 = ingest(cfg, root)
    old = load_frame(v1)
    ingest(cfg.model_copy(update={"source": str(small_csv(tmp_path / "b.csv", scale=2.0))}), root)
    shutil.rmtree(root / ".dvc" / "cache")
    pd.testing.assert_frame_equal(load_frame_at_rev("small", v1.md5, root), old)


def test_cli_versions_lists_git_history(project: Path, tmp_path: Path) -> None:
    cfg = DataConfig(
        name="small", source=str(small_csv(tmp_path / "a.csv")), window={"seq_len": 8, "horizon": 4}
    )
    v1 = ingest(cfg, project)
    git_commit(project, "first data", "data.dvc", ".gitignore")
    result = CliRunner().invoke(data_app, ["versions", "--project-root", str(project), "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert listed[0]["md5"] == v1.md5 and listed[0]["message"] == "first data"
    shown = CliRunner().invoke(
        data_app, ["show", "small", "--rev", v1.md5, "--project-root", str(project)]
    )
    assert shown.exit_code == 0 and json.loads(shown.output)["rows"] == 200
    bad = CliRunner().invoke(
        data_app, ["show", "small", "--rev", "0" * 32, "--project-root", str(project)]
    )
    assert bad.exit_code == 1


def test_etth1_protocol_window_counts(project: Path) -> None:
    cfg = DataConfig(
        name="etth1",
        source="etth1",
        local_copy=str(ETTH1),
        split="ett_hour",
        window={"seq_len": 336, "horizon": 96},
    )
    ref = ingest(cfg, project)
    assert ref.rows == 17420 and ref.freq == "h" and len(ref.channels) == 7
    values = load_frame(ref)[ref.channels].to_numpy()
    splits = prepare_splits(values, cfg)
    counts = {k: window_count(len(getattr(splits, k)), 336, 96) for k in ("train", "val", "test")}
    assert counts == {"train": 8209, "val": 2785, "test": 2785}
    assert counts["test"] * 7 == 19495
    np.testing.assert_allclose(splits.mean, values[:8640].mean(axis=0))
    few = split_borders(ref.rows, cfg.model_copy(update={"train_fraction": 0.1}))
    assert window_count(few.train[1], 336, 96) == 735
