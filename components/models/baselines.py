"""Honest baselines on the same data pipeline: naive, seasonal naive, DLinear, PatchTST.

Every aligned model is reported next to these (DESIGN.md: Tan et al. 2024).
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from components.config import ModelConfig
from components.models.catalogue import register
from components.models.spec import ModelSpec

log = logging.getLogger(__name__)


class SeasonalNaive(nn.Module):
    """Repeat the last observed period: y[t + h] = x[L - m + (h mod m)]; m = 1 is naive.

    No parameters. ``period`` and ``reason`` say which period is used and why.

    Args:
        seq_len: L.
        horizon: H.
        period: m in time steps (1..L).
        reason: Why this period (shown in repr and logs).
    """

    def __init__(self, seq_len: int, horizon: int, period: int, reason: str) -> None:
        super().__init__()
        self.seq_len, self.horizon, self.period, self.reason = seq_len, horizon, period, reason
        idx = seq_len - period + torch.arange(horizon) % period
        self.register_buffer("index", idx, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, L, C] -> [B, H, C]."""
        return x[:, self.index, :]

    def extra_repr(self) -> str:
        return f"period={self.period}, reason={self.reason!r}"


@register("naive", paradigm="baseline", summary="Last observed value repeated (no parameters)")
def build_naive(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
    """Naive forecast: the last value of each channel."""
    return SeasonalNaive(spec.seq_len, spec.horizon, 1, "naive: last value")


def seasonal_period(spec: ModelSpec) -> tuple[int, str]:
    """The period seasonal naive uses and the reason, falling back to 1 (naive) when needed."""
    if spec.season is None:
        return 1, (
            "no dominant period in the profile (ModelSpec.season is None): "
            "falling back to naive (period 1)"
        )
    if spec.season > spec.seq_len:
        return 1, (
            f"season {spec.season} exceeds seq_len {spec.seq_len}, so the window holds no "
            "full period: falling back to naive (period 1); raise data.window.seq_len"
        )
    return spec.season, f"season {spec.season} from the profile"


@register(
    "seasonal_naive",
    paradigm="baseline",
    summary="Last observed season repeated; period from the profile (ModelSpec.season)",
)
def build_seasonal_naive(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
    """Seasonal naive with ``spec.season``; see :func:`seasonal_period` for the fallback."""
    period, reason = seasonal_period(spec)
    if period == 1:
        log.warning("seasonal_naive: %s", reason)
    return SeasonalNaive(spec.seq_len, spec.horizon, period, reason)
