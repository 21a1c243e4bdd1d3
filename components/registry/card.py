"""Hugging Face–style model cards: README.md with YAML front matter, one per version.

The front matter uses the keys the Hub reads (``base_model``, ``library_name``, ``datasets``,
``metrics``, ``tags``, ``pipeline_tag``, ``license``) so that a version directory can be pushed to
the Hub or browsed like one; the body gives metrics beside the baselines and the lineage.
"""

from __future__ import annotations

from typing import Any

import yaml

from tsalign.components.registry.manifest import ModelCardInfo, redact


def _metric_rows(metrics: dict[str, Any]) -> tuple[list[str], list[tuple[str, dict[str, Any]]]]:
    """Turn metrics into (metric names, rows) for the card's table.

    Every dict holding numbers becomes one row labelled by its path, so a flat
    ``{metric: v}``, ``{model: {metric: v}}`` (candidate and baselines side by side) and
    ``{"test": {model: {...}}, "validation": {...}}`` all render.
    """
    rows: list[tuple[str, dict[str, Any]]] = []

    def walk(label: str, node: dict[str, Any]) -> None:
        numbers = {
            k: v for k, v in node.items() if isinstance(v, int | float) and not isinstance(v, bool)
        }
        if numbers:
            rows.append((label or "this model", numbers))
        for key, value in node.items():
            if isinstance(value, dict):
                walk(f"{label} / {key}" if label else key, value)

    walk("", metrics)
    names = sorted({m for _, vals in rows for m in vals})
    return names, rows


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def render_card(
    name: str,
    version: int,
    info: ModelCardInfo,
    *,
    description: str,
    metrics: dict[str, Any],
    lineage: dict[str, Any],
    files: list[str],
    tags: dict[str, str],
) -> str:
    """Render README.md for one version.

    Args:
        name: model name.
        version: version number this card belongs to.
        info: card facts (base model, datasets, tags...).
        description: free text of the version.
        metrics: flat ``{metric: value}`` or nested ``{model: {metric: value}}``.
        lineage: dataset/DVC/git/Prefect/Ray facts; secrets are redacted again here.
        files: relative paths of the version's other files.
        tags: version tags (``key: value``), listed as ``key:value`` Hub tags.

    Returns:
        The Markdown text with YAML front matter.
    """
    metric_names, rows = _metric_rows(metrics)
    hub_tags = list(
        dict.fromkeys(
            [*info.tags, "tsalign", "time-series", *(f"{k}:{v}" for k, v in sorted(tags.items()))]
        )
    )
    front: dict[str, Any] = {}
    if info.base_model:
        front["base_model"] = info.base_model
    front["library_name"] = info.library_name
    front["pipeline_tag"] = info.pipeline_tag
    if info.license:
        front["license"] = info.license
    if info.datasets:
        front["datasets"] = list(info.datasets)
    if metric_names:
        front["metrics"] = metric_names
    front["tags"] = hub_tags

    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False).rstrip(),
        "---",
        "",
        f"# {name} (version {version})",
        "",
    ]
    for text in (info.summary, description):
        if text:
            lines += [text.strip(), ""]
    if rows:
        lines += ["## Metrics", "", "| model | " + " | ".join(metric_names) + " |"]
        lines.append("|---" * (len(metric_names) + 1) + "|")
        for model, vals in rows:
            lines.append(
                f"| {model} | " + " | ".join(_fmt(vals.get(m, "")) for m in metric_names) + " |"
            )
        lines.append("")
    if info.intended_use:
        lines += ["## Intended use", "", info.intended_use.strip(), ""]
    if info.limitations:
        lines += ["## Limitations", "", info.limitations.strip(), ""]
    safe_lineage = redact(lineage)
    if safe_lineage:
        lines += ["## Lineage", ""]
        lines += [f"- **{k}**: `{_fmt(v)}`" for k, v in safe_lineage.items()]
        lines.append("")
    lines += [
        "## Use",
        "",
        "```bash",
        f"tsalign registry download {name}:{version} ./{name}-v{version}",
        f"tsalign predict {name}:{version} --input history.csv --output forecast.csv",
        "```",
        "",
    ]
    if files:
        lines += ["## Files", "", *(f"- `{f}`" for f in sorted(files)), ""]
    return "\n".join(lines)


def read_front_matter(text: str) -> dict[str, Any]:
    """Parse the YAML front matter of a card (empty dict when there is none)."""
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---", 4)
    if end < 0:
        return {}
    return yaml.safe_load(text[4:end]) or {}
