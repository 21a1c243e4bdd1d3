"""data.text: reading, validating and merging time-stamped text sources (no DVC involved)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tsalign.components.config import DataConfig
from tsalign.components.data import DataError
from tsalign.components.data.packaged import PACKAGED
from tsalign.components.data.text import TEXT_SCHEMA, build_texts

TIME_MMD = Path(__file__).resolve().parents[4] / "shared" / "data" / "time-mmd"


def texts(root: Path, *sources: dict):
    cfg = DataConfig(name="t", source="series.csv", text={"sources": list(sources)})
    return build_texts(cfg, root)


def write(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


NOTES = [
    {"start_date": "2024-01-08", "end_date": "2024-01-14", "fact": "late", "preds": "up"},
    {"start_date": "2024-01-01", "end_date": "2024-01-07", "fact": "early", "preds": ""},
]


def test_rows_become_one_text_per_cell_sorted_by_end(tmp_path: Path) -> None:
    write(tmp_path / "notes.csv", NOTES)
    table, [summary] = texts(tmp_path, {"source": "notes.csv"})
    assert table.schema.equals(TEXT_SCHEMA)
    frame = table.to_pandas()
    assert list(frame["text"]) == ["early", "late", "up"]  # the empty preds cell is no text
    assert list(frame["field"]) == ["fact", "fact", "preds"]
    assert frame["end"].iloc[0] == pd.Timestamp("2024-01-07")
    assert summary.text_cols == ["fact", "preds"] and summary.texts == 3 and summary.rows == 2


def test_two_sources_merge_and_keep_their_names(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", NOTES)
    pd.DataFrame({"day": ["2024-01-03"], "note": ["pump replaced"]}).to_parquet(
        tmp_path / "b.parquet", index=False
    )
    table, summaries = texts(
        tmp_path,
        {"source": "a.csv"},
        {"source": "b.parquet", "start_col": "day", "end_col": None, "text_cols": ["note"]},
    )
    frame = table.to_pandas()
    assert frame["source"].tolist() == ["b.parquet", "a.csv", "a.csv", "a.csv"]
    assert frame["start"].iloc[0] == frame["end"].iloc[0] == pd.Timestamp("2024-01-03")
    assert [s.texts for s in summaries] == [3, 1]


def test_quarterly_text_times_follow_timestamp_format(tmp_path: Path) -> None:
    write(tmp_path / "q.csv", [{"q": "1998 Q2", "note": "strike"}])
    table, _ = texts(
        tmp_path,
        {"source": "q.csv", "start_col": "q", "end_col": None, "timestamp_format": "%Y Q%q"},
    )
    assert table.to_pandas()["start"].iloc[0] == pd.Timestamp("1998-04-01")


@pytest.mark.parametrize(
    ("rows", "fields", "words"),
    [
        (
            NOTES,
            {"start_col": "begin"},
            ["notes.csv", "column 'begin'", "no timestamps", "start_col"],
        ),
        (
            [{**NOTES[0], "start_date": ""}],
            {},
            ["notes.csv", "column 'start_date'", "no timestamp at row 0"],
        ),
        (
            [NOTES[1], {**NOTES[0], "end_date": "2024-01-02"}],
            {},
            ["column 'end_date'", "end before start at row 1", "2024-01-08"],
        ),
        (
            [NOTES[1], {**NOTES[0], "end_date": "next week"}],
            {},
            ["column 'end_date'", "'next week' at row 1", "ISO 8601", "timestamp_format"],
        ),
        (
            [NOTES[0], {**NOTES[1], "fact": "  ", "preds": "NA"}],
            {"na_values": ["NA"]},
            ["column 'fact'", "empty text at row 1", "'fact', 'preds'", "empty: drop"],
        ),
        (NOTES, {"text_cols": ["body"]}, ["column 'body'", "text_cols"]),
        (
            [{"start_date": "2024-01-01", "end_date": "2024-01-02", "n": "3"}],
            {},
            ["no text column", "text_cols"],
        ),
    ],
    ids=[
        "no-column",
        "empty-time",
        "end-before-start",
        "bad-time",
        "empty-text",
        "bad-col",
        "no-text",
    ],
)
def test_bad_text_is_refused_naming_file_row_column_and_fix(
    tmp_path: Path, rows: list[dict], fields: dict, words: list[str]
) -> None:
    write(tmp_path / "notes.csv", rows)
    with pytest.raises(DataError) as caught:
        texts(tmp_path, {"source": "notes.csv", **fields})
    message = str(caught.value)
    assert "Fix: " in message
    for word in words:
        assert word in message, message


def test_empty_rows_are_dropped_when_told_and_counted(tmp_path: Path) -> None:
    write(tmp_path / "notes.csv", [NOTES[0], {**NOTES[1], "fact": "NA", "preds": ""}])
    table, [summary] = texts(
        tmp_path, {"source": "notes.csv", "na_values": ["NA"], "empty": "drop"}
    )
    assert summary.dropped_empty == 1 and table.num_rows == 2


def test_bad_encoding_names_the_line(tmp_path: Path) -> None:
    body = "start_date,end_date,fact\n2024-01-01,2024-01-02,ok\n2024-01-02,2024-01-03,caf\xe9\n"
    (tmp_path / "latin.csv").write_bytes(body.encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.csv: not UTF-8 text: byte 0xe9 on line 3.*iconv"):
        texts(tmp_path, {"source": "latin.csv"})


def test_a_numeric_packaged_name_is_not_a_text_source(tmp_path: Path) -> None:
    local = TIME_MMD / "Energy" / "Energy.csv"
    with pytest.raises(
        DataError, match=r"numeric series, not a text source.*time_mmd_energy_report"
    ):
        texts(tmp_path, {"source": "time_mmd_energy", "local_copy": str(local)})


def test_packaged_local_copy_is_checked_against_the_pin(tmp_path: Path) -> None:
    write(tmp_path / "fake.csv", NOTES)
    with pytest.raises(DataError, match=r"sha256 mismatch.*unmodified copy"):
        texts(tmp_path, {"source": "time_mmd_energy_report", "local_copy": "fake.csv"})


@pytest.mark.parametrize("domain", ["Agriculture", "Climate", "Economy", "Energy", "Health_US"])
def test_time_mmd_report_and_search_files_ingest(domain: str) -> None:
    sources = [
        {
            "source": f"time_mmd_{domain.lower()}_{part}",
            "local_copy": str(TIME_MMD / domain / f"{domain}_{part}.csv"),
            "na_values": ["NA"],
            "empty": "drop",  # Climate and Energy have rows with neither fact nor preds
        }
        for part in ("report", "search")
    ]
    table, summaries = texts(Path("."), *sources)
    for summary, part in zip(summaries, ("report", "search"), strict=True):
        raw = pd.read_csv(TIME_MMD / domain / f"{domain}_{part}.csv")
        assert summary.rows == len(raw) and summary.text_cols == ["fact", "preds"]
        assert summary.sha256 == PACKAGED[f"time_mmd_{domain.lower()}_{part}"].sha256
    ends = table.column("end").to_numpy()
    assert (ends[1:] >= ends[:-1]).all()
    assert table.num_rows == sum(s.texts for s in summaries) > 1000
