"""Text alignment without leakage: a window sees only texts that ended before its forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from tsalign.components.config import TextConfig
from tsalign.components.data.align import align_for, align_texts, window_origins

DAY = pd.Timedelta("1D")


def days(*offsets: float) -> np.ndarray:
    return (pd.Timestamp("2024-01-01") + pd.to_timedelta(list(offsets), unit="D")).to_numpy()


def test_a_text_ending_at_the_origin_is_not_seen_one_ending_before_is() -> None:
    origin = days(10)
    just_before = origin - np.timedelta64(1, "ns")
    end = np.sort(np.concatenate([just_before, origin, days(12)]))
    seen = align_texts(origin, end)
    assert seen.counts().tolist() == [1] and np.array_equal(end[seen.rows(0)], just_before)


def test_lag_last_and_within() -> None:
    end = days(1, 2, 5, 8, 9)
    origin = days(10)
    assert align_texts(origin, end).counts().tolist() == [5]
    # end + 1.5 days < day 10 keeps ends before day 8.5
    assert end[align_texts(origin, end, lag="36h").rows(0)].tolist() == days(1, 2, 5, 8).tolist()
    assert end[align_texts(origin, end, last=2).rows(0)].tolist() == days(8, 9).tolist()
    # within 6 days of the cutoff (day 10): ends in [day 4, day 10)
    assert end[align_texts(origin, end, within="6D").rows(0)].tolist() == days(5, 8, 9).tolist()
    both = align_texts(origin, end, lag="1D", last=1, within="7D")
    assert end[both.rows(0)].tolist() == days(8).tolist()
    assert align_texts(days(0.5), end).counts().tolist() == [0]


def test_no_window_ever_receives_a_text_naming_its_future_value() -> None:
    """A text that names a value in the forecast of a window never reaches that window."""
    n, seq_len, horizon = 60, 8, 4
    ts = pd.date_range("2024-01-01", periods=n, freq="D")
    values = np.zeros(n)
    leak_step = 40
    values[leak_step] = 42.0  # the spike a leaking model would "forecast" from the text
    rng = np.random.default_rng(0)
    starts = ts[rng.integers(0, n - 3, size=80)]
    texts = pd.DataFrame(
        {"start": starts, "end": starts + pd.to_timedelta(rng.integers(0, 3, size=80), unit="D"),
         "text": "routine note"}
    )  # fmt: skip
    # The leak: published over the day of the spike, saying what the value will be.
    spoiler = {"start": ts[leak_step - 1], "end": ts[leak_step], "text": "the value will hit 42"}
    texts = pd.concat([texts, pd.DataFrame([spoiler])]).sort_values("end", kind="stable")
    texts = texts.reset_index(drop=True)
    origins = window_origins(ts.to_numpy(), seq_len, horizon)
    cfg = TextConfig(sources=[{"source": "notes.csv"}])
    seen = align_for(cfg, origins, texts)
    for i in range(len(origins)):
        rows = texts.iloc[seen.rows(i)]
        assert (rows["end"].to_numpy() < origins[i]).all()
        forecast = values[i + seq_len : i + seq_len + horizon]
        if 42.0 in forecast:  # windows whose forecast holds the spike never see the spoiler
            assert "the value will hit 42" not in rows["text"].tolist()
    # The spoiler is seen only by windows whose forecast starts after it ended.
    sees = [
        i
        for i in range(len(origins))
        if "the value will hit 42" in texts.iloc[seen.rows(i)]["text"].tolist()
    ]
    assert sees and min(origins[sees]) > ts[leak_step]
    # Taking the text at the first forecast step (MM-TSFlib) would hand it to a window
    # whose forecast starts on the spike: the case this alignment rules out.
    at_first_step = [i for i in range(len(origins)) if origins[i] == ts[leak_step]]
    assert at_first_step and at_first_step[0] not in sees


def test_window_origins_match_the_window_dataset_layout() -> None:
    ts = pd.date_range("2024-01-01", periods=20, freq="h").to_numpy()
    origins = window_origins(ts, seq_len=5, horizon=3, stride=2)
    # windows start at rows 0, 2, ..., 12 (20 - 8 = 12); forecasts start 5 rows later
    assert origins.tolist() == ts[5:18:2].tolist()


def test_unsorted_ends_and_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="sorted"):
        align_texts(days(10), days(3, 1))
    with pytest.raises(ValueError, match="last must be"):
        align_texts(days(10), days(1), last=0)
    with pytest.raises(ValidationError, match="not a time span"):
        TextConfig(sources=[{"source": "n.csv"}], lag="soon")
    with pytest.raises(ValidationError, match="must not be negative"):
        TextConfig(sources=[{"source": "n.csv"}], within="-2D")


def test_pool_windows_mean_and_max_over_each_windows_texts() -> None:
    from tsalign.components.data.align import pool_windows

    end = days(1, 2, 5)
    vectors = np.array([[1.0, 0.0], [3.0, 4.0], [5.0, -2.0]])
    seen = align_texts(days(0, 3, 10), end)  # sees nothing; texts 0-1; texts 0-2
    mean, has = pool_windows(seen, vectors, "mean")
    assert has.tolist() == [False, True, True]
    assert np.allclose(mean, [[0, 0], [2, 2], [3, 2 / 3]])
    top, _ = pool_windows(seen, vectors, "max")
    assert np.allclose(top, [[0, 0], [3, 4], [5, 4]])
