"""Paired block-bootstrap intervals and the "does the LM help?" verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from tsalign.components.evaluation.intervals import (
    MIN_BLOCKS,
    block_means,
    compare_llm_models,
    compare_text_twins,
    lm_helps,
    paired_interval,
)

RNG = np.random.default_rng(7)
HARDNESS = RNG.gamma(2.0, 1.0, size=400)  # windows differ a lot in how hard they are


def test_identical_models_give_an_interval_containing_zero():
    errors = HARDNESS + RNG.normal(0, 0.1, size=HARDNESS.size)
    interval = paired_interval(errors, errors.copy())
    assert interval.low <= 0 <= interval.high
    assert not interval.excludes_zero


def test_models_equal_in_mean_give_an_interval_containing_zero():
    a = HARDNESS + RNG.normal(0, 0.2, size=HARDNESS.size)
    b = a[::-1].copy()  # the same errors on other windows: the same mean
    interval = paired_interval(a, b)
    assert interval.estimate == pytest.approx(0, abs=1e-12)
    assert interval.low < 0 < interval.high


def test_a_clearly_better_model_gives_an_interval_below_zero():
    better = HARDNESS * 0.7 + RNG.normal(0, 0.05, size=HARDNESS.size)
    interval = paired_interval(better, HARDNESS)
    assert interval.high < 0 and interval.excludes_zero
    assert interval.low <= interval.estimate <= interval.high
    assert interval.estimate == pytest.approx(better.mean() - HARDNESS.mean())


def test_paired_resampling_sees_a_small_consistent_gain_that_unpaired_misses():
    # The same hard windows are hard for both models; the gain is small but on every window.
    a = HARDNESS - 0.05 + RNG.normal(0, 0.01, size=HARDNESS.size)
    paired = paired_interval(a, HARDNESS, paired=True)
    unpaired = paired_interval(a, HARDNESS, paired=False)
    assert paired.high < 0  # the gain is shown
    assert unpaired.low < 0 < unpaired.high  # lost in the windows' spread
    assert (unpaired.high - unpaired.low) > 10 * (paired.high - paired.low)


def test_blocks_widen_the_interval_of_correlated_window_errors():
    # Overlapping windows: a slowly drifting difference, correlated over ~50 windows.
    drift = np.convolve(RNG.normal(0, 1, size=450), np.ones(50) / 50, mode="valid")[:400]
    a = HARDNESS + 0.02 + drift
    single = paired_interval(a, HARDNESS, block=1)
    blocked = paired_interval(a, HARDNESS, block=50)
    assert blocked.blocks == 8 and single.blocks == 400
    assert (blocked.high - blocked.low) > 2 * (single.high - single.low)


def test_block_means_average_consecutive_windows():
    assert block_means(np.arange(12, dtype=float), 4).tolist() == [1.5, 5.5, 9.5]
    # A remainder is spread over the blocks (sizes 5, 4, 4), never dropped.
    assert block_means(np.arange(13, dtype=float), 4).tolist() == [2.0, 6.5, 10.5]


def test_mismatched_or_too_short_errors_are_refused():
    with pytest.raises(ValueError, match="alike"):
        paired_interval(np.ones(5), np.ones(6))
    with pytest.raises(ValueError, match="fewer than 2 blocks"):
        paired_interval(np.ones(5), np.ones(5), block=5)


def _errors(**shifts: float) -> dict[str, np.ndarray]:
    return {name: HARDNESS + shift for name, shift in shifts.items()}


PARADIGMS = {
    "gpt4ts": "internal",
    "gpt4ts_wo_llm": "ablation",
    "timellm": "bridging",
    "dlinear": "baseline",
    "seasonal_naive": "baseline",
}


def test_each_llm_model_is_compared_with_its_ablation_and_the_best_classic_baseline():
    errors = _errors(gpt4ts=-0.1, gpt4ts_wo_llm=0.0, timellm=0.2, dlinear=0.1, seasonal_naive=0.5)
    mse = {name: float(e.mean()) for name, e in errors.items()}
    comparisons = compare_llm_models(
        errors,
        mse,
        PARADIGMS,
        {"gpt4ts": ["gpt4ts_wo_llm", "gpt4ts_llm2attn"], "timellm": ["timellm_wo_llm"]},
        block=4,
    )
    pairs = {(c.model, c.reference, c.kind): c for c in comparisons}
    assert set(pairs) == {
        ("gpt4ts", "gpt4ts_wo_llm", "ablation"),  # llm2attn was not evaluated: not compared
        ("gpt4ts", "dlinear", "baseline"),  # the best classic baseline, not seasonal naive
        ("timellm", "-", "ablation"),
        ("timellm", "dlinear", "baseline"),
    }
    assert pairs["gpt4ts", "gpt4ts_wo_llm", "ablation"].verdict == "the LM helps"
    assert pairs["gpt4ts", "dlinear", "baseline"].verdict == "beats dlinear"
    assert pairs["timellm", "dlinear", "baseline"].verdict == "loses to dlinear"
    missing = pairs["timellm", "-", "ablation"]
    assert missing.interval is None and "timellm_wo_llm" in missing.note
    assert lm_helps(comparisons, "gpt4ts") == "the LM helps"
    assert lm_helps(comparisons, "timellm") == "LM benefit not tested"


def test_the_lm_is_said_to_help_only_when_every_ablation_interval_excludes_zero():
    noise = RNG.normal(0, 0.3, size=HARDNESS.size)
    errors = {
        "gpt4ts": HARDNESS + noise,
        "gpt4ts_wo_llm": HARDNESS + noise[::-1],  # same mean: no difference to show
        "gpt4ts_llm2attn": HARDNESS + 0.5,  # clearly worse: the LM beats it
    }
    comparisons = compare_llm_models(
        errors,
        {n: float(e.mean()) for n, e in errors.items()},
        {"gpt4ts": "internal", "gpt4ts_wo_llm": "ablation", "gpt4ts_llm2attn": "ablation"},
        {"gpt4ts": ["gpt4ts_wo_llm", "gpt4ts_llm2attn"]},
        block=1,
    )
    verdicts = {c.reference: c.verdict for c in comparisons}
    assert verdicts == {"gpt4ts_wo_llm": "LM benefit not shown", "gpt4ts_llm2attn": "the LM helps"}
    assert lm_helps(comparisons, "gpt4ts") == "LM benefit not shown"
    errors["gpt4ts"] = HARDNESS + 1.0
    worse = compare_llm_models(
        errors,
        {n: float(e.mean()) for n, e in errors.items()},
        {"gpt4ts": "internal", "gpt4ts_wo_llm": "ablation", "gpt4ts_llm2attn": "ablation"},
        {"gpt4ts": ["gpt4ts_wo_llm", "gpt4ts_llm2attn"]},
        block=1,
    )
    assert lm_helps(worse, "gpt4ts") == "the LM hurts"


def test_too_few_test_windows_give_no_interval_and_say_so():
    short = {"gpt4ts": HARDNESS[:20], "gpt4ts_wo_llm": HARDNESS[:20] + 1}
    (comparison,) = compare_llm_models(
        short,
        {"gpt4ts": 1.0, "gpt4ts_wo_llm": 2.0},
        {"gpt4ts": "internal", "gpt4ts_wo_llm": "ablation"},
        {"gpt4ts": ["gpt4ts_wo_llm"]},
        block=4,  # 5 blocks
    )
    assert comparison.interval is None
    assert str(MIN_BLOCKS) in comparison.note
    assert lm_helps([comparison], "gpt4ts") == "LM benefit not tested"


def test_a_fused_model_is_compared_with_its_no_text_twin():
    rng = np.random.default_rng(0)
    twin = rng.gamma(2.0, 1.0, 200)
    errors = {"dlinear": twin * 0.8, "dlinear_no_text": twin, "patchtst": twin * 1.3}
    twins = {"dlinear": "dlinear_no_text", "patchtst": "patchtst_no_text"}
    found, missing = compare_text_twins(errors, twins, block=1, seed=0)
    assert (found.kind, found.reference, found.verdict) == ("text", "dlinear_no_text", "text helps")
    assert found.interval.high < 0
    assert missing.interval is None and "twin was not evaluated" in missing.note
    hurt = compare_text_twins({"a": twin * 1.3, "b": twin}, {"a": "b"}, block=1)
    assert hurt[0].verdict == "text hurts"
