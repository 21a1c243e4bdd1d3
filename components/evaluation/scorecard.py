"""The paradigm scorecard: what each candidate costs against what it gains.

It answers the alignment survey's open question of how resource cost trades against
accuracy. Per candidate: paradigm, trainable and total parameters, training seconds per
epoch and samples/s, peak memory, inference ms per window, test MSE/MAE (mean and standard
deviation over seeds) and the paired bootstrap interval against its LLM-free ablation (and,
for a text-fused model, against its no-text twin).
Written as ``scorecard.json`` (for programs), ``scorecard.md`` (for people) and
``scorecard.png`` (cost against accuracy).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt
from pydantic import BaseModel, ConfigDict

from tsalign.components.evaluation.intervals import Comparison, describe, lm_helps
from tsalign.components.storage import write_json_atomic, write_text_atomic

JSON_FILE, MARKDOWN_FILE, PLOT_FILE = "scorecard.json", "scorecard.md", "scorecard.png"


class TrainingCost(BaseModel):
    """What training a candidate cost, averaged over its epochs and seeds."""

    model_config = ConfigDict(frozen=True)

    epoch_seconds: float
    samples_per_s: float
    peak_memory_mib: float
    memory: str  # what peak_memory_mib measures: "CUDA allocated" or "worker RSS"


class ScorecardRow(BaseModel):
    """One candidate's cost and accuracy."""

    model_config = ConfigDict(frozen=True)

    model: str
    paradigm: str
    seeds: int
    trainable_params: int
    total_params: int
    training: TrainingCost | None  # None: nothing was trained (naive baselines, frozen LM)
    inference_ms_per_window: float
    mse: float
    mse_std: float | None  # None with one seed
    mae: float
    mae_std: float | None


class Scorecard(BaseModel):
    """Every candidate's row and every LLM model's intervals, on the same test windows."""

    model_config = ConfigDict(frozen=True)

    test_windows: int
    rows: list[ScorecardRow]
    comparisons: list[Comparison]


def training_cost(curves: Sequence[Mapping[str, list[float]]]) -> TrainingCost | None:
    """Mean seconds per epoch and samples/s, peak memory, over every epoch of every seed's run.

    Args:
        curves: one training run's curves per seed (``epoch_seconds``, ``samples_per_s``,
            ``peak_cuda_mib``, ``peak_rss_mib`` per epoch).

    Returns:
        None when no run has a timed epoch (an untrained export, or a run that predates timing).
    """
    seconds = [s for c in curves for s in c.get("epoch_seconds", [])]
    if not seconds:
        return None
    cuda = max((m for c in curves for m in c.get("peak_cuda_mib", [])), default=0.0)
    rss = max((m for c in curves for m in c.get("peak_rss_mib", [])), default=0.0)
    return TrainingCost(
        epoch_seconds=statistics.fmean(seconds),
        samples_per_s=statistics.fmean(s for c in curves for s in c.get("samples_per_s", [])),
        peak_memory_mib=cuda if cuda > 0 else rss,
        memory="CUDA allocated" if cuda > 0 else "worker RSS",
    )


