"""The leaderboard: LLM paradigms, their LLM-free ablations and baselines side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tsalign.components.evaluation.intervals import Comparison

LLM_PARADIGMS = ("injective", "bridging", "internal")


def paradigm_of(name: str) -> str:
    """The catalogue's paradigm of ``name`` (internal, bridging, ablation, baseline...)."""
    from tsalign.components.models import get_entry

    return get_entry(name).paradigm


def recommended_won(
    metrics: Mapping[str, Mapping[str, float]],
    paradigms: Mapping[str, str],
    recommended: str | None,
    metric: str = "mse",
) -> bool | None:
    """Did a model of the recommended paradigm score best of ALL models on ``metric``?

    None when no paradigm was recommended or no model of it was evaluated, so the
    audit never counts an untested recommendation either way.
    """
    if recommended is None or recommended not in paradigms.values():
        return None
    best = min(metrics, key=lambda name: metrics[name][metric])
    return paradigms[best] == recommended


def _with_std(value: float, std: float | None, digits: int) -> str:
    return f"{value:.{digits}f}" if std is None else f"{value:.{digits}f} ± {std:.{digits}f}"


def unevaluated_reason(recommended: str | None, skipped: Mapping[str, str]) -> str:
    """Why no model of the recommended paradigm was evaluated.

    Args:
        recommended: the profile's recommended paradigm, None without a profile.
        skipped: models ``compare: auto`` chose but could not build or train -> why.
    """
    if recommended is None:
        return "no paradigm was recommended (the run has no profile)"
    if skipped:
        return "; ".join(f"{name} {why}" for name, why in skipped.items())
    return (
        f"no {recommended} model was trained; add `auto` to compare to train its "
        "representative and that model's LLM-free ablation beside model.name"
    )


def render_leaderboard(
    metrics: Mapping[str, Mapping[str, float]],
    paradigms: Mapping[str, str],
    candidate: str,
    recommended: str | None,
    won: bool | None,
    windows: int,
    *,
    validation: Mapping[str, float] | None = None,
    selection_reason: str = "",
    std: Mapping[str, Mapping[str, float]] | None = None,
    comparisons: Sequence[Comparison] = (),
    skipped: Mapping[str, str] | None = None,
    windows_without_text: int | None = None,
) -> str:
    """Markdown table ranked by standardised test MSE (mean ± std over seeds), with the
    validation losses, the choice and the intervals.

    Args:
        validation: per model, the validation loss on the same windows.
        selection_reason: why the published candidate was chosen.
        std: per model, the standard deviation over seeds of each metric (absent: one seed).
        comparisons: the LLM models' bootstrap intervals against their references; a
            model is said to be helped by its LM only when its intervals exclude 0. Those of
            kind ``text`` (a fused model against its no-text twin) get their own section.
        windows_without_text: with data.text, the test windows that see no text.
    """
    from tsalign.components.evaluation.intervals import describe, lm_helps

    std = std or {}
    lines = [
        f"# Leaderboard ({windows} test windows)",
        "",
        "MSE and MAE on the standardised scale (mean ± std over seeds where trained under "
        "several); MAE, sMAPE and MASE in original units.",
        "",
        "| rank | model | paradigm | MSE | MAE | MAE (orig) | sMAPE % | MASE |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    ranked = sorted(metrics, key=lambda name: metrics[name]["mse"])
    for rank, name in enumerate(ranked, start=1):
        m, s = metrics[name], std.get(name, {})
        label = f"**{name}** (published)" if name == candidate else name
        lines.append(
            f"| {rank} | {label} | {paradigms[name]} | {_with_std(m['mse'], s.get('mse'), 4)} | "
            f"{_with_std(m['mae'], s.get('mae'), 4)} | {m['mae_orig']:.4g} | {m['smape']:.2f} | "
            f"{m['mase']:.3f} |"
        )
    verdict = {True: "won", False: "did not win"}.get(won) or (
        f"was not evaluated: {unevaluated_reason(recommended, skipped or {})}"
    )
    lines += ["", f"Recommended paradigm: **{recommended or 'none'}** — {verdict}."]
    if validation:
        scores = ", ".join(f"{name} {value:.4f}" for name, value in validation.items())
        lines += ["", f"Validation loss (standardised MSE, same windows): {scores}."]
    if selection_reason:
        lines += ["", f"Published: **{candidate}** — {selection_reason}."]
    lm = [c for c in comparisons if c.kind != "text"]
    if lm:
        lines += ["", "## Does the LM help? (95% paired bootstrap intervals of ΔMSE)", ""]
        for model in dict.fromkeys(c.model for c in lm):
            lines.append(f"- **{model}: {lm_helps(lm, model)}**")
            lines += [f"  - {describe(c)}" for c in lm if c.model == model]
    text = [c for c in comparisons if c.kind == "text"]
    if text or windows_without_text is not None:
        lines += ["", "## Does text help? (fused model - its no-text twin, same windows and seeds)"]
        lines += [""] + [f"- {describe(c)}" for c in text]
    if windows_without_text is not None:
        lines += [
            "",
            f"{windows_without_text} of {windows} test windows see no text (a fused model "
            "forecasts those as its no-text twin does).",
        ]
    return "\n".join(lines) + "\n"
