"""data.timestamp_format, data.na_values, data.sort and data.duplicates on small files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from tsalign.components.config import DataConfig
from tsalign.components.data import DataError
from tsalign.components.data.canonical import build_canonical
from tsalign.components.data.sources import resolve_source

SMALL = {"window": {"seq_len": 4, "horizon": 2}}


def canon(path: Path, **cfg):
    config = DataConfig(name="t", source=str(path), **{**SMALL, **cfg})
    with resolve_source(config, path.parent) as src:
        return build_canonical(src, config)


def write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def months(n: int) -> pd.DatetimeIndex:
    return pd.date_range("1982-01-01", periods=n, freq="MS")


def test_year_month_abbreviation_format(tmp_path: Path) -> None:
    when = months(12)
    path = write(tmp_path / "m.csv", pd.DataFrame({"m": when.strftime("%Y %b"), "v": range(12)}))
    c = canon(path, timestamp_col="m", timestamp_format="%Y %b")
    assert list(c.table.column("timestamp").to_pandas()) == list(when)
    assert c.freq == "MS"


@pytest.mark.parametrize(
    ("fmt", "render"),
    [("%Y Q%q", "{y} Q{q}"), ("Q%q-%y", "Q{q}-{yy:02d}")],
)
def test_quarterly_format_gives_quarter_starts(tmp_path: Path, fmt: str, render: str) -> None:
    when = pd.date_range("1998-01-01", periods=10, freq="QS")
    text = [render.format(y=t.year, yy=t.year % 100, q=t.quarter) for t in when]
    path = write(tmp_path / "q.csv", pd.DataFrame({"quarter": text, "v": range(10)}))
    c = canon(path, timestamp_col="quarter", timestamp_format=fmt)
    assert list(c.table.column("timestamp").to_pandas()) == list(when)
    assert c.freq.startswith("QS")


def test_unparseable_timestamp_names_file_row_and_format(tmp_path: Path) -> None:
    text = list(months(12).strftime("%B %Y"))
    text[7] = "Agust 1982"
    path = write(tmp_path / "econ.csv", pd.DataFrame({"Month": text, "v": range(12)}))
    with pytest.raises(DataError) as caught:
        canon(path, timestamp_col="Month", timestamp_format="%B %Y")
    message = str(caught.value)
    assert "econ.csv" in message and "column 'Month'" in message
    assert "'Agust 1982' at row 7 (line 9 of the file)" in message
    assert "'%B %Y'" in message and "Fix: " in message


def test_bad_quarter_names_the_row(tmp_path: Path) -> None:
    text = ["1998 Q1", "1998 Q2", "1998 Q5", "1998 Q4"] + [
        f"{y} Q{q}" for y in (1999, 2000) for q in range(1, 5)
    ]
    path = write(tmp_path / "q.csv", pd.DataFrame({"q": text, "v": range(len(text))}))
    with pytest.raises(DataError, match=r"'1998 Q5' at row 2 .*'%Y Q%q'"):
        canon(path, timestamp_col="q", timestamp_format="%Y Q%q")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"timestamp_format": "%Y-%m"}, "set data.timestamp_col"),
        ({"timestamp_col": "t", "timestamp_format": "monthly"}, "no % directive"),
        ({"timestamp_col": "t", "timestamp_format": "%Y-%m Q%q"}, "only %Y or %y with %q"),
        ({"timestamp_col": "t", "timestamp_format": "Q%q"}, "only %Y or %y with %q"),
    ],
)
def test_bad_timestamp_format_is_a_config_error(fields: dict, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        DataConfig(**fields)


def test_unsorted_is_refused_then_sorted_on_request(tmp_path: Path) -> None:
    when = months(12)
    frame = pd.DataFrame({"date": when, "v": np.arange(12.0)}).iloc[::-1]
    path = write(tmp_path / "desc.csv", frame)
    with pytest.raises(DataError) as caught:
        canon(path)
    assert "desc.csv" in str(caught.value) and "row 1 (line 3 of the file)" in str(caught.value)
    assert "data.sort: true" in str(caught.value)
    c = canon(path, sort=True)
    assert list(c.table.column("v").to_numpy()) == list(np.arange(12.0))
    assert "sorted" in c.inferred


def test_errors_after_sorting_name_the_row_in_the_file(tmp_path: Path) -> None:
    frame = pd.DataFrame({"date": months(12), "v": [str(float(i)) for i in range(12)]})
    frame.loc[2, "v"] = "oops"  # file row 9 once reversed
    path = write(tmp_path / "desc.csv", frame.iloc[::-1])
    with pytest.raises(DataError, match=r"'oops' at row 9 \(line 11 of the file\)"):
        canon(path, sort=True)


@pytest.mark.parametrize(("policy", "expected"), [("first", 1.0), ("last", 3.0), ("mean", 2.0)])
def test_duplicates_policy_merges_rows(tmp_path: Path, policy: str, expected: float) -> None:
    when = list(months(10))
    frame = pd.DataFrame({"date": when[:5] + when[4:], "v": [0, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0]})
    path = write(tmp_path / "dup.csv", frame)
    c = canon(path, duplicates=policy)
    assert c.rows == 10
    assert c.table.column("v").to_numpy()[4] == expected
    assert "1 rows sharing a timestamp merged by " + policy in c.inferred["duplicates"]


def test_na_values_read_placeholders_as_missing_in_csv_and_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"date": months(12), "v": ["1", "X", "3"] + ["4"] * 8 + ["-"]})
    for path in (tmp_path / "x.csv", tmp_path / "x.parquet"):
        if path.suffix == ".csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        with pytest.raises(DataError, match=r"non-numeric value 'X' at row 1.*data.na_values"):
            canon(path)
        c = canon(path, na_values=["X", "-"], missing="ffill")
        assert list(c.table.column("v").to_numpy()[:3]) == [1.0, 1.0, 3.0]
        assert c.filled == {"v": 2}