def write_scorecard(card: Scorecard, out_dir: Path, header: str = "") -> list[Path]:
    """Write scorecard.json, scorecard.md and scorecard.png into ``out_dir``.

    Args:
        card: the rows and intervals.
        out_dir: created if missing.
        header: settings to state above the table (seeds, windows, what differs from defaults).

    Returns:
        The three paths, json first.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / JSON_FILE
    write_json_atomic(json_path, card.model_dump(mode="json"), indent=2)
    md_path = out_dir / MARKDOWN_FILE
    write_text_atomic(md_path, render_markdown(card, header))
    return [json_path, md_path, plot_cost_vs_accuracy(card, out_dir / PLOT_FILE)]


def load_scorecard(path: Path) -> Scorecard:
    """Read a scorecard.json written by :func:`write_scorecard`."""
    return Scorecard.model_validate_json(Path(path).read_text())


def _count(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else (f"{n / 1e3:.1f}k" if n >= 1e3 else str(n))


def _mean_std(mean: float, std: float | None) -> str:
    return f"{mean:.4f}" if std is None else f"{mean:.4f} ± {std:.4f}"


def ablation_cell(card: Scorecard, model: str) -> str:
    """``+0.0123 [-0.0031, +0.0270] vs gpt4ts_wo_llm`` per ablation of ``model``, or ``-``."""
    cells = []
    for c in card.comparisons:
        if c.model == model and c.kind == "ablation" and c.interval is not None:
            i = c.interval
            cells.append(f"{i.estimate:+.4f} [{i.low:+.4f}, {i.high:+.4f}] vs {c.reference}")
    return "; ".join(cells) or "-"


def twin_cell(card: Scorecard, model: str) -> str:
    """``-0.0123 [-0.0200, -0.0050] vs dlinear_no_text: text helps`` for a text-fused model,
    or ``-``."""
    for c in card.comparisons:
        if c.model == model and c.kind == "text":
            if c.interval is None:
                return f"{c.verdict} vs {c.reference}"
            i = c.interval
            return f"{i.estimate:+.4f} [{i.low:+.4f}, {i.high:+.4f}] vs {c.reference}: {c.verdict}"
    return "-"


def table_rows(card: Scorecard) -> list[dict[str, str]]:
    """One row of strings per candidate, ranked by test MSE (for markdown, consoles, artifacts)."""
    llm_models = {c.model for c in card.comparisons if c.kind != "text"}
    with_text = any(c.kind == "text" for c in card.comparisons)
    rows = []
    for r in sorted(card.rows, key=lambda row: row.mse):
        t = r.training
        rows.append(
            {
                "model": r.model,
                "paradigm": r.paradigm,
                "seeds": str(r.seeds),
                "trainable / total params": f"{_count(r.trainable_params)} / "
                f"{_count(r.total_params)}",
                "train s/epoch": f"{t.epoch_seconds:.2f}" if t else "-",
                "samples/s": f"{t.samples_per_s:.0f}" if t else "-",
                "peak memory MiB": f"{t.peak_memory_mib:.0f} ({t.memory})" if t else "-",
                "inference ms/window": f"{r.inference_ms_per_window:.3f}",
                "test MSE": _mean_std(r.mse, r.mse_std),
                "test MAE": _mean_std(r.mae, r.mae_std),
                "ΔMSE vs ablation [95% CI]": ablation_cell(card, r.model),
                "verdict": lm_helps(card.comparisons, r.model) if r.model in llm_models else "-",
            }
        )
        if with_text:
            rows[-1]["ΔMSE vs no-text twin [95% CI]"] = twin_cell(card, r.model)
    return rows


def render_markdown(card: Scorecard, header: str = "") -> str:
    """The scorecard table, then one line per interval."""
    rows = table_rows(card)
    columns = list(rows[0]) if rows else []
    lines = [f"# Paradigm scorecard ({card.test_windows} test windows)", ""]
    if header:
        lines += [header, ""]
    lines += [
        "MSE/MAE on the standardised scale, mean ± standard deviation over seeds. ΔMSE is "
        "MSE(model) - MSE(reference): negative = the model is better. Intervals: paired block "
        "bootstrap over the test windows (BCa).",
        "",
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
        *("| " + " | ".join(row.values()) + " |" for row in rows),
        "",
        "## Intervals",
        "",
        *(f"- {describe(c)}" for c in card.comparisons),
    ]
    if not card.comparisons:
        lines.append("- no LLM model was evaluated, so there is nothing to compare")
    return "\n".join(lines) + "\n"


def plot_cost_vs_accuracy(card: Scorecard, path: Path) -> Path:
    """Test MSE (± std over seeds) against trainable parameters and training seconds per epoch.

    Models with nothing trained are drawn as horizontal reference lines.
    """
    trained = [r for r in card.rows if r.training is not None and r.trainable_params > 0]
    fixed = [r for r in card.rows if r not in trained]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    costs: list[tuple[str, Any]] = [
        ("trainable parameters", lambda r: r.trainable_params),
        ("training seconds per epoch", lambda r: r.training.epoch_seconds),
    ]
    for ax, (label, cost) in zip(axes, costs, strict=True):
        for r in trained:
            ax.errorbar(cost(r), r.mse, yerr=r.mse_std or 0, fmt="o", capsize=3, label=r.model)
            ax.annotate(
                r.model, (cost(r), r.mse), textcoords="offset points", xytext=(4, 4), fontsize=7
            )
        for r in fixed:
            ax.axhline(r.mse, ls="--", lw=1, color="grey")
            ax.annotate(
                r.model,
                (0.01, r.mse),
                xycoords=("axes fraction", "data"),
                fontsize=7,
                color="grey",
                va="bottom",
            )
        if trained:
            ax.set_xscale("log")
        ax.set_xlabel(label)
    axes[0].set_ylabel("test MSE (standardised; bars: ± std over seeds)")
    fig.suptitle(f"Cost against accuracy, {card.test_windows} test windows")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
