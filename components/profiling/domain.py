"""Domain primitive: what is known about the context the series lives in.

Assembles the dataset description, channel roles, units and meanings, the calendar
features the timestamps support and any event or text channels into a
``domain_context`` paragraph (for prompt-as-prefix and injective prompts), and
scores how much domain knowledge is available with a transparent breakdown.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tsalign.components.data.meta import TIMESTAMP, DatasetMeta
from tsalign.components.profiling.schema import ChannelDomain, DomainProfile, TextCoverage

# Evidence items and their weights in the knowledge score (they sum to 1).
KNOWLEDGE_WEIGHTS: dict[str, float] = {
    "description": 0.35,  # a sentence or more on what is measured and where
    "units": 0.2,  # share of channels with a declared unit
    "channel_names": 0.2,  # share of channels with a descriptive (not coded) name
    "calendar": 0.1,  # timestamps fine enough for hour-of-day / day-of-week
    "events": 0.1,  # holiday / event indicator channels
    "text": 0.05,  # free-text channels
}

_EVENT_NAME = re.compile(r"holiday|event|weekend|promo|festival|closure|strike|outage", re.I)
# Coded names ("OT", "x1", "col_3", "HUFL") say little to a language model.
_CODED_NAME = re.compile(r"^([A-Z]{1,5}|[a-z]?\d+|[a-z]{1,2}_?\d*|col(umn)?_?\d+|var_?\d+)$")


def text_coverage(timestamps: np.ndarray, texts: pd.DataFrame, window_steps: int) -> TextCoverage:
    """Count, per forecast origin, the texts that ended inside its input window.

    Args:
        timestamps: the series' timestamps, sorted (datetime64[ns], [T]).
        texts: the canonical text table (``source, start, end, field, text``).
        window_steps: input window length in steps.

    Returns:
        Coverage over the origins ``timestamps[window_steps:]`` (none when T <= window_steps).
    """
    ts = np.asarray(timestamps, dtype="datetime64[ns]")
    end = np.sort(texts["end"].to_numpy(dtype="datetime64[ns]"))
    origins = np.arange(window_steps, len(ts))
    # texts with first input step <= end < origin: ended before the forecast starts
    counts = np.searchsorted(end, ts[origins], side="left") - np.searchsorted(
        end, ts[origins - window_steps], side="left"
    )
    has = len(counts) > 0
    return TextCoverage(
        texts=len(texts),
        sources=list(dict.fromkeys(texts["source"].tolist())),
        start=pd.Timestamp(texts["start"].min()).isoformat() if len(texts) else "",
        end=pd.Timestamp(texts["end"].max()).isoformat() if len(texts) else "",
        window_steps=window_steps,
        windows=len(counts),
        share_with_text=round(float((counts > 0).mean()), 4) if has else 0.0,
        texts_per_window_mean=round(float(counts.mean()), 4) if has else 0.0,
        texts_per_window_median=float(np.median(counts)) if has else 0.0,
        texts_per_window_max=int(counts.max()) if has else 0,
    )


def profile_domain(
    frame: pd.DataFrame,
    meta: DatasetMeta,
    sampling_interval_s: float | None,
    texts: pd.DataFrame | None = None,
    window_steps: int = 96,
) -> DomainProfile:
    """Build the domain primitive from the dataset metadata and the frame.

    Args:
        frame: canonical frame (timestamp + channel columns).
        meta: the dataset's metadata (description, units, targets, covariates).
        sampling_interval_s: median step between timestamps in seconds, or None.
        texts: the canonical text table (data/<name>.text.parquet), or None.
        window_steps: input window length for the text coverage.

    Returns:
        The DomainProfile with ``domain_context`` and ``knowledge_score``.
    """
    channels = [name for name in meta.channels if name in frame.columns]
    roles = {name: _role(name, meta) for name in channels}
    event_channels = [name for name in channels if _is_event(frame[name], name)]
    text_channels = [
        name
        for name in frame.columns
        if name in meta.channels
        and not pd.api.types.is_numeric_dtype(frame[name])
        and not pd.api.types.is_bool_dtype(frame[name])
    ]
    calendar = _calendar_features(sampling_interval_s)
    items = [
        ChannelDomain(
            name=name,
            role=roles[name],
            unit=meta.units.get(name) or None,
            meaning=_meaning(name, roles[name], name in event_channels),
        )
        for name in channels
    ]

    evidence = {
        "description": min(1.0, len(meta.description.split()) / 12),
        "units": sum(1 for c in items if c.unit) / max(1, len(items)),
        "channel_names": sum(1 for c in items if not _CODED_NAME.match(c.name))
        / max(1, len(items)),
        "calendar": 1.0 if calendar else 0.0,
        "events": 1.0 if event_channels else 0.0,
        "text": 1.0 if text_channels else 0.0,
    }
    coverage = None
    if texts is not None:
        coverage = text_coverage(frame[TIMESTAMP].to_numpy(), texts, window_steps)
        # Time-stamped text is domain knowledge in proportion to the windows it reaches.
        evidence["text"] = max(evidence["text"], coverage.share_with_text)
    breakdown = {key: round(KNOWLEDGE_WEIGHTS[key] * value, 4) for key, value in evidence.items()}
    return DomainProfile(
        name=meta.name,
        source=meta.source,
        description=meta.description,
        channels=items,
        calendar_features=calendar,
        event_channels=event_channels,
        text_channels=text_channels,
        text_coverage=coverage,
        domain_context=_context(meta, items, calendar, event_channels, sampling_interval_s),
        knowledge_score=round(min(1.0, sum(breakdown.values())), 4),
        knowledge_breakdown=breakdown,
    )


def _role(name: str, meta: DatasetMeta) -> str:
    if name in meta.targets:
        return "target"
    if name in meta.covariates:
        return "covariate"
    return "other"


def _is_event(column: pd.Series, name: str) -> bool:
    """A binary 0/1 (or bool) channel, or one whose name says it marks events."""
    if pd.api.types.is_bool_dtype(column):
        return True
    if not pd.api.types.is_numeric_dtype(column):
        return False
    levels = set(column.dropna().unique()[:3].tolist())
    return (
        bool(levels) and levels <= {0, 1} and (len(levels) == 2 or bool(_EVENT_NAME.search(name)))
    )


def _calendar_features(interval_s: float | None) -> list[str]:
    if interval_s is None or interval_s <= 0:
        return []
    features = []
    if interval_s < 86_400:
        features.append("hour_of_day")
    if interval_s < 7 * 86_400:
        features.append("day_of_week")
    if interval_s < 31 * 86_400:
        features.append("day_of_year")
    features.append("month")
    return features


def _meaning(name: str, role: str, event: bool) -> str:
    readable = re.sub(r"[_\-]+", " ", name).strip()
    if event:
        return f"indicator: 1 when '{readable}' applies, else 0"
    if role == "target":
        return f"{readable} (forecast target)"
    if role == "covariate":
        return f"{readable} (known covariate)"
    return readable


def describe_interval(seconds: float | None) -> str:
    """'30 minutes', '1 hour', '1 day'... for a sampling interval in seconds."""
    if seconds is None:
        return "an irregular interval"
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"


def _context(
    meta: DatasetMeta,
    items: list[ChannelDomain],
    calendar: list[str],
    events: list[str],
    interval_s: float | None,
) -> str:
    """One paragraph a language model can read before the numbers."""
    parts = [f"Dataset '{meta.name}'"]
    if meta.description:
        parts[0] += f": {meta.description.strip().rstrip('.')}."
    else:
        parts[0] += " (no description given)."
    described = []
    for item in items:
        unit = f" in {item.unit}" if item.unit else ""
        described.append(f"{item.name}{unit} ({item.role})")
    if described:
        parts.append("Channels: " + ", ".join(described) + ".")
    parts.append(
        f"One value every {describe_interval(interval_s)}, {meta.rows} steps from {meta.start} to {meta.end}."
    )
    if calendar:
        parts.append(
            "Calendar context available: " + ", ".join(f.replace("_", " ") for f in calendar) + "."
        )
    if events:
        parts.append("Event indicators: " + ", ".join(events) + ".")
    return " ".join(parts)
