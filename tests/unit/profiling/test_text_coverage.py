"""The domain primitive's text coverage: which input windows see a text that ended in time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tsalign.components.config import ProfileConfig
from tsalign.components.data.meta import TIMESTAMP
from tsalign.components.profiling import profile_dataset
from tsalign.components.profiling.domain import text_coverage

FAST = ProfileConfig(plots=False, tokenizer=None, input_len=4, max_period=10)


def notes(ends: list[str]) -> pd.DataFrame:
    end = pd.to_datetime(ends)
    return pd.DataFrame(
        {"source": "notes.csv", "start": end - pd.Timedelta(days=1), "end": end,
         "field": "fact", "text": [f"note {i}" for i in range(len(ends))]}
    )  # fmt: skip


def test_a_window_counts_texts_that_ended_before_its_origin() -> None:
    ts = pd.date_range("2024-01-01", periods=10, freq="D").to_numpy()
    # origins are days 4..9 (0-based); window of origin k covers days k-4 .. k-1
    texts = notes(["2024-01-02", "2024-01-05", "2024-01-05", "2024-01-09"])
    cov = text_coverage(ts, texts, window_steps=4)
    # Text ends fall on days 1, 4, 4 and 8 (0-based). The window of origin k covers days
    # [k-4, k): origin 4 sees day 1 only (the two texts ending on day 4, the origin itself,
    # are not seen); origin 5 sees days 1, 4, 4; origins 6-8 see 4, 4 (origin 8 does not
    # see the text ending on day 8); origin 9 sees day 8.
    expected = np.array([1, 3, 2, 2, 2, 1])
    assert cov.windows == 6
    assert cov.share_with_text == round(float((expected > 0).mean()), 4)
    assert cov.texts_per_window_mean == round(float(expected.mean()), 4)
    assert cov.texts_per_window_max == 3 and cov.texts_per_window_median == 2.0
    assert cov.start == "2024-01-01T00:00:00" and cov.end == "2024-01-09T00:00:00"
    assert cov.texts == 4 and cov.sources == ["notes.csv"]


def test_a_series_shorter_than_a_window_has_no_windows() -> None:
    ts = pd.date_range("2024-01-01", periods=3, freq="D").to_numpy()
    cov = text_coverage(ts, notes(["2024-01-02"]), window_steps=4)
    assert cov.windows == 0 and cov.share_with_text == 0.0


def test_profile_reports_coverage_and_counts_text_as_knowledge(tmp_path: Path, meta_of) -> None:
    n = 120
    frame = pd.DataFrame(
        {TIMESTAMP: pd.date_range("2024-01-01", periods=n, freq="D"),
         "y": np.sin(np.arange(n) / 3.0)}
    )  # fmt: skip
    meta = meta_of(frame, "daily", ["y"], freq="D")
    texts = notes([str(d.date()) for d in frame[TIMESTAMP].iloc[::2]])
    with_text, ref = profile_dataset(frame, meta, FAST, tmp_path / "a", texts=texts)
    without, _ = profile_dataset(frame, meta, FAST, tmp_path / "b")
    cov = with_text.domain.text_coverage
    assert cov is not None and cov.windows == n - 4 and cov.share_with_text == 1.0
    assert without.domain.text_coverage is None
    assert with_text.domain.knowledge_breakdown["text"] > without.domain.knowledge_breakdown["text"]
    assert "Time-stamped text: 60 texts from notes.csv" in Path(ref.report_path).read_text()
