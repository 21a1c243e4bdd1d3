"""Source resolution: schemes, packaged names and pins (no network)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tsalign.components.config import DataConfig
from tsalign.components.data import DataError, sources
from tsalign.components.data.packaged import PACKAGED
from tsalign.components.data.sources import (
    FileSource,
    PackagedSource,
    ResolvedSource,
    S3Source,
    Source,
    WebSource,
    register_source,
    resolve_source,
    source_for,
)
from tsalign.components.fingerprint import source_fingerprint
from tsalign.components.storage import sha256_file

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
        ("not_a_dataset", r"not a file and not a packaged dataset.*etth1, time_mmd_agriculture.*time_mmd_health_us, vic_elec"),
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


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("etth1", PackagedSource),
        ("VIC_ELEC", PackagedSource),
        ("in/x.csv", FileSource),
        ("file:///srv/x.parquet", FileSource),
        ("https://example.org/x.csv", WebSource),
        ("HTTP://example.org/x.csv", WebSource),
        ("s3://bucket/x.csv", S3Source),
    ],
)
def test_each_source_kind_is_one_class(tmp_path: Path, source: str, kind: type) -> None:
    assert type(source_for(DataConfig(source=source), tmp_path)) is kind


def test_an_unknown_scheme_is_refused_by_ingest_and_never_cached(tmp_path: Path) -> None:
    cfg = DataConfig(source="gopher://x/y.csv")
    with pytest.raises(DataError, match=r"unknown source scheme 'gopher://'.*s3://, https://"):
        source_for(cfg, tmp_path)
    assert source_fingerprint(cfg, tmp_path) is None


def test_a_registered_kind_serves_both_the_cache_key_and_ingest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "SOURCE_KINDS", dict(sources.SOURCE_KINDS))
    local = tmp_path / "m.csv"
    local.write_text("t,a\n")

    @register_source
    class MemorySource(Source):
        schemes = ("mem",)

        def fingerprint(self) -> dict[str, str]:
            return {"mem": self.label}

        @contextlib.contextmanager
        def open(self) -> Iterator[ResolvedSource]:
            yield ResolvedSource(local, self.label, "csv")

    cfg = DataConfig(source="mem://m.csv")
    assert source_fingerprint(cfg, tmp_path) == {"mem": "mem://m.csv"}
    with resolve_source(cfg, tmp_path) as src:
        assert src.path == local


def test_a_local_file_is_identified_by_its_content(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("t,a\n1,2\n")
    source = source_for(DataConfig(source="x.csv"), tmp_path)
    first = source.fingerprint()
    assert first is not None and first["sha256"] == sha256_file(path)
    path.write_text("t,a\n1,3\n")
    assert source.fingerprint()["sha256"] != first["sha256"]
    path.unlink()
    assert source.fingerprint() is None
