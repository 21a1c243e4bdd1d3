"""Labelled panels in memory: length policies, kept and carved splits, refused inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsalign.components.config import DataConfig
from tsalign.components.data.errors import DataError
from tsalign.components.data.panel import canonical_panel, read_panel


def _write(tmp_path: Path, lengths: dict[str, int], **columns) -> Path:
    rows = []
    for k, (instance, n) in enumerate(lengths.items()):
        for t in range(n):
            rows.append(
                {"instance_id": instance, "step": t, "c1": k + t, "c2": 1.0, "label": "ab"[k % 2]}
            )
    frame = pd.DataFrame(rows)
    for name, values in columns.items():
        frame[name] = values(frame)
    path = tmp_path / "panel.csv"
    frame.to_csv(path, index=False)
    return path


def _canon(path: Path, **panel):
    cfg = DataConfig(name="p", source=str(path), panel=panel)
    return canonical_panel(read_panel(cfg, path.parent), cfg)


EIGHT = {f"i{k}": 5 + k for k in range(8)}  # lengths 5..12, classes a/b alternating


def test_edge_padding_repeats_the_last_observed_value(tmp_path: Path):
    table, meta = _canon(
        _write(tmp_path, EIGHT), pad_with="edge", test_fraction=0.25, val_fraction=0.34
    )
    frame = table.to_pandas()
    first = frame[frame["instance_id"] == "i0"]
    assert meta.steps == 12 and meta.lengths["padded"] == 7
    assert first["observed"].sum() == 5
    assert (first["c1"].to_numpy()[5:] == first["c1"].to_numpy()[4]).all()


def test_unequal_lengths_are_refused_when_the_policy_says_so(tmp_path: Path):
    with pytest.raises(DataError, match=r"instance 'i0'.*different lengths \(5\.\.12.*length: pad"):
        _canon(_write(tmp_path, EIGHT), length="refuse")


def test_a_split_column_is_kept_and_validation_comes_from_train(tmp_path: Path):
    lengths = {f"i{k}": 6 for k in range(12)}
    split = lambda f: np.where(f["instance_id"].isin(["i10", "i11"]), "test", "train")  # noqa: E731
    _, meta = _canon(_write(tmp_path, lengths, split=split), split_col="split", val_fraction=0.2)
    assert meta.split_source == "column"
    assert meta.instances == {"train": 8, "val": 2, "test": 2}
    assert meta.class_counts["val"] == {"a": 1, "b": 1}


def test_two_labels_in_one_instance_are_refused(tmp_path: Path):
    label = lambda f: np.where((f["instance_id"] == "i2") & (f["step"] == 3), "b", f["label"])  # noqa: E731
    with pytest.raises(DataError, match=r"instance 'i2'.*different labels"):
        _canon(_write(tmp_path, EIGHT, label=label))


def test_a_missing_value_inside_an_instance_names_it_and_the_step(tmp_path: Path):
    c2 = lambda f: np.where((f["instance_id"] == "i4") & (f["step"] == 2), np.nan, 1.0)  # noqa: E731
    with pytest.raises(DataError, match="instance 'i4' step 2: missing value inside an instance"):
        _canon(_write(tmp_path, EIGHT, c2=c2))


def test_a_test_class_never_seen_in_train_is_refused(tmp_path: Path):
    lengths = {f"i{k}": 6 for k in range(8)}
    split = lambda f: np.where(f["label"] == "b", "test", "train")  # noqa: E731
    with pytest.raises(DataError, match=r"test classes never seen in train: \['b'\]"):
        _canon(_write(tmp_path, lengths, split=split), split_col="split")
