"""data.text through ingest into a real DVC project: one md5 covers numbers and text."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from _data_helpers import tree_digest

from tsalign.components.config import DataConfig
from tsalign.components.data import DataError, checkout_version, ingest, load_meta, load_texts
from tsalign.components.storage import sha256_file

pytestmark = pytest.mark.integration

TIME_MMD = Path(__file__).resolve().parents[4] / "shared" / "data" / "time-mmd"


def energy(**text) -> DataConfig:
    """Time-MMD Energy: packaged numbers and texts read from their local copies."""
    sources = [
        {
            "source": f"time_mmd_energy_{part}",
            "local_copy": str(TIME_MMD / "Energy" / f"Energy_{part}.csv"),
            "na_values": ["NA"],
            "empty": "drop",
        }
        for part in ("report", "search")
    ]
    return DataConfig(
        name="energy",
        source="time_mmd_energy",
        local_copy=str(TIME_MMD / "Energy" / "Energy.csv"),
        timestamp_col="date",
        window={"seq_len": 24, "horizon": 12},
        text=text or {"sources": sources},
    )


def md5_of(root: Path) -> str:
    return yaml.safe_load((root / "data.dvc").read_text())["outs"][0]["md5"]


def test_energy_numbers_and_texts_are_versioned_together(project: Path) -> None:
    ref = ingest(energy(), project)
    text_file = project / "data" / "energy.text.parquet"
    assert ref.text_path == str(text_file)
    meta = load_meta(ref)
    assert meta.targets == ["OT"] and meta.rows == 1622
    assert meta.text is not None and meta.text.file == "energy.text.parquet"
    assert meta.text.content_sha256 == sha256_file(text_file)
    assert [s.source for s in meta.text.sources] == [
        "time_mmd_energy_report",
        "time_mmd_energy_search",
    ]
    assert (
        meta.text.rows
        == pq.read_metadata(text_file).num_rows
        == sum(s.texts for s in meta.text.sources)
    )
    assert ref.md5 == md5_of(project)

    # Only the text changes (one source less): the series bytes stay, the data md5 moves.
    series = sha256_file(project / "data" / "energy.parquet")
    report_only = energy(sources=[energy().text.sources[0].model_dump()])
    ref2 = ingest(report_only, project)
    assert sha256_file(project / "data" / "energy.parquet") == series
    assert ref2.md5 != ref.md5
    assert load_texts(ref2)["source"].unique().tolist() == ["time_mmd_energy_report"]

    # The older version still has both sources, read back through DVC.
    old = checkout_version("energy", ref.md5.removesuffix(".dir"), project)
    assert sha256_file(Path(old.text_path)) == meta.text.content_sha256

    # Without data.text the stale text file goes and the ref says so.
    ref3 = ingest(energy().model_copy(update={"text": None}), project)
    assert ref3.text_path is None and not text_file.exists()
    assert load_meta(ref3).text is None and load_texts(ref3) is None


def test_bad_text_leaves_data_and_the_version_untouched(project: Path, tmp_path: Path) -> None:
    ingest(energy(), project)
    before = tree_digest(project / "data", project / "data.dvc", project / ".dvc-remote")
    bad = tmp_path / "notes.csv"
    pd.DataFrame(
        {"start_date": ["2020-01-06", "2020-01-13"], "end_date": ["2020-01-12", "2020-01-01"],
         "note": ["fine", "end before start"]}
    ).to_csv(bad, index=False)  # fmt: skip
    with pytest.raises(DataError, match=r"notes.csv, column 'end_date': end before start at row 1"):
        ingest(energy(sources=[{"source": str(bad)}]), project)
    after = tree_digest(project / "data", project / "data.dvc", project / ".dvc-remote")
    assert after == before
    assert not [p for p in (project / ".dvc" / "tmp").glob(".energy*")]  # nothing staged left


def test_a_text_name_as_data_source_is_refused(project: Path) -> None:
    cfg = DataConfig(
        name="x",
        source="time_mmd_energy_report",
        local_copy=str(TIME_MMD / "Energy" / "Energy_report.csv"),
    )
    with pytest.raises(DataError, match=r"text source, not a numeric series.*data.text.sources"):
        ingest(cfg, project)
    assert not (project / "data").exists()


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving a fresh directory; yields (base URL, directory)."""
    served = tmp_path / "served"
    served.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(served))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_s3_and_pinned_https_text_sources(
    project: Path, tmp_path: Path, s3_endpoint: str, s3_bucket: str, http_dir
) -> None:
    notes = pd.DataFrame(
        {"start_date": ["2011-12-19", "2012-01-02"], "end_date": ["2011-12-25", "2012-01-08"],
         "note": ["refinery outage", "prices ease"]}
    )  # fmt: skip
    body = notes.to_csv(index=False).encode()
    boto3.client("s3", endpoint_url=s3_endpoint).put_object(
        Bucket=s3_bucket, Key="text/notes.csv", Body=body
    )
    base, served = http_dir
    (served / "notes.csv").write_bytes(body)
    pin = sha256_file(served / "notes.csv")
    sources = [
        {"source": f"s3://{s3_bucket}/text/notes.csv", "endpoint_url": s3_endpoint},
        {"source": f"{base}/notes.csv", "sha256": pin},
    ]
    cfg = energy(sources=sources).model_copy(update={"cache_dir": str(tmp_path / "dl")})
    ref = ingest(cfg, project)
    texts = load_texts(ref)
    assert len(texts) == 4 and sorted(texts["text"].unique()) == ["prices ease", "refinery outage"]
    assert [s.sha256 for s in load_meta(ref).text.sources] == [pin, pin]

    wrong = energy(sources=[{"source": f"{base}/notes.csv", "sha256": "0" * 64}])
    with pytest.raises(DataError, match=r"sha256 mismatch"):
        ingest(wrong.model_copy(update={"cache_dir": str(tmp_path / "dl2")}), project)
