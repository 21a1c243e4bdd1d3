"""Real datasets as canonical frames + metadata, built here (not via ingest) so the
profiling tests depend only on tsalign.components.profiling."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tsalign.components.data.meta import TIMESTAMP, DatasetMeta

ETTH1 = Path("/work/shared/data/ett/ETTh1.csv")


def make_meta(frame: pd.DataFrame, name: str, targets: list[str], **extra) -> DatasetMeta:
    channels = [c for c in frame.columns if c != TIMESTAMP]
    return DatasetMeta(
        name=name,
        source=name,
        channels=channels,
        targets=targets,
        freq=extra.pop("freq", "h"),
        rows=len(frame),
        start=str(frame[TIMESTAMP].iloc[0]),
        end=str(frame[TIMESTAMP].iloc[-1]),
        **extra,
    )


@pytest.fixture(scope="session")
def meta_of():
    """``make_meta`` as a fixture (test modules here are not an importable package)."""
    return make_meta


@pytest.fixture(scope="session")
def vic_elec() -> tuple[pd.DataFrame, DatasetMeta]:
    from tsdata import fpp3

    raw = fpp3.raw["vic_elec"]
    frame = pd.DataFrame(
        {
            TIMESTAMP: pd.to_datetime(raw["Time"], utc=True),
            "Demand": raw["Demand"].astype(float),
            "Temperature": raw["Temperature"].astype(float),
            "Holiday": raw["Holiday"].astype(float),
        }
    )
    meta = make_meta(
        frame,
        "vic_elec",
        ["Demand"],
        freq="30min",
        covariates=["Temperature", "Holiday"],
        description="Half-hourly electricity demand for Victoria, Australia, with the "
        "temperature in Melbourne and a public holiday indicator.",
        units={"Demand": "MWh", "Temperature": "degC"},
    )
    return frame, meta


@pytest.fixture(scope="session")
def etth1() -> tuple[pd.DataFrame, DatasetMeta]:
    if not ETTH1.is_file():
        pytest.fail(f"{ETTH1} is missing: the ETTh1 correctness tests need the shared ETT data")
    frame = pd.read_csv(ETTH1).rename(columns={"date": TIMESTAMP})
    frame[TIMESTAMP] = pd.to_datetime(frame[TIMESTAMP])
    return frame, make_meta(
        frame, "etth1", ["OT"], description="Electricity transformer temperature"
    )
