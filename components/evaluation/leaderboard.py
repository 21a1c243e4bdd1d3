"""The leaderboard: LLM paradigms, their LLM-free ablations and baselines side by side."""

from __future__ import annotations

from collections.abc import Mapping

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
) -> str:
    """Markdown table ranked by standardised test MSE, with the validation losses and choice."""
    lines = [
        f"# Leaderboard ({windows} test windows)",
        "",
        "MSE and MAE on the standardised scale; MAE, sMAPE and MASE in original units.",
        "",
        "| rank | model | paradigm | MSE | MAE | MAE (orig) | sMAPE % | MASE |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    ranked = sorted(metrics, key=lambda name: metrics[name]["mse"])
    for rank, name in enumerate(ranked, start=1):
        m = metrics[name]
        label = f"**{name}** (published)" if name == candidate else name
        lines.append(
            f"| {rank} | {label} | {paradigms[name]} | {m['mse']:.4f} | {m['mae']:.4f} | "
            f"{m['mae_orig']:.4g} | {m['smape']:.2f} | {m['mase']:.3f} |"
        )
    verdict = {True: "won", False: "did not win", None: "was not evaluated"}[won]
    lines += ["", f"Recommended paradigm: **{recommended or 'none'}** — {verdict}."]
    if validation:
        scores = ", ".join(f"{name} {value:.4f}" for name, value in validation.items())
        lines += ["", f"Validation loss (standardised MSE, same windows): {scores}."]
    if selection_reason:
        lines += ["", f"Published: **{candidate}** — {selection_reason}."]
    return "\n".join(lines) + "\n"
