"""Promotion gates: when a new version may take the ``champion`` alias.

A pure function so that the rule is tested on numbers alone and the pipeline only sequences:
publish always, then move the alias only if :func:`should_promote` says so (and log why not).
"""

from __future__ import annotations

import math
from collections.abc import Mapping


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
) -> tuple[bool, str]:
    """Decide whether a candidate replaces the champion. Lower metric values are better.

    The candidate must (1) beat the seasonal-naive baseline on the test metric — an aligned LM
    that loses to repeating last season is not worth serving (Tan et al., NeurIPS 2024) — and
    (2) beat the current champion on the validation metric. Test data never decides between two
    candidates, so the test split stays an honest estimate. Ties do not promote.

    Args:
        candidate_metrics: flat ``{metric: value}`` of the new version (validation and test).
        champion_metrics: the same for the current champion; ``None`` when there is none.
        baseline_metrics: seasonal-naive metrics on the same test windows.
        val_metric: key compared against the champion.
        test_metric: key compared against the baseline.

    Returns:
        ``(promote, reason)``; the reason quotes the numbers either way.

    Raises:
        ValueError: the candidate or baseline lacks a metric (a configuration mistake).
    """
    cand_test = _value(candidate_metrics, test_metric, "candidate")
    base_test = _value(baseline_metrics, test_metric, "seasonal-naive baseline")
    cand_val = _value(candidate_metrics, val_metric, "candidate")
    if not (math.isfinite(cand_test) and math.isfinite(cand_val)):
        return False, f"candidate {val_metric}={cand_val} / {test_metric}={cand_test} is not finite"
    if not cand_test < base_test:
        return False, (
            f"does not beat seasonal-naive on test {test_metric}: {cand_test:.6g} >= {base_test:.6g}"
        )
    beats_base = f"beats seasonal-naive on test {test_metric} ({cand_test:.6g} < {base_test:.6g})"
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
