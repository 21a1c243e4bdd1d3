"""Bad input: explicit "not computable because ..." fields, clear errors, no partial output."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from tsalign.components.config import ProfileConfig
from tsalign.components.data.meta import TIMESTAMP
from tsalign.components.profiling import ProfileError, load_profile, profile_dataset
from tsalign.components.profiling.schema import SCHEMA_VERSION

FAST = ProfileConfig(tokenizer=None, plots=False)


def _frame(n: int, **columns) -> pd.DataFrame:
    data = {TIMESTAMP: pd.date_range("2021-01-01", periods=n, freq="h")}
    data.update(columns)
    return pd.DataFrame(data)


def _no_nan(text: str) -> None:
    def refuse(token: str):
        raise AssertionError(f"profile.json contains {token}")

    json.loads(text, parse_constant=refuse)


def test_degenerate_channels_get_reasons(meta_of, tmp_path):
    n = 500
    rng = np.random.default_rng(0)
    frame = _frame(
        n,
        good=np.sin(2 * np.pi * np.arange(n) / 24) + 0.1 * rng.standard_normal(n),
        flat=np.full(n, 3.0),
        empty=np.full(n, np.nan),
        label=["a", "b"] * (n // 2),
    )
    meta = meta_of(frame, "degenerate", ["good"])
    profile, _ = profile_dataset(frame, meta, FAST, tmp_path)
    chars = profile.characteristic.channels
    assert "constant" in chars["flat"].not_computable["trend_strength"]
    assert "all values are missing" in chars["empty"].not_computable["adf_pvalue"]
    assert "non-numeric" in chars["label"].not_computable["periods"]
    for name in ("flat", "empty", "label"):
        assert chars[name].dominant_period is None and chars[name].trend_strength is None
    assert chars["good"].dominant_period == 24
    reps = profile.representation.channels
    assert reps["empty"].missing_share == 1.0 and reps["empty"].longest_gap == n
    assert "non-numeric" in reps["label"].not_computable["min"]
    assert profile.domain.text_channels == ["label"]
    assert "usable: ['good']" in profile.characteristic.not_computable["correlation"]
    _no_nan((tmp_path / "profile.json").read_text())
    assert load_profile(tmp_path / "profile.json") == profile


def test_too_short_for_a_period(meta_of, tmp_path):
    rng = np.random.default_rng(1)
    frame = _frame(18, y=rng.standard_normal(18))  # 18 // MIN_CYCLES < 2: no period possible
    profile, ref = profile_dataset(frame, meta_of(frame, "short", ["y"]), FAST, tmp_path)
    y = profile.characteristic.channels["y"]
    assert "too short for a period estimate" in y.not_computable["periods"]
    assert profile.dominant_period() is None and ref.dominant_period is None
    assert "y:" in profile.period_reason
    assert y.adf_pvalue is not None  # the rest is still computed
    assert profile.summary_rows()  # renders without a period

    tiny = _frame(10, y=rng.standard_normal(10))
    profile, _ = profile_dataset(tiny, meta_of(tiny, "tiny", ["y"]), FAST, tmp_path / "tiny")
    assert (
        "needs at least 16" in profile.characteristic.channels["y"].not_computable["trend_strength"]
    )
    assert profile.representation.patch_len <= 10 // 4 or profile.representation.patch_len >= 1
    _no_nan((tmp_path / "tiny" / "profile.json").read_text())


def test_gaps_are_interpolated_for_statistics_and_reported(meta_of, tmp_path):
    n = 2400
    x = np.sin(2 * np.pi * np.arange(n) / 24) + 0.05 * np.random.default_rng(2).standard_normal(n)
    x[100:130] = np.nan
    frame = _frame(n, y=x)
    profile, _ = profile_dataset(frame, meta_of(frame, "gappy", ["y"]), FAST, tmp_path)
    assert profile.representation.channels["y"].longest_gap == 30
    assert math.isclose(profile.representation.missing_share, 30 / n, rel_tol=1e-6)
    assert profile.dominant_period() == 24


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f, m: (f.drop(columns=[TIMESTAMP]), m), "no 'timestamp' column"),
        (lambda f, m: (f.drop(columns=["y"]), m), "meta.channels lists ['y']"),
        (lambda f, m: (f, m.model_copy(update={"targets": ["nope"]})), "fix data.targets"),
        (lambda f, m: (f.iloc[:0], m), "no rows"),
    ],
)
def test_mismatched_frame_raises_and_writes_nothing(meta_of, tmp_path, mutate, message):
    frame = _frame(50, y=np.arange(50.0))
    bad_frame, bad_meta = mutate(frame, meta_of(frame, "bad", ["y"]))
    out = tmp_path / "out"
    with pytest.raises(ProfileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        profile_dataset(bad_frame, bad_meta, FAST, out)
    assert not out.exists() or not any(out.iterdir())


def test_load_profile_errors_name_file_and_fix(tmp_path):
    missing = tmp_path / "none.json"
    with pytest.raises(ProfileError, match=r"not found.*tsalign profile"):
        load_profile(missing)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ProfileError, match=r"broken\.json: not valid JSON"):
        load_profile(broken)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(ProfileError, match="schema_version"):
        load_profile(old)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "dataset": "x"}))
    with pytest.raises(ProfileError, match="invalid profile"):
        load_profile(partial)


def test_rerun_without_plots_removes_stale_plots(meta_of, tmp_path):
    n = 600
    frame = _frame(n, y=np.sin(2 * np.pi * np.arange(n) / 24))
    meta = meta_of(frame, "rerun", ["y"])
    _, ref = profile_dataset(frame, meta, ProfileConfig(tokenizer=None), tmp_path)
    assert (tmp_path / "plots" / "series.png").is_file() and ref.plot_paths
    _, ref = profile_dataset(frame, meta, FAST, tmp_path)
    assert ref.plot_paths == [] and not (tmp_path / "plots").exists()
    assert "## Plots" not in (tmp_path / "report.md").read_text()
