"""Profiles of the classification and anomaly data kinds: a small profile per panel / corpus.

- A labelled panel (task: classify): class balance per split, instance lengths (as read
  and after padding/truncation), and per class and channel the mean, spread and lag-1
  autocorrelation over observed steps, plus how strongly each channel's instance means
  separate the classes (one-way ANOVA F). Characteristics use the train split only.
- An anomaly corpus (task: anomaly): per series its length, windows, anomalous share
  and the value statistics of NAB's probationary period (the first 15%, the only rows a
  detector may fit on).

Each writes ``profile.json`` and ``report.md`` under ``out_dir`` and returns a ProfileRef.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from scipy.stats import f_oneway

from tsalign.components.data.anomaly import PROBATION_PERCENT, probationary_rows
from tsalign.components.data.anomaly_ingest import load_anomaly_meta
from tsalign.components.data.panel import Panel, load_panel, load_panel_meta
from tsalign.components.refs import DatasetRef, ProfileRef


def _lag1(x: np.ndarray) -> float:
    x = x - x.mean()
    denom = float((x * x).sum())
    return float((x[1:] * x[:-1]).sum() / denom) if denom > 0 and len(x) > 2 else float("nan")


def _class_characteristics(panel: Panel) -> dict[str, dict[str, dict[str, float]]]:
    train = panel.splits == "train"
    out: dict[str, dict[str, dict[str, float]]] = {}
    for label in sorted(set(panel.labels[train])):
        rows = np.flatnonzero(train & (panel.labels == label))
        per_channel = {}
        for j, channel in enumerate(panel.channels):
            series = [panel.values[i, panel.observed[i], j] for i in rows]  # [observed steps]
            flat = np.concatenate(series)
            per_channel[channel] = {
                "mean": float(flat.mean()),
                "std": float(flat.std()),
                "lag1_autocorrelation": float(np.nanmean([_lag1(s) for s in series])),
            }
        out[label] = per_channel
    return out


def _separability(panel: Panel) -> dict[str, float]:
    """ANOVA F of each channel's per-instance means across the train classes (higher: easier)."""
    train = panel.splits == "train"
    counts = panel.observed[train].sum(axis=1)[:, None]  # [instances, 1]
    means = (panel.values[train] * panel.observed[train][..., None]).sum(axis=1) / counts
    labels = panel.labels[train]
    groups = [means[labels == c] for c in sorted(set(labels))]
    return {
        channel: float(f_oneway(*[g[:, j] for g in groups]).statistic)
        for j, channel in enumerate(panel.channels)
    }


def panel_profile(dataset: DatasetRef) -> dict[str, Any]:
    """The profile of a canonical panel as a JSON-able dict."""
    meta = load_panel_meta(dataset.meta_path)
    panel = load_panel(dataset.path)
    train_counts = meta.class_counts["train"]
    observed = panel.observed.sum(axis=1)
    return {
        "kind": "panel",
        "dataset": dataset.name,
        "data_md5": dataset.md5,
        "channels": meta.channels,
        "classes": meta.classes,
        "instances": meta.instances,
        "class_balance": meta.class_counts,
        "imbalance_ratio": max(train_counts.values()) / max(1, min(train_counts.values())),
        "lengths": {
            **meta.lengths,
            "observed_median_by_class": {
                c: float(np.median(observed[panel.labels == c])) for c in meta.classes
            },
        },
        "per_class": _class_characteristics(panel),
        "separability_f": _separability(panel),
    }


def anomaly_profile(dataset: DatasetRef) -> dict[str, Any]:
    """The profile of a canonical anomaly corpus as a JSON-able dict."""
    meta = load_anomaly_meta(dataset.meta_path)
    frame = pq.read_table(dataset.path, columns=["series", "value"]).to_pandas()
    series: dict[str, Any] = {}
    for name, group in frame.groupby("series", sort=True):
        summary = meta.series[str(name)]
        probation = group["value"].to_numpy()[: max(1, probationary_rows(len(group)))]
        series[str(name)] = {
            **summary.model_dump(),
            "anomalous_share": summary.anomalous_rows / summary.rows,
            "probation_rows": len(probation),
            "probation_mean": float(probation.mean()),
            "probation_std": float(probation.std()),
            "probation_lag1_autocorrelation": _lag1(probation),
        }
    windows = sum(s.windows for s in meta.series.values())
    return {
        "kind": "anomaly",
        "dataset": dataset.name,
        "data_md5": dataset.md5,
        "series_count": len(series),
        "rows": meta.rows,
        "windows": windows,
        "anomalous_share": sum(s.anomalous_rows for s in meta.series.values()) / meta.rows,
        "probation": PROBATION_PERCENT,
        "series": series,
    }


