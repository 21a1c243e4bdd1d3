"""Honest baselines on the same data pipeline: naive, seasonal naive, DLinear, PatchTST.

Every aligned model is reported next to these (DESIGN.md: Tan et al. 2024).
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from tsalign.components.config import ModelConfig
from tsalign.components.models.layers import MovingAverage, Patcher, PatchMixerModel
from tsalign.components.models.params import DLinearParams, PatchTSTParams
from tsalign.components.models.spec import ModelBuildError, ModelSpec

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


def build_seasonal_naive(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
    """Seasonal naive with ``spec.season``; see :func:`seasonal_period` for the fallback."""
    period, reason = seasonal_period(spec)
    if period == 1:
        log.warning("seasonal_naive: %s", reason)
    return SeasonalNaive(spec.seq_len, spec.horizon, period, reason)


class DLinear(nn.Module):
    """DLinear (Zeng et al., AAAI 2023): moving-average decomposition, one linear map each.

    trend = MovingAverage(x); seasonal = x - trend; y = W_s seasonal + W_t trend, the two
    L -> H maps shared across channels (the paper's default ``individual=False``).
    x [B, L, C] -> [B, H, C].
    """

    def __init__(self, seq_len: int, horizon: int, kernel: int) -> None:
        super().__init__()
        self.decompose = MovingAverage(kernel)
        self.seasonal = nn.Linear(seq_len, horizon)
        self.trend = nn.Linear(seq_len, horizon)
        # The paper initialises both maps to the mean (1/L): a well-posed start that forecasts
        # the window average.
        for layer in (self.seasonal, self.trend):
            nn.init.constant_(layer.weight, 1.0 / seq_len)

    @property
    def token_width(self) -> int:
        """D of :meth:`encode`'s tokens: the window length (each token is a component)."""
        return self.seasonal.in_features

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """x [B, L, C] -> tokens [B, C, 2, L]: the seasonal and trend components per channel."""
        trend = self.decompose(x)
        return torch.stack([x - trend, trend], dim=2).permute(0, 3, 2, 1), None

    def decode(
        self, z: torch.Tensor, stats: None = None, offset: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Tokens [B, C, 2, L] -> forecast [B, H, C]: one linear map per component, plus
        ``offset`` [B, H, C] when given (a second head block, see PatchMixerModel.decode)."""
        y = (self.seasonal(z[:, :, 0]) + self.trend(z[:, :, 1])).transpose(1, 2)
        return y if offset is None else y + offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(*self.encode(x))  # [B, H, C]


def build_dlinear(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
    """DLinear with ``model.params.moving_avg`` as the trend kernel."""
    params: DLinearParams = cfg.params
    if params.moving_avg > spec.seq_len:
        raise ModelBuildError(
            f"model.params.moving_avg={params.moving_avg} exceeds seq_len={spec.seq_len}; "
            "use a kernel shorter than the window (25 is the paper's default)"
        )
    return DLinear(spec.seq_len, spec.horizon, params.moving_avg)


class _BatchNormTokens(nn.Module):
    """BatchNorm1d over the feature axis of tokens [B, N, D] (PatchTST's default norm)."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(d)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.norm(h.transpose(1, 2)).transpose(1, 2)


class TSTEncoderLayer(nn.Module):
    """PatchTST encoder layer: post-norm residual attention + GELU FFN with BatchNorm."""

    def __init__(self, d: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(d, n_heads, dropout=dropout, batch_first=True)
        self.norm1 = _BatchNormTokens(d)
        self.ff = nn.Sequential(
            nn.Linear(d, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d)
        )
        self.norm2 = _BatchNormTokens(d)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        attn, _ = self.attn(h, h, h, need_weights=False)
        h = self.norm1(h + self.dropout(attn))
        return self.norm2(h + self.dropout(self.ff(h)))


class TSTEncoder(nn.Module):
    """Learned positional encoding + ``e_layers`` PatchTST layers; a mixer [B*C, N, D]."""

    def __init__(
        self, n_patches: int, d: int, n_heads: int, d_ff: int, e_layers: int, dropout: float
    ) -> None:
        super().__init__()
        # PatchTST initialises its learned positions uniformly in [-0.02, 0.02].
        self.position = nn.Parameter(torch.empty(n_patches, d).uniform_(-0.02, 0.02))
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            TSTEncoderLayer(d, n_heads, d_ff, dropout) for _ in range(e_layers)
        )

    def forward(self, h: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.dropout(h + self.position)
        for layer in self.layers:
            h = layer(h)
        return h


def build_patchtst(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
    """PatchTST: RevIN (affine, as in the paper), patching, TST encoder, flatten head.

    The two entries share this builder; they differ only by their parameter defaults
    (``PatchTSTParams``, ``PatchTSTCompactParams``).
    """
    p: PatchTSTParams = cfg.params
    if p.d_model % p.n_heads:
        raise ModelBuildError(
            f"model.params.d_model={p.d_model} must be divisible by "
            f"model.params.n_heads={p.n_heads}"
        )
    n_patches = Patcher(spec.seq_len, p.patch_len, p.patch_stride).n_patches
    encoder = TSTEncoder(n_patches, p.d_model, p.n_heads, p.d_ff, p.e_layers, p.dropout)
    return PatchMixerModel(spec, p, encoder, p.d_model, revin_affine=True)
