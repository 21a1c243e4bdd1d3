"""Paired bootstrap intervals: does an LLM model beat its LLM-free ablation and the classic
baselines, and does a text-fused model beat its no-text twin?

Two models scored on the same test windows are compared through their per-window
errors, resampled together: a window drawn for one model is drawn for the other (a
paired bootstrap), so windows that are hard for every model do not widen the interval of
the difference. Test windows start one step apart and overlap, so neighbouring errors are
correlated; resampling single windows would give intervals that are too narrow. The
windows are therefore averaged in consecutive blocks (blocks of ``horizon`` windows have
targets that do not overlap) and the blocks are resampled: a non-overlapping block
bootstrap (Carlstein 1986). ``scipy.stats.bootstrap`` does the resampling (BCa intervals).

A difference is ``MSE(model) - MSE(reference)``: negative means the model is better.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy import stats

from tsalign.components.evaluation.leaderboard import LLM_PARADIGMS

CONFIDENCE = 0.95
RESAMPLES = 2000
MIN_BLOCKS = 10
"""Fewer independent blocks than this give no interval: the bootstrap would not be trustworthy."""


class Interval(BaseModel):
    """A bootstrap interval of the difference ``mean(a) - mean(b)`` of per-window errors."""

    model_config = ConfigDict(frozen=True)

    estimate: float
    low: float
    high: float
    confidence: float
    blocks: int
    block_windows: int

    @property
    def excludes_zero(self) -> bool:
        """Whether the whole interval lies on one side of 0."""
        return self.high < 0 or self.low > 0


class Comparison(BaseModel):
    """One LLM model against one reference model on the same test windows."""

    model_config = ConfigDict(frozen=True)

    model: str
    reference: str
    # "ablation" (its own LLM-free ablation), "baseline" (best classic baseline) or
    # "text" (a text-fused model against its no-text twin)
    kind: str
    interval: Interval | None
    verdict: str
    note: str = ""


def block_means(errors: np.ndarray, block: int) -> np.ndarray:
    """Means of ``len(errors) // block`` consecutive, nearly equal blocks of ``errors``."""
    n_blocks = max(len(errors) // max(block, 1), 1)
    return np.array([part.mean() for part in np.array_split(errors, n_blocks)])


def paired_interval(
    errors_a: np.ndarray,
    errors_b: np.ndarray,
    *,
    block: int = 1,
    confidence: float = CONFIDENCE,
    n_resamples: int = RESAMPLES,
    seed: int = 0,
    paired: bool = True,
) -> Interval:
    """Bootstrap interval of ``mean(errors_a) - mean(errors_b)`` over the same windows.

    Args:
        errors_a, errors_b: per-window errors of two models, window ``i`` in both the same.
        block: consecutive windows averaged into one resampled unit (1 = single windows).
        confidence: coverage of the interval.
        n_resamples: bootstrap resamples.
        seed: seed of the resampling, so that a report can be reproduced.
        paired: resample windows together (the right test for the same windows); False
            resamples each model's windows independently, as if they were unrelated samples.

    Raises:
        ValueError: arrays of different shapes, not 1-D, or fewer than 2 blocks.
    """
    a, b = np.asarray(errors_a, dtype=float), np.asarray(errors_b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"per-window errors must be 1-D and alike; got {a.shape} and {b.shape}")
    ua, ub = block_means(a, block), block_means(b, block)
    if len(ua) < 2:
        raise ValueError(f"{len(a)} windows in blocks of {block} leave fewer than 2 blocks")
    estimate = float(a.mean() - b.mean())
    out = {
        "estimate": estimate,
        "confidence": confidence,
        "blocks": len(ua),
        "block_windows": block,
    }
    spread = np.ptp(ua - ub) if paired else np.ptp(ua) + np.ptp(ub)
    if spread == 0:  # nothing varies between resamples: the difference is exact
        return Interval(low=estimate, high=estimate, **out)
    result = stats.bootstrap(
        (ua, ub),
        _mean_difference,
        paired=paired,
        vectorized=True,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="BCa",
        rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return Interval(low=float(low), high=float(high), **out)


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return x.mean(axis=axis) - y.mean(axis=axis)


def ablation_verdict(interval: Interval) -> str:
    """What the interval of ``MSE(LLM model) - MSE(its LLM-free ablation)`` shows."""
    if interval.high < 0:
        return "the LM helps"
    if interval.low > 0:
        return "the LM hurts"
    return "LM benefit not shown"


def baseline_verdict(interval: Interval, reference: str) -> str:
    """What the interval of ``MSE(LLM model) - MSE(best classic baseline)`` shows."""
    if interval.high < 0:
        return f"beats {reference}"
    if interval.low > 0:
        return f"loses to {reference}"
    return f"no difference from {reference} shown"


def text_verdict(interval: Interval) -> str:
    """What the interval of ``MSE(text-fused model) - MSE(its no-text twin)`` shows."""
    if interval.high < 0:
        return "text helps"
    if interval.low > 0:
        return "text hurts"
    return "text benefit not shown"


def compare_text_twins(
    errors: Mapping[str, np.ndarray],
    twins: Mapping[str, str],
    *,
    block: int,
    seed: int = 0,
) -> list[Comparison]:
    """Every text-fused model against its no-text twin, on the same windows and seeds.

    Args:
        errors: model -> per-window MSE on the test windows (mean over seeds).
        twins: fused model -> its no-text twin (pairs where either is missing are skipped:
            a run evaluated without its twin says so in its comparison's note).
        block: windows per resampled block.
        seed: seed of the resampling.
    """
    out = []
    for model, twin in twins.items():
        if model not in errors:
            continue
        if twin not in errors:
            out.append(
                Comparison(
                    model=model,
                    reference=twin,
                    kind="text",
                    interval=None,
                    verdict="text benefit not tested",
                    note="its no-text twin was not evaluated; train it beside (eval.text_twin)",
                )
            )
            continue
        interval = _interval_or_none(errors[model], errors[twin], block, seed)
        out.append(_comparison(model, twin, "text", interval))
    return out


def compare_llm_models(
    errors: Mapping[str, np.ndarray],
    mse: Mapping[str, float],
    paradigms: Mapping[str, str],
    ablations: Mapping[str, Sequence[str]],
    *,
    block: int,
    seed: int = 0,
) -> list[Comparison]:
    """Every LLM model against each of its evaluated ablations and the best classic baseline.

    Args:
        errors: model -> per-window MSE on the test windows (mean over seeds).
        mse: model -> test MSE, which picks the best classic baseline.
        paradigms: model -> catalogue paradigm.
        ablations: LLM model -> the catalogue's LLM-free ablations of it.
        block: windows per resampled block (see the module docstring).
        seed: seed of the resampling.

    Returns:
        One comparison per pair; a missing reference gives a comparison without an
        interval whose note says what to add.
    """
    baselines = [name for name in errors if paradigms[name] == "baseline"]
    best_baseline = min(baselines, key=lambda name: mse[name]) if baselines else None
    out: list[Comparison] = []
    for model in (name for name in errors if paradigms[name] in LLM_PARADIGMS):
        evaluated = [a for a in ablations.get(model, ()) if a in errors]
        if not evaluated:
            wanted = ", ".join(ablations.get(model, ())) or "none in the catalogue"
            out.append(
                Comparison(
                    model=model,
                    reference="-",
                    kind="ablation",
                    interval=None,
                    verdict="LM benefit not tested",
                    note=f"no LLM-free ablation evaluated; add one to compare ({wanted})",
                )
            )
        for reference in evaluated:
            interval = _interval_or_none(errors[model], errors[reference], block, seed)
            out.append(_comparison(model, reference, "ablation", interval))
        if best_baseline is not None:
            interval = _interval_or_none(errors[model], errors[best_baseline], block, seed)
            out.append(_comparison(model, best_baseline, "baseline", interval))
    return out


def _interval_or_none(a: np.ndarray, b: np.ndarray, block: int, seed: int) -> Interval | None:
    if len(a) // max(block, 1) < MIN_BLOCKS:
        return None
    return paired_interval(a, b, block=block, seed=seed)


def _comparison(model: str, reference: str, kind: str, interval: Interval | None) -> Comparison:
    if interval is None:
        return Comparison(
            model=model,
            reference=reference,
            kind=kind,
            interval=None,
            verdict="not tested",
            note=f"fewer than {MIN_BLOCKS} blocks of test windows; evaluate on more windows",
        )
    verdicts = {"ablation": ablation_verdict, "text": text_verdict}
    verdict = (
        verdicts[kind](interval) if kind in verdicts else baseline_verdict(interval, reference)
    )
    return Comparison(
        model=model, reference=reference, kind=kind, interval=interval, verdict=verdict
    )


def lm_helps(comparisons: Sequence[Comparison], model: str) -> str:
    """The headline for ``model``: "the LM helps" only if it beats every evaluated ablation."""
    own = [c for c in comparisons if c.model == model and c.kind == "ablation"]
    if not own or any(c.interval is None for c in own):
        return "LM benefit not tested"
    verdicts = {c.verdict for c in own}
    if verdicts == {"the LM helps"}:
        return "the LM helps"
    if "the LM hurts" in verdicts:
        return "the LM hurts"
    return "LM benefit not shown"


def describe(c: Comparison) -> str:
    """``gpt4ts - gpt4ts_wo_llm: +0.0123 MSE [95% CI -0.0031, +0.0270]: LM benefit not shown``."""
    if c.interval is None:
        return f"{c.model} vs {c.reference}: {c.verdict} ({c.note})"
    i = c.interval
    return (
        f"{c.model} - {c.reference} ({c.kind}): {i.estimate:+.4f} MSE "
        f"[{i.confidence:.0%} CI {i.low:+.4f}, {i.high:+.4f}]: {c.verdict}"
    )