def headline(profile: dict[str, Any]) -> str:
    """One line on a panel or anomaly corpus profile (the run summary's profile row)."""
    if profile["kind"] == "panel":
        lengths, splits = profile["lengths"], profile["instances"]
        per_split = ", ".join(
            f"{split} {splits.get(split, 0)}" for split in ("train", "val", "test")
        )
        return (
            f"{sum(splits.values())} instances ({per_split}), {len(profile['classes'])} classes, "
            f"{len(profile['channels'])} channels, lengths {lengths['min']}..{lengths['max']}, "
            f"train imbalance {profile['imbalance_ratio']:.2f}"
        )
    return (
        f"{profile['series_count']} series, {profile['rows']} rows, {profile['windows']} "
        f"anomaly windows, anomalous share {profile['anomalous_share']:.3f}"
    )


def _report(profile: dict[str, Any]) -> str:
    lines = [f"# Profile of {profile['dataset']} ({profile['kind']})", ""]
    if profile["kind"] == "panel":
        lines += [
            f"- instances: {profile['instances']}",
            f"- classes: {len(profile['classes'])}; train imbalance ratio (largest/smallest) "
            f"{profile['imbalance_ratio']:.2f}",
            f"- lengths: {profile['lengths']['min']}..{profile['lengths']['max']} steps "
            f"(median {profile['lengths']['median']}), policy {profile['lengths']['policy']} to "
            f"{profile['lengths']['target']}: {profile['lengths']['padded']} padded, "
            f"{profile['lengths']['truncated']} truncated",
            "",
            "| class | train | val | test |",
            "|---|---|---|---|",
        ]
        balance = profile["class_balance"]
        for c in profile["classes"]:
            lines.append(
                f"| {c} | {balance['train'].get(c, 0)} | {balance['val'].get(c, 0)} | "
                f"{balance['test'].get(c, 0)} |"
            )
        best = sorted(profile["separability_f"].items(), key=lambda kv: -kv[1])[:3]
        lines += ["", "Channels separating the classes best (ANOVA F of instance means): "]
        lines += [f"- {channel}: F = {f:.1f}" for channel, f in best]
    else:
        lines += [
            f"- series: {profile['series_count']}, rows: {profile['rows']}, windows: "
            f"{profile['windows']}, anomalous share {profile['anomalous_share']:.3f}",
            f"- probationary period: the first {profile['probation']:.0%} of each series",
            "",
            "| series | rows | windows | anomalous share |",
            "|---|---|---|---|",
        ]
        for name, s in profile["series"].items():
            lines.append(f"| {name} | {s['rows']} | {s['windows']} | {s['anomalous_share']:.3f} |")
    return "\n".join(lines) + "\n"


def profile_task_data(
    task: str, dataset: DatasetRef, out_dir: Path, context: str = ""
) -> ProfileRef:
    """Profile a panel (``classify``) or an anomaly corpus (``anomaly``) into ``out_dir``.

    Args:
        task: ``classify`` or ``anomaly``.
        dataset: the ingested dataset version.
        out_dir: where profile.json and report.md go (created).
        context: the data description, kept as the profile's domain text.

    Returns:
        The reference to the written profile.
    """
    profile = panel_profile(dataset) if task == "classify" else anomaly_profile(dataset)
    out_dir.mkdir(parents=True, exist_ok=True)
    profile_path, report_path = out_dir / "profile.json", out_dir / "report.md"
    profile_path.write_text(json.dumps(profile, indent=2, sort_keys=True, allow_nan=True) + "\n")
    report_path.write_text(_report(profile))
    return ProfileRef(
        profile_path=str(profile_path),
        report_path=str(report_path),
        headline=headline(profile),
        domain_context=context,
    )


def print_task_profile(profile_path: Path, console: Any) -> None:
    """Print the ``tsalign profile`` summary of a panel or anomaly profile."""
    profile = json.loads(Path(profile_path).read_text())
    report = Path(profile_path).with_name("report.md").read_text()
    head = report.split("\n\n| ")[0]
    console.print(head, markup=False)
    if profile["kind"] == "panel":
        console.print(f"class balance (train): {profile['class_balance']['train']}", markup=False)


__all__ = [
    "anomaly_profile",
    "headline",
    "panel_profile",
    "print_task_profile",
    "profile_task_data",
]
