"""Parsing, inference and policies of the canonical table (no DVC involved)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsalign.components.config import DataConfig
from tsalign.components.data import DataError
from tsalign.components.data.canonical import build_canonical
from tsalign.components.data.sources import resolve_source

SMALL = {"window": {"seq_len": 8, "horizon": 4}}


def canon(path: Path, **cfg):
    config = DataConfig(name="t", source=str(path), **{**SMALL, **cfg})
    with resolve_source(config, path.parent) as src:
        return build_canonical(src, config)


def hourly(n: int = 48, **cols) -> pd.DataFrame:
    frame = pd.DataFrame({"when": pd.date_range("2022-03-01", periods=n, freq="h")})
    for name, values in cols.items():
        frame[name] = values
    return frame


def test_wide_csv_infers_timestamp_freq_and_targets(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    hourly(48, a=np.arange(48.0), b=np.arange(48) % 5).to_csv(path, index=False)
    c = canon(path)
    assert c.table.column_names == ["timestamp", "a", "b"]
    assert c.freq == "h" and c.targets == ["a", "b"]
    assert "when" in c.inferred["timestamp_col"] and "h" in c.inferred["freq"]
    assert c.table.schema.field("b").type == "double"


def test_declared_targets_covariates_and_ignored_columns(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    hourly(48, a=np.arange(48.0), b=np.ones(48), note=["x"] * 48).to_csv(path, index=False)
    c = canon(path, targets=["a"], covariates=["b"])
    assert c.channels == ["a", "b"] and c.covariates == ["b"]
    assert "note" in c.inferred["ignored_columns"]


def test_long_layout_is_inferred_and_pivoted(tmp_path: Path) -> None:
    ts = pd.date_range("2022-01-01", periods=30, freq="D")
    long = pd.concat(
        [
            pd.DataFrame({"ds": ts, "unique_id": uid, "y": np.arange(30.0) * k})
            for k, uid in ((1, "north"), (2, "south"))
        ]
    )
    path = tmp_path / "long.parquet"
    long.to_parquet(path, index=False)
    c = canon(path)
    assert c.channels == ["north", "south"]
    assert c.freq == "D"
    np.testing.assert_array_equal(c.table.column("south").to_numpy(), np.arange(30.0) * 2)
    assert c.inferred["layout"].startswith("long")


def test_bool_flag_becomes_0_1_and_offsets_become_utc(tmp_path: Path) -> None:
    path = tmp_path / "tz.csv"
    stamps = [f"2022-01-01T{h:02d}:00:00+10:00" for h in range(24)] + [
        f"2022-01-02T{h:02d}:00:00+10:00" for h in range(24)
    ]
    pd.DataFrame({"Time": stamps, "x": np.arange(48.0), "flag": [True, False] * 24}).to_csv(
        path, index=False
    )
    c = canon(path)
    assert c.table.column("flag").to_pylist()[:2] == [1.0, 0.0]
    assert c.timezone == "UTC"
    assert str(c.table.column("timestamp")[0].as_py()) == "2021-12-31 14:00:00"


@pytest.mark.parametrize(("policy", "expected"), [("interpolate", 3.0), ("ffill", 2.0)])
def test_missing_policies_fill_and_count(tmp_path: Path, policy: str, expected: float) -> None:
    values = np.arange(48.0)
    values[3] = np.nan
    values[0] = np.nan  # leading gap: nearest observed value
    path = tmp_path / "m.csv"
    hourly(48, a=values).to_csv(path, index=False)
    c = canon(path, missing=policy)
    out = c.table.column("a").to_numpy()
    assert out[3] == expected and out[0] == 1.0
    assert c.filled == {"a": 2}


def test_gaps_in_the_grid_are_filled_under_a_policy(tmp_path: Path) -> None:
    frame = hourly(48, a=np.arange(48.0)).drop(index=[10, 11])
    path = tmp_path / "g.csv"
    frame.to_csv(path, index=False)
    c = canon(path, missing="interpolate")
    assert c.table.num_rows == 48
    np.testing.assert_allclose(c.table.column("a").to_numpy(), np.arange(48.0))
    assert c.filled == {"a": 2} and "2 missing timestamps" in c.inferred["gaps"]


def test_resample_aggregates_onto_the_declared_grid(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"t": pd.date_range("2022-01-01", periods=96, freq="15min"), "a": np.arange(96.0)}
    )
    frame.loc[5, "t"] += pd.Timedelta("2min")  # off-grid, but inside its hour
    path = tmp_path / "r.csv"
    frame.to_csv(path, index=False)
    c = canon(path, resample="h")
    assert c.table.num_rows == 24 and c.freq == "h"
    np.testing.assert_allclose(c.table.column("a").to_numpy()[:2], [1.5, 5.5])


def test_max_rows_keeps_the_last_rows(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    hourly(48, a=np.arange(48.0)).to_csv(path, index=False)
    c = canon(path, max_rows=20)
    assert c.table.num_rows == 20 and c.table.column("a").to_numpy()[0] == 28.0
    assert "last 20 of 48" in c.inferred["max_rows"]


def test_monthly_calendar_frequency(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"month": pd.date_range("2000-01-01", periods=40, freq="MS"), "sales": np.arange(40.0)}
    )
    path = tmp_path / "monthly.csv"
    frame.to_csv(path, index=False)
    assert canon(path).freq == "MS"


def test_declared_bad_frequency_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    hourly(48, a=np.arange(48.0)).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"data.freq.*'fortnightly'.*Fix:"):
        canon(path, freq="fortnightly")


def test_nan_timestamp_is_named(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text(
        "t,a\n2022-01-01 00:00,1\n,2\n"
        + "".join(f"2022-01-01 {h:02d}:00,{h}\n" for h in range(2, 20))
    )
    with pytest.raises(DataError, match=r"w.csv, column 't': empty timestamp at row 1"):
        canon(path)
