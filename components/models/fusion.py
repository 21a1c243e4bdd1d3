"""Text fusion for any numeric forecaster: ``model.params.text_fusion``.

One wrapper, :class:`TextFusion`, adds a window's text to every forecaster that exposes its
series tokens (PatchTST, the GPT4TS family and its ablations: patches; DLinear: its seasonal
and trend components):

- ``encode(x [B, L, C]) -> (z [B, C, N, D], stats)``: the series representation;
- ``decode(z, stats, offset=None) -> [B, H, C]``: the head, ``offset`` added to its output
  before any RevIN statistics are put back;
- ``token_width``: D.

A window's text arrives as tokens ``text [B, K, E]`` (the cached embeddings of the at most K
texts it may see, from :mod:`tsalign.components.data.align`) and ``text_mask [B, K]`` (True
for a real text). Every fusion block starts at zero, so a fused model starts as its no-text
twin, and a window without text gets exactly the twin's forecast path.

- ``add`` (MM-TSFlib): a text forecast head on the pooled text, added to the forecast with a
  fixed weight (``text_weight``) or a learned one (starting at MM-TSFlib's 0.1).
- ``concat``: the pooled text, projected to a token of width D, joined to the series tokens
  before the head. A linear head over ``[series tokens; text token]`` is the base head plus a
  linear block over the text token, which is how it is computed (the base head is unchanged).
- ``xattn``: every series token (patch) queries the window's text tokens with multi-head
  attention; the result is added to the token (residual) before the head.

``add`` and ``concat`` pool a window's texts into one vector: their mean, or
(``text_pooling: attention``) attention with a query computed from the series'
representation (the mean of its tokens); the query starts at zero, so attention pooling
starts as the mean.

A forecaster with a prompt-as-prefix (Time-LLM: ``prefix_width``, and ``encode(x,
text_prefix, text_mask)``) also receives the window's texts, projected into the LM's
embedding space, as prefix tokens after its prompt (masked for a window without text). Those
tokens take positions in the LM, so there a fused model's no-text path matches its twin's
only up to the LM's position embeddings.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from tsalign.components.models.params import TextFusionParams
from tsalign.components.models.spec import ModelBuildError, ModelSpec

FUSIONS = ("none", "add", "concat", "xattn")
POOLINGS = ("mean", "attention")
INITIAL_TEXT_WEIGHT = 0.1
"""MM-TSFlib's ``prompt_weight``: where a learned ``add`` weight starts."""


class TokenForecaster(Protocol):
    """What :class:`TextFusion` needs of a forecaster (see the module docstring)."""

    token_width: int

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, object]: ...

    def decode(
        self, z: torch.Tensor, stats: object, offset: torch.Tensor | None = None
    ) -> torch.Tensor: ...


