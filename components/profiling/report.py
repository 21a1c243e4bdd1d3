"""Human-readable outputs of a profile: report.md, PNG plots and a rich terminal summary.

Plots use matplotlib's object API on an Agg canvas (``Figure`` + ``FigureCanvasAgg``):
no pyplot, no global backend switch, safe in worker threads and headless CI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import signal
from statsmodels.tsa.seasonal import STL
from statsmodels.tsa.stattools import acf

from tsalign.components.data.meta import TIMESTAMP
from tsalign.components.profiling.characteristic import block_mean, stl_block
from tsalign.components.profiling.schema import Profile

_PLOT_POINTS = 5000  # points drawn per line: more only slows PNG rendering


# -------------------------------------------------------------------------- markdown


def render_markdown(profile: Profile, plot_names: list[str]) -> str:
    """The report.md text: summary, one table per primitive, the recommendation, plots.

    Args:
        profile: the profile.
        plot_names: plot file names relative to the report (plots/<name>.png).

    Returns:
        Markdown text.
    """
    lines = [f"# Profile of `{profile.dataset}`", ""]
    lines += _table(["field", "value"], [list(r) for r in profile.summary_rows()])

    dom = profile.domain
    lines += ["", "## Domain", "", f"> {dom.domain_context}", ""]
    lines.append(
        f"Domain knowledge score: **{dom.knowledge_score:.2f}** "
        + "("
        + ", ".join(f"{k} {v:.2f}" for k, v in dom.knowledge_breakdown.items())
        + ")"
    )
    lines.append("")
    cov = dom.text_coverage
    if cov is not None:
        lines.append(
            f"Time-stamped text: {cov.texts} texts from {', '.join(cov.sources)} "
            f"({cov.start[:10]} to {cov.end[:10]}); {cov.share_with_text:.0%} of "
            f"{cov.windows} input windows of {cov.window_steps} steps see a text that ended "
            f"before their forecast, {cov.texts_per_window_mean:.1f} per window on average "
            f"(median {cov.texts_per_window_median:g}, max {cov.texts_per_window_max})."
        )
        lines.append("")
    lines += _table(
        ["channel", "role", "unit", "meaning"],
        [[c.name, c.role, c.unit or "—", c.meaning or ""] for c in dom.channels],
    )

    ch = profile.characteristic
    lines += ["", "## Characteristic", ""]
    rows = []
    for c in ch.channels.values():
        periods = (
            ", ".join(f"{p.period} ({p.acf:.2f}, {p.power_share:.1%})" for p in c.periods) or "—"
        )
        rows.append(
            [
                c.channel,
                periods,
                _f(c.trend_strength),
                _f(c.seasonal_strength),
                _f(c.adf_pvalue),
                _f(c.kpss_pvalue),
                c.stationarity or "—",
                _f(c.volatility),
                _f(c.arch_lm_pvalue),
                str(len(c.change_points)),
                _f(c.outlier_share),
                _f(c.spectral_entropy),
            ]
        )
    lines += _table(
        [
            "channel",
            "periods (acf, power)",
            "F_T",
            "F_S",
            "ADF p",
            "KPSS p",
            "stationarity",
            "volatility",
            "ARCH p",
            "change pts",
            "outliers",
            "spectral H",
        ],
        rows,
    )
    lines += ["", "ACF at key lags:", ""]
    lines += _table(
        ["channel", "lags"],
        [
            [c.channel, ", ".join(f"{k}: {v:+.2f}" for k, v in c.acf_lags.items()) or "—"]
            for c in ch.channels.values()
        ],
    )
    if ch.pairs:
        lines += ["", "Cross-channel correlation (strongest first):", ""]
        lines += _table(
            ["a", "b", "pearson", "spearman"],
            [[p.a, p.b, f"{p.pearson:+.3f}", f"{p.spearman:+.3f}"] for p in ch.pairs[:15]],
        )
    lines += _not_computable(
        [(c.channel, c.not_computable) for c in ch.channels.values()]
        + [("(all)", ch.not_computable)]
    )

    rep = profile.representation
    lines += ["", "## Representation", ""]
    interval = "n/a" if rep.sampling_interval_s is None else f"{rep.sampling_interval_s:g} s"
    lines += _table(
        ["field", "value"],
        [
            [
                "shape",
                f"{'univariate' if rep.univariate else 'multivariate'}, {rep.length} x {rep.n_channels}",
            ],
            ["freq / interval", f"{rep.freq} / {interval}"],
            ["regularity", _f(rep.regularity)],
            ["missing share", f"{rep.missing_share:.4%}"],
            ["patch (len, stride)", f"{rep.patch_len}, {rep.stride}: {rep.patch_reason}"],
        ],
    )
    lines.append("")
    lines += _table(
        [
            "channel",
            "dtype",
            "missing",
            "longest gap",
            "min",
            "max",
            "dyn. range dB",
            "decimals",
            "sig. digits",
        ],
        [
            [
                c.channel,
                c.dtype,
                f"{c.missing_share:.2%}",
                str(c.longest_gap),
                _f(c.min),
                _f(c.max),
                _f(c.dynamic_range_db),
                _f(c.decimals),
                _f(c.significant_digits),
            ]
            for c in rep.channels.values()
        ],
    )
    if rep.tokens is not None:
        t = rep.tokens
        lines += [
            "",
            f"Prompt cost with tokenizer `{t.tokenizer}`: {t.tokens_per_value:.2f} tokens per value "
            f"(format `{t.value_format}`), {t.window_tokens} tokens for {t.input_len} steps x "
            f"{t.channels} target(s) + {t.context_tokens} context = **{t.prompt_tokens}** "
            f"(limit {t.model_max_length}; fits: {t.fits_context}).",
        ]
    lines += _not_computable(
        [(c.channel, c.not_computable) for c in rep.channels.values()]
        + [("(all)", rep.not_computable)]
    )

    rec = profile.recommendation
    lines += [
        "",
        "## Recommended paradigm",
        "",
        f"**{rec.paradigm}** — scores: "
        + ", ".join(f"{k} {v:+.2f}" for k, v in rec.scores.items()),
        "",
    ]
    lines += _table(
        ["paradigm", "points", "rule", "reason"],
        [[r.paradigm, f"{r.points:+.2f}", r.rule, r.text] for r in rec.reasons],
    )
    lines += ["", "Resources:", ""]
    lines += _table(
        ["paradigm", "models", "trainable", "hardware", "notes"],
        [
            [k, ", ".join(v.models), v.trainable, v.hardware, v.notes]
            for k, v in rec.resources.items()
        ],
    )
    lines += [""] + [f"- {c}" for c in rec.caveats]

    if plot_names:
        lines += ["", "## Plots", ""]
        lines += [f"![{Path(n).stem}]({n})" for n in plot_names]
    lines += [
        "",
        f"_schema v{profile.schema_version}, {profile.created_at}, {profile.elapsed_s:.2f} s_",
        "",
    ]
    return "\n".join(lines)


def _f(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def _not_computable(items: list[tuple[str, dict[str, str]]]) -> list[str]:
    rows = [[name, field, reason] for name, reasons in items for field, reason in reasons.items()]
    if not rows:
        return []
    return ["", "Not computable:", "", *_table(["channel", "field", "because"], rows)]


# ----------------------------------------------------------------------------- plots


def write_plots(profile: Profile, frame: pd.DataFrame, plot_dir: Path) -> list[Path]:
    """Series overview, STL decomposition, ACF and periodogram of the first target.

    Args:
        profile: the profile (periods choose the STL period and ACF range).
        frame: the analysed (capped) canonical frame.
        plot_dir: directory to write PNGs into (exists).

    Returns:
        Paths of the PNGs written.
    """
    written = [_overview(profile, frame, plot_dir / "series.png")]
    target = next(
        (
            t
            for t in profile.targets
            if profile.characteristic.channels.get(t)
            and profile.characteristic.channels[t].points >= 16
        ),
        None,
    )
    if target is None:
        return written
    x = frame[target].to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(x)
    x = np.interp(np.arange(len(x)), np.flatnonzero(finite), x[finite])
    info = profile.characteristic.channels[target]
    if info.dominant_period is not None:
        path = _stl_plot(target, x, info.dominant_period, profile, plot_dir / "stl.png")
        if path is not None:
            written.append(path)
    written.append(_acf_plot(target, x, info, profile, plot_dir / "acf.png"))
    written.append(_periodogram_plot(target, x, info, plot_dir / "periodogram.png"))
    return written


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=90)
    return path


def _overview(profile: Profile, frame: pd.DataFrame, path: Path) -> Path:
    channels = [
        c for c in profile.characteristic.channels if pd.api.types.is_numeric_dtype(frame[c])
    ][:8]
    fig = Figure(figsize=(11, 1.6 * max(1, len(channels)) + 0.6), layout="constrained")
    axes = fig.subplots(max(1, len(channels)), 1, sharex=True, squeeze=False)[:, 0]
    step = max(1, len(frame) // _PLOT_POINTS)
    stamps = pd.to_datetime(frame[TIMESTAMP]).iloc[::step] if TIMESTAMP in frame else None
    for ax, name in zip(axes, channels, strict=False):
        values = frame[name].iloc[::step].to_numpy(dtype=float, na_value=np.nan)
        ax.plot(stamps if stamps is not None else np.arange(len(values)), values, lw=0.6)
        ax.set_ylabel(name, fontsize=8)
    axes[0].set_title(f"{profile.dataset}: last {len(frame)} steps (every {step}th point drawn)")
    return _save(fig, path)


def _stl_plot(name: str, x: np.ndarray, period: int, profile: Profile, path: Path) -> Path | None:
    cfg_points = int(profile.config.get("stl_max_points", 5000))
    block, stl_period = stl_block(period, int(profile.config.get("stl_max_period", 96)))
    y = block_mean(x[-cfg_points * block :], block)
    if len(y) < 2 * stl_period + 1:
        return None
    fit = STL(y, period=stl_period).fit()
    fig = Figure(figsize=(11, 7), layout="constrained")
    axes = fig.subplots(4, 1, sharex=True)
    for ax, series, label in zip(
        axes,
        (y, fit.trend, fit.seasonal, fit.resid),
        ("observed", "trend", "seasonal", "remainder"),
        strict=True,
    ):
        ax.plot(series, lw=0.6)
        ax.set_ylabel(label, fontsize=8)
    axes[0].set_title(
        f"STL of {name}: period {period}" + (f" (blocks of {block})" if block > 1 else "")
    )
    axes[-1].set_xlabel("step" + (f" (x{block})" if block > 1 else ""))
    return _save(fig, path)


def _acf_plot(name: str, x: np.ndarray, info: Any, profile: Profile, path: Path) -> Path:
    longest = max([p.period for p in info.periods] or [48])
    nlags = int(min(len(x) - 1, max(2.2 * longest, 50)))
    values = acf(x - np.mean(x), nlags=nlags, fft=True)
    fig = Figure(figsize=(11, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.vlines(np.arange(len(values)), 0, values, lw=0.7)
    for cand in info.periods:
        ax.axvline(cand.period, color="tab:red", ls="--", lw=0.8)
        ax.annotate(str(cand.period), (cand.period, 0.95), color="tab:red", fontsize=8)
    ax.set_ylim(-1, 1.05)
    ax.set_title(f"ACF of {name} (dashed: period candidates)")
    ax.set_xlabel("lag (steps)")
    return _save(fig, path)


def _periodogram_plot(name: str, x: np.ndarray, info: Any, path: Path) -> Path:
    freqs, power = signal.periodogram(x - np.mean(x), window="hann", detrend="linear")
    keep = freqs > 0
    fig = Figure(figsize=(11, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.loglog(1.0 / freqs[keep], power[keep], lw=0.5)
    for cand in info.periods:
        ax.axvline(cand.period, color="tab:red", ls="--", lw=0.8)
    ax.invert_xaxis()
    ax.set_title(f"Periodogram of {name} (dashed: period candidates)")
    ax.set_xlabel("period (steps)")
    return _save(fig, path)


# --------------------------------------------------------------------------- terminal


def print_profile(profile: Profile, console: Any) -> None:
    """Print the ``tsalign profile`` summary: a rich table plus the top reasons.

    Args:
        profile: the profile.
        console: a ``rich.console.Console``.
    """
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"profile: {profile.dataset}", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    for field, value in profile.summary_rows():
        table.add_row(field, value)
    console.print(table)
    rec = profile.recommendation
    top = sorted((r for r in rec.reasons if r.paradigm == rec.paradigm), key=lambda r: -r.points)[
        :3
    ]
    for reason in top:
        console.print(
            Text.assemble(
                "  ", (f"{reason.points:+.1f}", "green"), f" {reason.paradigm}: {reason.text}"
            )
        )
