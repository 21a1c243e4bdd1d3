"""Labelled panels and anomaly corpora: ingested, versioned by one dvc add, profiled."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sktime
from _data_helpers import CORPUS
from typer.testing import CliRunner

from tsalign.components.config import DataConfig, build_config
from tsalign.components.data import DataError, checkout_version, ingest
from tsalign.components.data.anomaly_ingest import load_anomaly_meta
from tsalign.components.data.panel import load_panel, load_panel_meta, panel_files
from tsalign.components.data.versioning import recorded_md5
from tsalign.components.fingerprint import ingest_key
from tsalign.components.profiling.tasks import profile_task_data
from tsalign.flows.cli import _contents, app

pytestmark = pytest.mark.integration

NAB = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "nab"


def test_japanese_vowels_keeps_the_archive_split_and_pads(project: Path, tmp_path: Path):
    cfg = DataConfig(name="jv", source="uea:JapaneseVowels")
    # Read from the archive installed with sktime, never from the network.
    assert all(Path(sktime.__file__).parent in p.parents for p, _ in panel_files(cfg, project))
    ref = ingest(cfg, project, task="classify")
    meta = load_panel_meta(ref.meta_path)
    assert ref.task == "classify" and ref.md5 == recorded_md5(project, "data")
    assert meta.split_source == "archive"
    assert meta.instances == {"train": 216, "val": 54, "test": 370}  # 270 train, 20% carved
    assert set(meta.class_counts["val"].values()) == {6}  # stratified: 6 of 30 per speaker
    assert meta.lengths | {"median": 0} == {
        "policy": "pad", "min": 7, "max": 29, "median": 0, "target": 29, "padded": 639,
        "truncated": 0,
    }  # fmt: skip
    panel = load_panel(ref.path)
    assert panel.values.shape == (640, 29, 12)
    assert panel.observed.sum(axis=1).min() == 7 and panel.values[~panel.observed].max() == 0.0
    # Re-ingesting the same content gives the same data version.
    assert ingest(cfg, project, task="classify").md5 == ref.md5
    assert _contents(ref) == (
        "640 instances (train 216, val 54, test 370), 9 classes, 12 channels x 29 steps"
    )
    shown = CliRunner().invoke(app, ["data", "show", "jv", "--project-root", str(project)])
    assert shown.exit_code == 0 and '"kind": "panel"' in shown.output, shown.output
    with pytest.raises(DataError, match=r"a panel dataset .* pinned versions are read back for"):
        checkout_version("jv", ref.md5, project)
    profile = profile_task_data("classify", ref, tmp_path / "profile")
    written = json.loads(Path(profile.profile_path).read_text())
    assert written["imbalance_ratio"] == 1.0 and len(written["per_class"]) == 9
    assert max(written["separability_f"].values()) > 10  # speakers differ in some channel
    assert "| 3 | 24 | 6 | 88 |" in Path(profile.report_path).read_text()
    assert profile.headline.startswith(
        "640 instances (train 216, val 54, test 370), 9 classes, 12 channels, lengths 7..29"
    )


def test_long_csv_panel_is_truncated_and_split_stratified(project: Path, tmp_path: Path):
    frame = pd.read_csv(CORPUS / "panel_good.csv")
    frame = frame[~((frame["instance_id"] == "i2") & (frame["step"] >= 6))]  # i2: 6 steps
    frame = pd.concat(
        [frame] + [frame.assign(instance_id=frame["instance_id"] + f"-{k}") for k in range(4)]
    )
    source = tmp_path / "panel.parquet"
    frame.to_parquet(source)
    panel_cfg = {"length": "truncate", "test_fraction": 0.25, "val_fraction": 0.25}
    cfg = DataConfig(name="p", source=str(source), panel=panel_cfg)
    ref = ingest(cfg, project, task="classify")
    meta = load_panel_meta(ref.meta_path)
    assert meta.split_source == "carved" and meta.steps == 6
    assert meta.lengths["truncated"] == 35 and meta.lengths["padded"] == 0
    assert all(set(counts) == {"a", "b"} for counts in meta.class_counts.values())
    table = pq.read_table(ref.path).to_pandas()
    assert list(table.columns) == [
        "instance", "instance_id", "split", "step", "observed", "c1", "c2", "label",
    ]  # fmt: skip
    assert table["observed"].all()


def test_panel_shorter_than_the_truncation_target_is_refused(project: Path):
    cfg = DataConfig(
        name="p",
        source=str(CORPUS / "panel_good.csv"),
        panel={"length": "truncate", "target_length": 12},
    )
    with pytest.raises(ValueError, match=r"10 steps, shorter than data\.panel\.target_length=12"):
        ingest(cfg, project, task="classify")
    assert not (project / "data").exists()


def test_nab_series_and_windows_are_versioned_together(project: Path, tmp_path: Path):
    names = ["realKnownCause/nyc_taxi.csv", "artificialNoAnomaly/art_daily_no_noise.csv"]
    cfg = DataConfig(name="nab", source=str(NAB), anomaly={"series": names})
    ref = ingest(cfg, project, task="anomaly")
    assert ref.md5 == recorded_md5(project, "data")
    assert sorted(p.name for p in (project / "data").iterdir()) == [
        "nab.meta.json", "nab.parquet", "nab.windows.json",
    ]  # fmt: skip
    meta = load_anomaly_meta(ref.meta_path)
    taxi = meta.series["realKnownCause/nyc_taxi.csv"]
    assert _contents(ref) == "2 series, 14352 rows, 5 anomaly windows"
    assert (taxi.rows, taxi.windows) == (10320, 5)
    windows = json.loads((project / "data" / "nab.windows.json").read_text())
    published = json.loads((NAB / "labels" / "combined_windows.json").read_text())
    assert len(windows["realKnownCause/nyc_taxi.csv"]) == len(
        published["realKnownCause/nyc_taxi.csv"]
    )
    table = pq.read_table(ref.path).to_pandas()
    taxi_rows = table[table["series"] == "realKnownCause/nyc_taxi.csv"]
    assert int(taxi_rows["label"].sum()) == taxi.anomalous_rows > 0
    profile = profile_task_data("anomaly", ref, tmp_path / "profile")
    written = json.loads(Path(profile.profile_path).read_text())
    assert (
        written["series"]["realKnownCause/nyc_taxi.csv"]["probation_rows"] == 750
    )  # 15%, capped at 750 as NAB does
    assert np.isclose(written["anomalous_share"], taxi.anomalous_rows / meta.rows)
    assert profile.headline.startswith(f"{len(meta.series)} series, {meta.rows} rows, ")


def test_single_nab_csv_takes_its_windows_by_file_name(project: Path):
    cfg = DataConfig(
        name="taxi",
        source=str(NAB / "data" / "realKnownCause" / "nyc_taxi.csv"),
        anomaly={"labels": str(NAB / "labels" / "combined_windows.json")},
    )
    meta = load_anomaly_meta(ingest(cfg, project, task="anomaly").meta_path)
    assert list(meta.series) == ["realKnownCause/nyc_taxi.csv"]
    # The same name ingested as a panel: the corpus' windows file is stale and goes.
    ingest(DataConfig(name="taxi", source=str(CORPUS / "panel_good.csv")), project, task="classify")
    assert sorted(p.name for p in (project / "data").iterdir()) == [
        "taxi.meta.json",
        "taxi.parquet",
    ]


def test_ingest_key_covers_the_test_file_beside_the_train_file(tmp_path: Path):
    train, test = tmp_path / "X_TRAIN.ts", tmp_path / "X_TEST.ts"
    train.write_text("@data\n1,2:a\n")
    test.write_text("@data\n1,2:a\n")
    config = build_config({"task": "classify", "data": {"source": str(train)}})
    before = ingest_key(config.task, config.data, str(tmp_path))
    test.write_text("@data\n1,3:a\n")
    assert before is not None and ingest_key(config.task, config.data, str(tmp_path)) != before
