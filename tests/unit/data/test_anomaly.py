"""The NAB-format anomaly reader: the real corpus, and each bad input with its message."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tsalign.components.data import DataError
from tsalign.components.data.anomaly import (
    load_nab_corpus,
    load_nab_series,
    read_series_csv,
    read_windows,
)

NAB = Path(__file__).resolve().parents[4] / "shared" / "data" / "nab"
NAME = "grp/s.csv"


def _corpus(tmp_path: Path, windows: object, csv: str | None = None) -> Path:
    root = tmp_path / "corpus"
    (root / "data" / "grp").mkdir(parents=True)
    (root / "labels").mkdir()
    if csv is None:
        stamps = [f"2020-01-01 00:{m:02d}:00" for m in range(10)]
        csv = "timestamp,value\n" + "".join(f"{t},{i}\n" for i, t in enumerate(stamps))
    (root / "data" / "grp" / "s.csv").write_text(csv)
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    return root


def test_reads_the_whole_nab_corpus_with_its_116_windows():
    corpus = load_nab_corpus(NAB)
    assert len(corpus) == 58
    assert sum(len(s.windows) for s in corpus) == 116
    taxi = next(s for s in corpus if s.name == "realKnownCause/nyc_taxi.csv")
    assert len(taxi.values) == 10320 and taxi.values[0] == 10844.0
    start, _ = taxi.window_rows[0]
    assert taxi.timestamps[start] == np.datetime64(taxi.windows[0][0])
    assert taxi.labels.sum() == sum(e - s + 1 for s, e in taxi.window_rows)


def test_window_rows_and_labels_on_a_small_series(tmp_path):
    root = _corpus(tmp_path, {NAME: [["2020-01-01 00:02:00", "2020-01-01 00:04:00"]]})
    (series,) = load_nab_corpus(root)
    assert series.window_rows == ((2, 4),)
    assert series.labels.astype(int).tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0]


def test_window_outside_the_series_names_file_window_and_fix(tmp_path):
    root = _corpus(tmp_path, {NAME: [["2020-01-01 00:08:00", "2020-01-02 00:00:00"]]})
    with pytest.raises(
        DataError, match=r"grp/s\.csv\] window 0.*not a timestamp.*Fix: use timestamps"
    ):
        load_nab_corpus(root)


def test_unknown_file_lists_valid_names(tmp_path):
    root = _corpus(tmp_path, {NAME: []})
    with pytest.raises(DataError, match=r"unknown file.*grp/nope\.csv.*grp/s\.csv"):
        load_nab_corpus(root, names=["grp/nope.csv"])


def test_csv_without_windows_entry_is_refused(tmp_path):
    root = _corpus(tmp_path, {})
    with pytest.raises(DataError, match=r"no windows for \['grp/s\.csv'\].*Fix"):
        load_nab_corpus(root)
    with pytest.raises(DataError, match=r"no entry in the windows file"):
        load_nab_series(root / "data", NAME, {})


def test_unparsable_timestamp_names_line_and_fix(tmp_path):
    csv = "timestamp,value\n2020-01-01 00:00:00,1\nyesterday,2\n"
    root = _corpus(tmp_path, {NAME: []}, csv=csv)
    with pytest.raises(DataError, match=r"s\.csv.*line 3: bad timestamp 'yesterday'.*Fix"):
        load_nab_corpus(root)


def test_unparsable_value_and_missing_column(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("timestamp,value\n2020-01-01,inf\n")
    with pytest.raises(DataError, match=r"line 2: bad value 'inf'.*finite number"):
        read_series_csv(path, "v.csv")
    path.write_text("timestamp,value\n2020-01-01,1\n2020-01-02,n/a?\n")
    with pytest.raises(DataError, match=r"line 3: bad value 'n/a\?'"):
        read_series_csv(path, "v.csv")
    path.write_text("")
    with pytest.raises(DataError, match=r"v\.csv.*not a readable CSV.*Fix"):
        read_series_csv(path, "v.csv")
    path.write_text("time,value\n2020-01-01,1\n")
    with pytest.raises(DataError, match=r"missing column.*'timestamp'.*Fix: write a header"):
        read_series_csv(path, "v.csv")


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ({NAME: [["2020-01-01 00:04:00", "2020-01-01 00:02:00"]]}, "ends .* before it starts"),
        (
            {
                NAME: [
                    ["2020-01-01 00:01:00", "2020-01-01 00:04:00"],
                    ["2020-01-01 00:03:00", "2020-01-01 00:06:00"],
                ]
            },
            "window 1: starts at .* not after",
        ),
        ({NAME: [["2020-01-01 00:01:00"]]}, r"expected a \[start, end\] pair"),
        ({NAME: [["soon", "later"]]}, "unparsable timestamp"),
        ([1, 2], "top level is not an object"),
    ],
)
def test_malformed_windows_are_refused(tmp_path, windows, message):
    root = _corpus(tmp_path, windows)
    with pytest.raises(DataError, match=message):
        read_windows(root / "labels" / "combined_windows.json")


def test_missing_windows_file_says_what_to_pass(tmp_path):
    with pytest.raises(DataError, match=r"does not exist.*combined_windows\.json"):
        read_windows(tmp_path / "nope.json")
