"""Representation primitive: the numerical form of the series.

Shape (univariate/multivariate, length), sampling interval and regularity, missing
share and longest gap, dtype, value range, dynamic range and precision, what an
injective prompt of the input window costs in LM tokens, and the patch length and
stride suggested by the dominant period.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from tsalign.components.config import ProfileConfig
from tsalign.components.data.meta import TIMESTAMP, DatasetMeta
from tsalign.components.profiling.schema import (
    ChannelRepresentation,
    RepresentationProfile,
    TokenCost,
)

DEFAULT_PATCH = (16, 8)
"""PatchTST / GPT4TS default (patch_len, stride), used when no period is known."""

_MAX_DECIMALS = 10
_PRICE_SIG_DIGITS = 4  # prompts carry at most 4 significant digits (LLMTime keeps 2-3)


def sampling(frame: pd.DataFrame) -> tuple[float | None, float | None, str | None, str | None]:
    """(median step in seconds, share of steps equal to it, first and last timestamp ISO)."""
    if TIMESTAMP not in frame.columns or len(frame) == 0:
        return None, None, None, None
    stamps = pd.to_datetime(frame[TIMESTAMP])
    start, end = stamps.iloc[0].isoformat(), stamps.iloc[-1].isoformat()
    if len(stamps) < 2:
        return None, None, start, end
    steps = stamps.diff().dropna().dt.total_seconds().to_numpy()
    median = float(np.median(steps))
    return median, float(np.mean(steps == median)), start, end


def profile_representation(
    frame: pd.DataFrame,
    meta: DatasetMeta,
    cfg: ProfileConfig,
    dominant_period: int | None,
    domain_context: str,
) -> RepresentationProfile:
    """Build the representation primitive.

    Args:
        frame: canonical frame over the full length (not capped: missing share and gaps
            describe the whole dataset).
        meta: dataset metadata (channels, targets, freq).
        cfg: profiling settings (input_len and tokenizer price the prompt).
        dominant_period: the dataset's dominant period in steps, or None.
        domain_context: the domain paragraph, priced as part of the prompt.

    Returns:
        The RepresentationProfile.
    """
    channels = [name for name in meta.channels if name in frame.columns]
    interval, regularity, start, end = sampling(frame)
    per_channel = {name: channel_representation(frame[name], name) for name in channels}
    cells = max(1, len(frame) * len(channels))
    missing = sum(round(c.missing_share * len(frame)) for c in per_channel.values()) / cells
    patch_len, stride, reason = suggest_patch(dominant_period, cfg.input_len)
    rep = RepresentationProfile(
        univariate=len(channels) == 1,
        n_channels=len(channels),
        length=len(frame),
        start=start,
        end=end,
        freq=meta.freq,
        sampling_interval_s=interval,
        regular=None if regularity is None else regularity == 1.0,
        regularity=None if regularity is None else round(regularity, 6),
        channels=per_channel,
        missing_share=round(missing, 6),
        patch_len=patch_len,
        stride=stride,
        patch_reason=reason,
    )
    if interval is None:
        rep.not_computable["sampling_interval_s"] = "fewer than two timestamps"
    if cfg.tokenizer is None:
        rep.not_computable["tokens"] = "profile.tokenizer is null (pricing switched off)"
    else:
        targets = [t for t in meta.targets if t in per_channel and per_channel[t].numeric]
        try:
            rep.tokens = price_prompt(frame, targets, per_channel, cfg, domain_context)
        except (ImportError, OSError, ValueError) as err:
            # The profile stays useful without a price; the reason says what to fix.
            rep.not_computable["tokens"] = f"tokenizer {cfg.tokenizer!r} unavailable: {err}"
    return rep


def channel_representation(column: pd.Series, name: str) -> ChannelRepresentation:
    """Numeric form of one channel; non-numeric or empty channels get reasons, not NaNs.

    Args:
        column: the channel's values.
        name: channel name.

    Returns:
        A ChannelRepresentation.
    """
    n = len(column)
    missing = column.isna().to_numpy()
    out = ChannelRepresentation(
        channel=name,
        dtype=str(column.dtype),
        numeric=bool(pd.api.types.is_numeric_dtype(column)),
        missing_share=round(float(missing.mean()) if n else 1.0, 6),
        longest_gap=longest_run(missing),
    )
    stats = ("min", "max", "mean", "std", "dynamic_range_db", "decimals", "significant_digits")
    if not out.numeric:
        for field in stats:
            out.not_computable[field] = f"non-numeric dtype {column.dtype}"
        return out
    values = column.to_numpy(dtype=float, na_value=np.nan)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        for field in stats:
            out.not_computable[field] = "all values are missing"
        return out
    out.min, out.max = float(values.min()), float(values.max())
    out.mean, out.std = float(values.mean()), float(values.std())
    magnitude = np.abs(values)
    nonzero = magnitude[magnitude > 0]
    if len(nonzero):
        out.dynamic_range_db = round(
            20 * math.log10(float(nonzero.max()) / float(nonzero.min())), 3
        )
    else:
        out.not_computable["dynamic_range_db"] = "every value is zero"
    out.decimals = decimals_needed(values, column.dtype)
    top = float(magnitude.max())
    int_digits = max(1, math.floor(math.log10(top)) + 1) if top >= 1 else 1
    out.significant_digits = int_digits + out.decimals
    return out


def longest_run(mask: np.ndarray) -> int:
    """Length of the longest run of True in a boolean array."""
    if not mask.any():
        return 0
    # Run boundaries from the diff of the 0/1 signal padded with zeros.
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int((ends - starts).max())


def decimals_needed(values: np.ndarray, dtype: Any, sample: int = 5000) -> int:
    """Decimal places that write 99 % of the values exactly (to the dtype's precision).

    Values stored as float32 (or float32 values widened to float64, as in the ETT CSVs:
    5.827000141143799) are matched at float32 precision, so they need 3 decimals, not 15.

    Args:
        values: finite values.
        dtype: the column dtype.
        sample: how many values (evenly spaced) to inspect.

    Returns:
        0.._MAX_DECIMALS.
    """
    step = max(1, len(values) // sample)
    v = values[::step][:sample]
    magnitude = np.maximum(np.abs(v), 1e-300)
    tolerances = [6e-8] if np.dtype(dtype) == np.float32 else [1e-11, 6e-8]
    for tol in tolerances:
        for d in range(_MAX_DECIMALS + 1):
            exact = np.abs(v - np.round(v, d)) <= tol * np.maximum(magnitude, 10.0**-d)
            if exact.mean() >= 0.99:
                return d
    return _MAX_DECIMALS


def suggest_patch(period: int | None, input_len: int) -> tuple[int, int, str]:
    """(patch_len, stride, reason): a divisor of the period near 16 that fits the window.

    A patch that divides the period puts every cycle phase at the same patch offset; 16
    with stride 8 is the PatchTST / GPT4TS default; at least 4 patches must fit in the
    input window.

    Args:
        period: dominant period in steps, or None.
        input_len: input window length in steps.

    Returns:
        (patch_len, stride, reason).
    """
    upper = max(1, input_len // 4)
    if period is not None:
        divisors = [d for d in range(4, min(period, upper) + 1) if period % d == 0]
        if divisors:
            # Closest to 16; on a tie the longer patch (fewer tokens).
            patch = min(divisors, key=lambda d: (abs(d - DEFAULT_PATCH[0]), -d))
            return (
                patch,
                max(1, patch // 2),
                f"{patch} divides the dominant period {period}; stride half a patch",
            )
        reason = f"no divisor of period {period} in [4, {upper}]; default"
    else:
        reason = "no dominant period; PatchTST/GPT4TS default"
    patch = min(DEFAULT_PATCH[0], upper)
    stride = min(DEFAULT_PATCH[1], max(1, patch // 2))
    return patch, stride, reason


@functools.lru_cache(maxsize=4)
def _tokenizer(ref: str) -> Any:
    # Imported here: torch/transformers cost seconds to import, and only pricing needs them.
    # Its BackboneError is a ValueError, which price_prompt's caller turns into a reason.
    from tsalign.components.models.backbone import load_tokenizer

    return load_tokenizer(ref)


def price_prompt(
    frame: pd.DataFrame,
    targets: list[str],
    per_channel: dict[str, ChannelRepresentation],
    cfg: ProfileConfig,
    domain_context: str,
) -> TokenCost:
    """Tokens an injective prompt costs: the last input_len values of each target.

    Values are written with at most 4 significant digits (never more decimals than the
    data has: 4382.825174 -> "4383", 5.827 -> "5.827", 21.4 -> "21.4") and joined with ", "
    as in LLMTime/PromptCast serializations; the domain paragraph is priced as the prefix.

    Args:
        frame: canonical frame.
        targets: numeric target channels to serialize.
        per_channel: their representation (decimals).
        cfg: settings (tokenizer reference, input_len).
        domain_context: prefix paragraph.

    Returns:
        The TokenCost.

    Raises:
        ValueError: no numeric target to price (or the tokenizer cannot be loaded).
    """
    if not targets:
        raise ValueError("no numeric target channel to serialize")
    assert cfg.tokenizer is not None
    tokenizer = _tokenizer(cfg.tokenizer)
    window_tokens, values, formats = 0, 0, []
    for name in targets:
        info = per_channel[name]
        top = max(abs(info.min or 0.0), abs(info.max or 0.0))
        int_digits = math.floor(math.log10(top)) + 1 if top >= 1 else 0
        decimals = min(info.decimals or 0, max(0, _PRICE_SIG_DIGITS - int_digits))
        fmt = "{:." + str(decimals) + "f}"
        formats.append(fmt)
        window = frame[name].to_numpy(dtype=float, na_value=np.nan)[-cfg.input_len :]
        text = ", ".join("NaN" if not np.isfinite(v) else fmt.format(v) for v in window)
        window_tokens += len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
        values += len(window)
    context_tokens = len(
        tokenizer(domain_context, add_special_tokens=False, verbose=False)["input_ids"]
    )
    limit = getattr(tokenizer, "model_max_length", None)
    # HF uses a huge sentinel (int(1e30)) when the model declares no limit.
    limit = int(limit) if limit is not None and limit < 10**9 else None
    prompt = window_tokens + context_tokens
    return TokenCost(
        tokenizer=cfg.tokenizer,
        value_format=" / ".join(dict.fromkeys(formats)),
        tokens_per_value=round(window_tokens / max(1, values), 3),
        input_len=cfg.input_len,
        channels=len(targets),
        window_tokens=window_tokens,
        context_tokens=context_tokens,
        prompt_tokens=prompt,
        model_max_length=limit,
        fits_context=None if limit is None else prompt <= limit,
    )
