"""Promotion gates: when a new version may take the ``champion`` alias.

A pure function so that the rule is tested on numbers alone and the pipeline only sequences:
publish always, then move the alias only if :func:`should_promote` says so (and log why not).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from tsalign.components.config import SelectMode

GATE_BASELINE = "seasonal_naive"
"""The baseline every promoted (and every best_val-selected) candidate must beat on test."""


def _value(metrics: Mapping[str, float], key: str, who: str) -> float:
    if key not in metrics:
        raise ValueError(
            f"{who} metrics have no {key!r} (have: {', '.join(sorted(metrics)) or 'none'}); "
            "set registry.val_metric / registry.test_metric to metrics the evaluation reports"
        )
    return float(metrics[key])


def should_promote(
    candidate_metrics: Mapping[str, float],
    champion_metrics: Mapping[str, float] | None,
    baseline_metrics: Mapping[str, float],
    *,
    val_metric: str = "val_loss",
    test_metric: str = "mse",
    baseline_label: str = "seasonal-naive",
) -> tuple[bool, str]:
    """Decide whether a candidate replaces the champion. Lower metric values are better.

    The candidate must (1) beat the seasonal-naive baseline on the test metric — an aligned LM
    that loses to repeating last season is not worth serving (Tan et al., NeurIPS 2024) — and
    (2) beat the current champion on the validation metric. Test data never decides between two
    candidates, so the test split stays an honest estimate. Ties do not promote.

    Args:
        candidate_metrics: flat ``{metric: value}`` of the new version (validation and test).
        champion_metrics: the same for the current champion; ``None`` when there is none.
        baseline_metrics: the task's gate baseline's metrics on the same test data
            (seasonal naive for forecasting, the classic classifier for classification).
        val_metric: key compared against the champion.
        test_metric: key compared against the baseline (lower is better: ``mse``,
            ``error_rate``...).
        baseline_label: how the reasons name the baseline.

    Returns:
        ``(promote, reason)``; the reason quotes the numbers either way.

    Raises:
        ValueError: the candidate or baseline lacks a metric (a configuration mistake).
    """
    cand_test = _value(candidate_metrics, test_metric, "candidate")
    base_test = _value(baseline_metrics, test_metric, f"{baseline_label} baseline")
    cand_val = _value(candidate_metrics, val_metric, "candidate")
    if not (math.isfinite(cand_test) and math.isfinite(cand_val)):
        return False, f"candidate {val_metric}={cand_val} / {test_metric}={cand_test} is not finite"
    if not cand_test < base_test:
        return False, (
            f"does not beat {baseline_label} on test {test_metric}: "
            f"{cand_test:.6g} >= {base_test:.6g}"
        )
    beats_base = f"beats {baseline_label} on test {test_metric} ({cand_test:.6g} < {base_test:.6g})"
    if champion_metrics is None:
        return True, f"no current champion; {beats_base}"
    if val_metric not in champion_metrics or not math.isfinite(float(champion_metrics[val_metric])):
        return False, (
            f"the champion has no finite {val_metric!r} to compare with; promote by hand "
            "(`tsalign registry promote NAME:VERSION champion`) if the candidate is better"
        )
    champ_val = float(champion_metrics[val_metric])
    if not cand_val < champ_val:
        return (
            False,
            f"does not beat the champion on {val_metric}: {cand_val:.6g} >= {champ_val:.6g}",
        )
    return (
        True,
        f"beats the champion on {val_metric} ({cand_val:.6g} < {champ_val:.6g}) and {beats_base}",
    )


class ChampionNotComparable(ValueError):
    """The champion cannot be scored on this run's validation windows; the message says why."""


@dataclass(frozen=True)
class Selection:
    """Which trained candidate a run publishes, and why (the reason quotes the numbers)."""

    name: str
    reason: str


def _baseline_problem(
    test: Mapping[str, float], baseline: Mapping[str, float] | None, test_metric: str, label: str
) -> str | None:
    """Why a candidate fails the baseline floor on test, or None when it passes."""
    if baseline is None:
        return None
    cand, base = float(test[test_metric]), float(baseline[test_metric])
    if not math.isfinite(cand) or not cand < base:
        return f"test {test_metric} {cand:.6g} does not beat {label}'s {base:.6g}"
    return None


def select_candidate(
    validation: Mapping[str, float],
    test: Mapping[str, Mapping[str, float]],
    baseline: Mapping[str, float] | None,
    *,
    mode: SelectMode,
    primary: str,
    test_metric: str = "mse",
    baseline_label: str = "seasonal-naive",
) -> Selection:
    """Pick the trained candidate to publish.

    ``model`` publishes ``primary`` (``model.name``). ``best_val`` publishes the candidate
    with the lowest validation loss among those that pass the seasonal-naive gate; test
    scores only decide that pass/fail floor, never the ranking, so the test split stays an
    honest estimate of the published model. When none passes, the best on validation is
    published (the gate then keeps the alias where it is).

    Args:
        validation: candidate -> validation loss, all on the same windows and scale.
        test: candidate -> test metrics (only ``test_metric`` is read).
        baseline: the gate baseline's test metrics; None when it was not evaluated.
        mode: ``publish.select``.
        primary: ``model.name``, the first candidate.
        test_metric: the metric of the baseline gate (lower is better).
        baseline_label: how the reasons name the baseline.
    """
    if mode == "model":
        return Selection(primary, f"publish.select=model: publishing model.name ({primary})")
    finite = {n: v for n, v in validation.items() if math.isfinite(v)}
    failing = {
        n: p
        for n in finite
        if (p := _baseline_problem(test[n], baseline, test_metric, baseline_label))
    }
    pool = {n: v for n, v in finite.items() if n not in failing} or finite
    if not pool:
        return Selection(
            primary, f"no candidate has a finite validation loss; publishing {primary}"
        )
    ranked = sorted(pool, key=lambda n: pool[n])
    best = ranked[0]
    if len(ranked) == 1:
        reason = f"best_val: {best} (val_loss {pool[best]:.6g}) is the only eligible candidate"
    else:
        runner_up = ranked[1]
        gap = pool[runner_up] - pool[best]
        share = f" ({gap / pool[runner_up]:.1%})" if pool[runner_up] > 0 else ""
        reason = (
            f"best_val: {best} won on validation (val_loss {pool[best]:.6g}) over {runner_up} "
            f"({pool[runner_up]:.6g}) by {gap:.6g}{share}"
        )
    if failing and len(failing) == len(finite):
        reason += f"; no candidate beats {baseline_label} on test, so none will be promoted"
    elif failing:
        reason += "; not eligible: " + "; ".join(f"{n} ({p})" for n, p in failing.items())
    return Selection(best, reason)
