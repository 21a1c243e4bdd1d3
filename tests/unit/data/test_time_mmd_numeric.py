"""Time-MMD's five numeric files ingest from a config alone (no hand editing).

Each file carries one of the messy traits of real data: descending rows (Climate),
``X`` placeholders and empty cells (Health_US), month names (Economy), several date
columns (all). The files are read where they live, ../shared/data/time-mmd.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsalign.components.config import DataConfig
from tsalign.components.data import DataError
from tsalign.components.data.canonical import build_canonical
from tsalign.components.data.sources import resolve_source

TIME_MMD = Path(__file__).resolve().parents[4] / "shared" / "data" / "time-mmd"
MONTHLY = {"window": {"seq_len": 8, "horizon": 6}}
WEEKLY = {"window": {"seq_len": 24, "horizon": 12}}

# The data: section each domain needs; these are the README's Time-MMD examples.
DOMAINS: dict[str, dict] = {
    # Four date columns (Date, date, start_date, end_date); empty cells in a side channel.
    "Agriculture": {
        "timestamp_col": "Date",
        "targets": ["OT"],
        "covariates": ["Wholesale broiler composite"],
        "missing": "interpolate",
        **MONTHLY,
    },
    # Newest first; MapDate is an integer such as 20240514.
    "Climate": {
        "timestamp_col": "MapDate",
        "timestamp_format": "%Y%m%d",
        "sort": True,
        "targets": ["OT"],
        "covariates": ["D0", "D1", "D2", "D3", "D4"],
        **WEEKLY,
    },
    # 'January 2024' month names; years run newest first, months oldest first within one.
    "Economy": {
        "timestamp_col": "Month",
        "timestamp_format": "%B %Y",
        "sort": True,
        "targets": ["OT"],
        "covariates": ["Exports", "Imports"],
        **MONTHLY,
    },
    "Energy": {"timestamp_col": "date", "targets": ["OT"], **WEEKLY},
    # 'X' placeholders; the date column repeats a week and skips one around five year ends.
    "Health_US": {
        "timestamp_col": "date",
        "na_values": ["X"],
        "duplicates": "last",
        "missing": "interpolate",
        "targets": ["OT"],
        "covariates": ["% WEIGHTED ILI", "AGE 25-49"],
        **WEEKLY,
    },
}


def build(path: Path, **fields):
    cfg = DataConfig(name="t", source=str(path), **fields)
    with resolve_source(cfg, path.parent) as src:
        return build_canonical(src, cfg)


def domain_file(domain: str) -> Path:
    path = TIME_MMD / domain / f"{domain}.csv"
    if not path.is_file():
        pytest.fail(f"Time-MMD is missing at {path} (see ../shared/data/time-mmd/README.md)")
    return path


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_each_domain_ingests_from_its_config(domain: str) -> None:
    path = domain_file(domain)
    raw = pd.read_csv(path)
    canon = build(path, **DOMAINS[domain])
    ts = canon.table.column("timestamp").to_numpy()
    assert canon.targets == ["OT"]
    assert (np.diff(ts) > np.timedelta64(0)).all()  # strictly increasing, on a grid
    assert canon.freq == ("7D" if DOMAINS[domain]["window"] == WEEKLY["window"] else "MS")
    assert canon.rows == len(raw)  # no row lost (Health_US: 5 merged, 5 gaps filled)
    ot = canon.table.column("OT").to_numpy()
    assert np.isfinite(ot).all()


def test_climate_is_sorted_and_keeps_each_value_with_its_date() -> None:
    path = domain_file("Climate")
    raw = pd.read_csv(path)
    canon = build(path, **DOMAINS["Climate"]).table.to_pandas()
    newest = raw.iloc[0]  # the file's first row is its newest
    assert canon["timestamp"].iloc[-1] == pd.Timestamp(str(newest["MapDate"]))
    assert canon["OT"].iloc[-1] == newest["OT"] and canon["D0"].iloc[-1] == newest["D0"]


def test_climate_unsorted_is_refused_naming_the_row_and_data_sort() -> None:
    fields = {k: v for k, v in DOMAINS["Climate"].items() if k != "sort"}
    with pytest.raises(DataError) as caught:
        build(domain_file("Climate"), **fields)
    message = str(caught.value)
    assert "Climate.csv" in message and "row 1 (line 3 of the file)" in message
    assert "data.sort: true" in message


def test_economy_month_names_become_month_starts() -> None:
    path = domain_file("Economy")
    canon = build(path, **DOMAINS["Economy"]).table.to_pandas().set_index("timestamp")
    # First line of the file: January 2024, OT -93221.5
    assert canon.loc[pd.Timestamp("2024-01-01"), "OT"] == -93221.5
    assert canon.index[0] == pd.Timestamp("1987-01-01")


def test_health_x_placeholders_become_missing_and_are_filled() -> None:
    path = domain_file("Health_US")
    raw = pd.read_csv(path, dtype=str)
    canon = build(path, **DOMAINS["Health_US"])
    # A merged date is missing only where every row sharing it has X (last non-missing value).
    x_dates = int(raw.groupby("date")["AGE 25-49"].agg(lambda s: (s == "X").all()).sum())
    assert x_dates > 500
    # every X is filled, plus the 5 rows the grid gained where the date column skips a week
    assert canon.filled["AGE 25-49"] == x_dates + 5
    assert np.isfinite(canon.table.column("AGE 25-49").to_numpy()).all()
    assert "5 rows sharing a timestamp merged by last" in canon.inferred["duplicates"]


def test_health_x_without_na_values_names_the_cell_and_the_setting() -> None:
    fields = {k: v for k, v in DOMAINS["Health_US"].items() if k != "na_values"}
    with pytest.raises(DataError) as caught:
        build(domain_file("Health_US"), **fields)
    message = str(caught.value)
    assert "Health_US.csv" in message and "'AGE 25-49'" in message and "'X'" in message
    assert "data.na_values" in message


def test_health_duplicates_refused_by_default_name_the_setting() -> None:
    fields = {k: v for k, v in DOMAINS["Health_US"].items() if k != "duplicates"}
    with pytest.raises(DataError) as caught:
        build(domain_file("Health_US"), **fields)
    message = str(caught.value)
    assert "duplicated timestamp 1997-12-29" in message and "row 14" in message
    assert "data.duplicates" in message
