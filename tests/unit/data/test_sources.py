"""Source resolution: schemes, packaged names and pins (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.config import DataConfig
from components.data import DataError
from components.data.packaged import PACKAGED
from components.data.sources import resolve_source
from components.storage import sha256_file

ETTH1 = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "ett" / "ETTh1.csv"


def test_vic_elec_is_the_default_and_ships_offline(tmp_path: Path) -> None:
    with resolve_source(DataConfig(), tmp_path) as src:
        assert src.path.is_file() and src.fmt == "csv"
        assert src.packaged is PACKAGED["vic_elec"]
        assert src.packaged.units["Demand"] == "MWh per half hour"


def test_etth1_local_copy_is_checked_against_the_pin(tmp_path: Path) -> None:
    with resolve_source(DataConfig(source="etth1", local_copy=str(ETTH1)), tmp_path) as src:
        assert src.sha256 == PACKAGED["etth1"].sha256 == sha256_file(ETTH1)
    tampered = tmp_path / "ETTh1.csv"
    tampered.write_bytes(ETTH1.read_bytes().replace(b"OT", b"XX", 1))
    with (
        pytest.raises(DataError, match=r"local_copy.*sha256 mismatch.*Fix: use an unmodified copy"),
        resolve_source(DataConfig(source="etth1", local_copy=str(tampered)), tmp_path),
    ):
        pass


def test_etth1_uses_a_verified_cache_entry_without_network(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / PACKAGED["etth1"].sha256).write_bytes(ETTH1.read_bytes())
    with resolve_source(DataConfig(source="etth1", cache_dir=str(cache)), tmp_path) as src:
        assert src.path == cache / PACKAGED["etth1"].sha256


def test_relative_paths_resolve_from_the_project_root(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.csv").write_text("t,a\n")
    with resolve_source(DataConfig(source="in/x.csv"), tmp_path) as src:
        assert src.path == tmp_path / "in" / "x.csv"
    with resolve_source(DataConfig(source=f"file://{tmp_path}/in/x.csv"), tmp_path) as src:
        assert src.path == tmp_path / "in" / "x.csv"


@pytest.mark.parametrize(
    ("source", "pattern"),
    [
        ("gopher://x/y.csv", r"unknown source scheme 'gopher://'"),
        ("not_a_dataset", r"not a file and not a packaged dataset.*etth1, vic_elec"),
        ("https://example.org/x.csv", r"needs a sha256 pin"),
        ("s3://bucket-only", r"unknown file type|bucket and a key"),
    ],
)
def test_bad_sources_are_refused_before_any_io(tmp_path: Path, source: str, pattern: str) -> None:
    with (
        pytest.raises(DataError, match=pattern),
        resolve_source(DataConfig(source=source), tmp_path),
    ):
        pass