def pool_tokens(text: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
    """Mean of each window's real text tokens: text [B, K, E], mask [B, K] -> [B, E]
    (zero for a window without text)."""
    weights = text_mask.to(text.dtype).unsqueeze(-1)  # [B, K, 1]
    return (text * weights).sum(1) / weights.sum(1).clamp(min=1.0)


class TextFusion(nn.Module):
    """A forecaster ``base`` plus the window's text, fused as ``mode``.

    forward: x [B, L, C], text [B, K, E], text_mask [B, K] -> forecast [B, H, C]. Without
    ``text`` the output is the base forecaster's.

    Args:
        base: A :class:`TokenForecaster`.
        mode: ``add``, ``concat`` or ``xattn``.
        text_dim: E, the width of the text embeddings.
        horizon: H.
        weight: ``add``: a fixed weight in [0, 1]; None learns it.
        heads: ``xattn``: attention heads, dividing the base's token width.
        pooling: ``add`` and ``concat``: ``mean`` or ``attention`` (see the module docstring).
    """

    def __init__(
        self,
        base: nn.Module,
        mode: str,
        *,
        text_dim: int,
        horizon: int,
        weight: float | None = None,
        heads: int = 1,
        pooling: str = "mean",
    ) -> None:
        super().__init__()
        if mode not in FUSIONS[1:]:
            raise ModelBuildError(f"text fusion {mode!r} is not one of {list(FUSIONS[1:])}")
        if pooling not in POOLINGS:
            raise ModelBuildError(f"text pooling {pooling!r} is not one of {list(POOLINGS)}")
        self.base, self.mode = base, mode
        d = base.token_width
        if pooling == "attention" and mode != "xattn":
            self.query = nn.Linear(d, text_dim)  # series summary [B, D] -> query [B, E]
            _zero(self.query)  # zero scores: starts as the mean of the window's texts
        prefix = getattr(base, "prefix_width", None)
        if prefix is not None:  # the window's texts join the prompt-as-prefix
            self.prefix = nn.Linear(text_dim, prefix)
        if mode == "add":
            self.text_head = nn.Linear(text_dim, horizon)
            # shape [1], not a 0-d scalar: checkpoints read tensors as bytes, which a 0-d
            # tensor cannot be viewed as
            if weight is None:
                self.weight = nn.Parameter(torch.tensor([INITIAL_TEXT_WEIGHT]))
            else:
                self.register_buffer("weight", torch.tensor([float(weight)]))
        elif mode == "concat":
            self.project = nn.Sequential(nn.Linear(text_dim, d), nn.GELU())
            self.text_head = nn.Linear(d, horizon)
            _zero(self.text_head)
        else:
            if d % heads:
                raise ModelBuildError(
                    f"model.params.text_heads={heads} must divide the model's token width {d}"
                )
            self.project = nn.Linear(text_dim, d)
            self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
            _zero(self.attn.out_proj)

    def forward(
        self,
        x: torch.Tensor,
        text: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if text is None:
            return self.base(x)
        if text_mask is None:
            text_mask = torch.ones(text.shape[:2], dtype=torch.bool, device=text.device)
        has_text = text_mask.any(1).to(x.dtype)  # [B]
        if hasattr(self, "prefix"):
            z, stats = self.base.encode(x, self.prefix(text), text_mask)
        else:
            z, stats = self.base.encode(x)
        if self.mode == "add":
            y = self.base.decode(z, stats)
            text_y = self.text_head(self._pool(z, text, text_mask))  # [B, H]
            return y + (self.weight * has_text[:, None] * text_y).unsqueeze(-1)
        if self.mode == "concat":
            token = self.project(self._pool(z, text, text_mask))  # [B, D]
            offset = (has_text[:, None] * self.text_head(token)).unsqueeze(-1)  # [B, H, 1]
            return self.base.decode(z, stats, offset.expand(-1, -1, z.shape[1]))
        return self.base.decode(self._attend(z, text, text_mask, has_text), stats)

    def _pool(self, z: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """The window's texts [B, K, E] as one vector [B, E] (zero without text): their mean,
        or attention from the series tokens z [B, C, N, D]."""
        if not hasattr(self, "query"):
            return pool_tokens(text, text_mask)
        query = self.query(z.mean(dim=(1, 2)))  # [B, E]
        scores = torch.einsum("bke,be->bk", text, query) / text.shape[-1] ** 0.5  # [B, K]
        # a finite fill keeps a window without text finite (and its gradient); its weights
        # are then zeroed
        weights = scores.masked_fill(~text_mask, torch.finfo(scores.dtype).min).softmax(-1)
        weights = weights * text_mask
        return torch.einsum("bk,bke->be", weights.to(text.dtype), text)

    def _attend(
        self, z: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor, has_text: torch.Tensor
    ) -> torch.Tensor:
        """Series tokens [B, C, N, D] + their attention over the window's text tokens."""
        b, c, n, d = z.shape
        keys = self.project(text)  # [B, K, D]
        # A window with no text would attend over nothing (NaN); let it see its padding and
        # drop the result below.
        ignore = ~text_mask & text_mask.any(1, keepdim=True)
        mixed, _ = self.attn(
            z.reshape(b, c * n, d), keys, keys, key_padding_mask=ignore, need_weights=False
        )
        return z + (has_text[:, None, None] * mixed).reshape(b, c, n, d)


def _zero(layer: nn.Linear) -> None:
    nn.init.zeros_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def with_text(model: nn.Module, name: str, params: object, spec: ModelSpec) -> nn.Module:
    """``model`` wrapped in :class:`TextFusion` when its ``text_fusion`` asks for it.

    Raises:
        ModelBuildError: fusion asked of data without text, of a task other than forecast,
            or of a model that does not expose its series tokens.
    """
    mode = getattr(params, "text_fusion", "none")
    if mode == "none":
        return model
    assert isinstance(params, TextFusionParams)
    if spec.task != "forecast":
        raise ModelBuildError(
            f"model.params.text_fusion={mode} is for forecasting, not task {spec.task!r}; "
            "set model.params.text_fusion=none"
        )
    if spec.text_dim is None:
        raise ModelBuildError(
            f"model.params.text_fusion={mode} needs text beside the series: add a data.text "
            "section, or set model.params.text_fusion=none"
        )
    if not all(hasattr(model, attr) for attr in ("encode", "decode", "token_width")):
        raise ModelBuildError(
            f"model {name!r} does not expose its series tokens, so it cannot fuse text; "
            "set model.params.text_fusion=none"
        )
    return TextFusion(
        model,
        mode,
        text_dim=spec.text_dim,
        horizon=spec.horizon,
        weight=params.text_weight,
        heads=params.text_heads,
        pooling=params.text_pooling,
    )


__all__ = ["FUSIONS", "POOLINGS", "TextFusion", "TokenForecaster", "pool_tokens", "with_text"]
