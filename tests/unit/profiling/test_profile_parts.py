"""Helpers, the paradigm rules, token pricing and the terminal summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from tsalign.components.config import DataConfig, ProfileConfig
from tsalign.components.data.meta import TIMESTAMP
from tsalign.components.data.splits import split_borders
from tsalign.components.profiling import ProfileError, print_profile, profile_dataset
from tsalign.components.profiling.characteristic import block_mean, stationarity, stl_block
from tsalign.components.profiling.representation import decimals_needed, longest_run, suggest_patch


@pytest.mark.parametrize(
    ("period", "input_len", "expected"),
    [
        (24, 96, (12, 6)),
        (48, 96, (16, 8)),
        (168, 96, (14, 7)),
        (None, 96, (16, 8)),
        (7, 96, (7, 3)),
        (24, 16, (4, 2)),
    ],
)
def test_suggest_patch(period, input_len, expected):
    assert suggest_patch(period, input_len)[:2] == expected


def test_decimals_longest_run_blocks():
    float32_like = np.array([5.827000141143799, 2.009000062942505, 1.5989999771118164])
    assert decimals_needed(float32_like, np.float64) == 3
    assert decimals_needed(np.array([4382.825174, 4263.365526]), np.float64) == 6
    assert decimals_needed(np.array([1.0, 20.0, 300.0]), np.float64) == 0
    assert longest_run(np.array([0, 1, 1, 0, 1, 1, 1, 0], dtype=bool)) == 3
    assert longest_run(np.zeros(5, dtype=bool)) == 0
    assert stl_block(336, 96) == (4, 84) and stl_block(48, 96) == (1, 48)
    np.testing.assert_allclose(block_mean(np.arange(7.0), 3), [2.0, 5.0])  # oldest point dropped


def test_stationarity_verdicts():
    assert stationarity(0.01, 0.1, 0.05) == "stationary"
    assert stationarity(0.5, 0.01, 0.05) == "non_stationary"
    assert stationarity(0.5, 0.1, 0.05) == "trend_stationary"
    assert stationarity(0.01, 0.01, 0.05) == "difference_stationary"


def _seasonal(n: int, channels: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    t = np.arange(n)
    data = {TIMESTAMP: pd.date_range("2022-01-01", periods=n, freq="15min")}
    for c in range(channels):
        data[f"load_{c}"] = 10 * np.sin(2 * np.pi * t / 96 + c) + 0.01 * t + rng.standard_normal(n)
    return pd.DataFrame(data)


def test_rules_follow_compute_and_domain(meta_of, tmp_path):
    frame = _seasonal(3000, 2)
    rich = meta_of(
        frame,
        "rich",
        ["load_0"],
        freq="15min",
        units={"load_0": "kW", "load_1": "kW"},
        description="Quarter-hourly electrical load of two office buildings in Lyon, France.",
    )
    minimal = ProfileConfig(tokenizer=None, plots=False, compute="minimal")
    profile, _ = profile_dataset(frame, rich, minimal, tmp_path / "a")
    rec = profile.recommendation
    assert rec.paradigm == "injective"
    assert rec.reasons[0].paradigm == "injective"  # the winner's reasons come first
    assert rec.reasons[0].points == max(r.points for r in rec.reasons if r.paradigm == "injective")
    assert any(
        r.rule == "minimal_compute" and r.paradigm == "internal" and r.points < 0
        for r in rec.reasons
    )
    assert rec.scores["injective"] == pytest.approx(
        sum(r.points for r in rec.reasons if r.paradigm == "injective")
    )
    # 3000 steps hold 31 daily seasons: too few recurring histories to advise retrieval
    assert not any("retrieval" in note for note in rec.caveats)

    wide = _seasonal(25_000, 8)
    bare = meta_of(wide, "bare", ["load_0"], freq="15min")
    gpu = ProfileConfig(tokenizer=None, plots=False, compute="gpu")
    profile, ref = profile_dataset(wide, bare, gpu, tmp_path / "b")
    assert profile.recommendation.paradigm == "internal"
    assert ref.recommended_paradigm == "internal"
    recurring = [note for note in profile.recommendation.caveats if "`retrieval`" in note]
    assert len(recurring) == 1 and "96-step season 260 times" in recurring[0]
    # The advice names the catalogue's methods of each paradigm, the new ones included.
    models = {p: r.models for p, r in profile.recommendation.resources.items()}
    assert models["internal"] == ["gpt4ts", "gpt4ts_lora", "calf"]
    assert models["bridging"] == ["timellm", "retrieval", "test_align"]
    assert "calf, which trains a second" in profile.recommendation.resources["internal"].trainable
    assert "| internal | gpt4ts, gpt4ts_lora, calf |" in (tmp_path / "b" / "report.md").read_text()
    assert profile.domain.knowledge_score < 0.6


def test_prompt_priced_with_minilm_tokenizer(meta_of, tmp_path):
    frame = _seasonal(1000, 1)
    meta = meta_of(frame, "priced", ["load_0"], freq="15min")
    profile, _ = profile_dataset(frame, meta, ProfileConfig(plots=False, input_len=96), tmp_path)
    tokens = profile.representation.tokens
    assert tokens is not None and tokens.tokenizer == "minilm"
    assert tokens.model_max_length == 512
    assert 2.0 < tokens.tokens_per_value < 12.0
    assert tokens.prompt_tokens == tokens.window_tokens + tokens.context_tokens
    assert tokens.fits_context == (tokens.prompt_tokens <= 512)

    profile, _ = profile_dataset(
        frame, meta, ProfileConfig(plots=False, tokenizer="/no/such/model"), tmp_path / "x"
    )
    assert profile.representation.tokens is None
    assert "/no/such/model" in profile.representation.not_computable["tokens"]


def test_print_profile_shows_summary(meta_of, tmp_path):
    frame = _seasonal(2000, 2)
    profile, _ = profile_dataset(
        frame,
        meta_of(frame, "shown", ["load_0"], freq="15min"),
        ProfileConfig(tokenizer=None, plots=False),
        tmp_path,
    )
    console = Console(record=True, width=120)
    print_profile(profile, console)
    text = console.export_text()
    assert "recommended paradigm" in text and "load_0: periods (acf)" in text and "96" in text


def test_profile_is_fitted_on_the_training_rows_only(meta_of, tmp_path):
    # Training rows cycle daily; validation and test rows cycle every 12 h, at another level.
    n = 2000
    t = np.arange(n)
    noise = 0.1 * np.random.default_rng(0).standard_normal(n)
    y = np.where(t < 1400, np.sin(2 * np.pi * t / 24), 10 * np.sin(2 * np.pi * t / 12) + 50)
    stamps = pd.date_range("2020-01-01", periods=n, freq="h")
    frame = pd.DataFrame({TIMESTAMP: stamps, "y": y + noise})
    meta = meta_of(frame, "shifted", ["y"])
    data = DataConfig(name="shifted", source="shifted", split="ratio")
    rows = split_borders(n, data).scaler
    assert rows == (0, 1400)
    cfg = ProfileConfig(tokenizer=None, plots=False)
    profile, _ = profile_dataset(frame, meta, cfg, tmp_path / "train", rows)
    assert profile.period == 24
    assert "Main cycle: 24 steps" in profile.domain.domain_context
    assert profile.representation.length == 1400
    assert profile.fitted_rows == (0, 1400)
    # The same series profiled whole is led by its test part: the leak this guards against.
    assert profile_dataset(frame, meta, cfg, tmp_path / "all")[0].period == 12


def test_profile_refuses_training_rows_outside_the_series(meta_of, tmp_path):
    frame = _seasonal(500, 1)
    meta = meta_of(frame, "short", ["load_0"], freq="15min")
    with pytest.raises(ProfileError, match="train_rows"):
        profile_dataset(frame, meta, ProfileConfig(tokenizer=None, plots=False), tmp_path, (0, 900))
