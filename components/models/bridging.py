"""Bridging paradigm: a learned adapter into a frozen LM (Time-LLM, Jin et al. ICLR 2024).

Recipe, as the reference code (KimMeen/Time-LLM, models/TimeLLM.py): RevIN -> patching ->
convolutional patch embedding (d_model) -> reprogramming: cross-attention from patches to
1000 text prototypes, themselves learned linear combinations of the frozen word-embedding
matrix -> prompt-as-prefix (dataset description, then task, then per-window input
statistics; tokenised and embedded by the frozen LM) -> frozen LM over [prompt; patches] ->
the patch positions' first d_ff features -> flatten-linear head. Only the patch embedding,
prototype mapping, reprogramming layer and head train. Channel independent.

Deliberate differences from the reference, each a setting or stated here:
- ``model.params.head_dropout`` (default 0): the reference drops out its forecast with
  ``dropout`` (0.1); set ``model.params.head_dropout=0.1`` to match it.
- ``model.params.prompt_tokens`` (default None, no cap) and ``prompt_decimals`` (default None,
  full precision) only shorten the prompt when set.
- The quoted lags are those of the strongest unbiased, zero-padded autocorrelation over lags
  1..L/2; the reference takes a circular autocorrelation whose top lag is always 0.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tsalign.components.config import ModelConfig
from tsalign.components.models.backbone import load_backbone, load_tokenizer
from tsalign.components.models.layers import (
    ConvPatchEmbedding,
    FlattenHead,
    IdentityMixer,
    Patcher,
    ReprogrammingLayer,
    RevIN,
    make_ablation_mixer,
)
from tsalign.components.models.params import TimeLLMParams
from tsalign.components.models.spec import ModelBuildError, ModelSpec


def window_statistics(x: torch.Tensor, top_lags: int) -> dict[str, torch.Tensor]:
    """Per-series statistics quoted in the prompt.

    Args:
        x: Series [S, L] (S = batch x channels).
        top_lags: How many autocorrelation lags to report.

    Returns:
        min, max, median [S]; trend [S] (+1 rising, -1 falling: sign of the summed first
        differences, as in Time-LLM); lags [S, k] (1..L//2, strongest unbiased autocorrelation
        first, computed with an FFT).
    """
    length = x.shape[-1]
    centred = x - x.mean(dim=-1, keepdim=True)
    spectrum = torch.fft.rfft(centred, n=2 * length, dim=-1)  # zero-padded: linear, not circular
    max_lag = max(2, length // 2 + 1)
    acf = torch.fft.irfft(spectrum * spectrum.conj(), dim=-1)[..., 1:max_lag]
    # Divide by the number of overlapping pairs (L - k): unbiased, so long lags are not
    # penalised just for having fewer terms.
    acf = acf / torch.arange(length - 1, length - max_lag, -1, dtype=acf.dtype)
    k = min(top_lags, acf.shape[-1])
    lags = torch.topk(acf, k, dim=-1).indices + 1
    trend = torch.sign(x.diff(dim=-1).sum(dim=-1))
    return {
        "min": x.min(-1).values,
        "max": x.max(-1).values,
        "median": x.median(-1).values,
        "trend": trend,
        "lags": lags,
    }


def prompt_prefix(domain_context: str, seq_len: int, horizon: int) -> str:
    """The constant start of every prompt: the whole dataset description, then the task."""
    return (
        f"<|start_prompt|>Dataset description: {domain_context} "
        f"Task description: forecast the next {horizon} steps given the previous {seq_len} "
        "steps information; "
    )


def build_prompts(
    stats: dict[str, torch.Tensor],
    domain_context: str,
    seq_len: int,
    horizon: int,
    decimals: int | None = None,
) -> list[str]:
    """One prompt per series, in Time-LLM's order: description, task, input statistics.

    Args:
        stats: From :func:`window_statistics`.
        domain_context: The dataset description, quoted whole.
        seq_len, horizon: L and H, stated in the task.
        decimals: Round the statistics; None prints them at full precision (the reference).

    Returns:
        S prompt strings.
    """

    def num(value: float) -> str:
        return str(value) if decimals is None else f"{value:.{decimals}f}"

    prefix = prompt_prefix(domain_context, seq_len, horizon)
    rows = zip(
        stats["min"].tolist(),
        stats["max"].tolist(),
        stats["median"].tolist(),
        stats["trend"].tolist(),
        stats["lags"].tolist(),
        strict=True,
    )
    return [
        f"{prefix}Input statistics: min value {num(lo)}, max value {num(hi)}, "
        f"median value {num(med)}, the trend of input is "
        f"{'upward' if trend > 0 else 'downward'}, top {len(lags)} lags are : {lags}"
        "<|<end_prompt>|>"
        for lo, hi, med, trend, lags in rows
    ]


class TimeLLM(nn.Module):
    """Time-LLM forecaster: x [B, L, C] -> [B, H, C].

    Args:
        spec: Data shapes and the domain context.
        cfg: Hyper-parameters (d_model, n_heads, d_ff, n_prototypes, prompt_tokens, ...).

    Raises:
        ModelBuildError: ``cfg.prompt_tokens`` would cut the dataset description.
        mixer: The frozen LM (a Backbone) or its Tan et al. replacement, width d_llm.
        word_embeddings: Frozen vocabulary [V, d_llm] the prototypes and the prompt use.
        tokenizer: The LM's tokenizer (None when the mixer ignores the prompt).
    """

    def __init__(
        self,
        spec: ModelSpec,
        cfg: TimeLLMParams,
        mixer: nn.Module,
        word_embeddings: torch.Tensor,
        tokenizer: Any | None,
    ) -> None:
        super().__init__()
        vocab, d_llm = word_embeddings.shape
        self.spec, self.top_lags, self.prompt_tokens = spec, cfg.top_lags, cfg.prompt_tokens
        self.prompt_decimals = cfg.prompt_decimals
        self.revin = RevIN(spec.n_channels, affine=cfg.revin_affine)
        self.patcher = Patcher(spec.seq_len, cfg.patch_len, cfg.patch_stride)
        self.embed = nn.Sequential(
            ConvPatchEmbedding(cfg.patch_len, cfg.d_model), nn.Dropout(cfg.dropout)
        )
        # Not a state_dict entry: it is the backbone's frozen matrix, rebuilt from model.backbone.
        self.register_buffer("vocab", word_embeddings.detach(), persistent=False)
        self.prototype_map = nn.Linear(vocab, cfg.n_prototypes)  # S prototypes from V words
        # The reference passes d_ff as the per-head key width.
        self.reprogram = ReprogrammingLayer(cfg.d_model, cfg.n_heads, cfg.d_ff, d_llm, cfg.dropout)
        self.mixer = mixer
        self.tokenizer = tokenizer
        self.use_prompt = tokenizer is not None and not isinstance(mixer, IdentityMixer)
        if self.use_prompt and self.prompt_tokens is not None:
            self._check_prompt_cap()
        self.keep = min(cfg.d_ff, d_llm)  # Time-LLM keeps the first d_ff features of the LM
        self.head = FlattenHead(self.patcher.n_patches, self.keep, spec.horizon, cfg.head_dropout)

    def _check_prompt_cap(self) -> None:
        """Refuse a cap that would cut the description: only statistics may be truncated."""
        prefix = prompt_prefix(self.spec.domain_context, self.spec.seq_len, self.spec.horizon)
        needed = len(self.tokenizer(prefix, add_special_tokens=True)["input_ids"])
        if needed > self.prompt_tokens:
            raise ModelBuildError(
                f"model.params.prompt_tokens={self.prompt_tokens} would cut Time-LLM's dataset "
                f"description: the description and task alone take {needed} tokens; raise "
                "model.params.prompt_tokens above that or set it to null (no cap, as the "
                "reference)"
            )

    def prototypes(self) -> torch.Tensor:
        """Text prototypes [S, d_llm]: learned mixtures of the frozen word embeddings."""
        return self.prototype_map(self.vocab.T).T

    def prompt_embeddings(self, series: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """series [S, L] -> (prompt embeddings [S, T, d_llm], attention mask [S, T])."""
        stats = window_statistics(series.detach().float(), self.top_lags)
        prompts = build_prompts(
            stats,
            self.spec.domain_context,
            self.spec.seq_len,
            self.spec.horizon,
            self.prompt_decimals,
        )
        # Left padding keeps every prompt adjacent to its patches; truncation (only with a cap)
        # cuts the right end, the statistics, never the description (checked at build).
        self.tokenizer.padding_side = "left"
        self.tokenizer.truncation_side = "right"
        tokens = self.tokenizer(
            prompts,
            return_tensors="pt",
            padding=True,
            truncation=self.prompt_tokens is not None,
            max_length=self.prompt_tokens,
            add_special_tokens=True,
        )
        ids = tokens["input_ids"].to(self.vocab.device)
        return self.vocab[ids].to(series.dtype), tokens["attention_mask"].to(series.device)

    @property
    def token_width(self) -> int:
        """D of the patch tokens :meth:`encode` returns (text fusion projects text to it)."""
        return self.keep

    @property
    def prefix_width(self) -> int | None:
        """Width of the prompt-as-prefix embeddings text can join; None without a prompt."""
        return int(self.vocab.shape[1]) if self.use_prompt else None

    def encode(
        self,
        x: torch.Tensor,
        text_prefix: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x [B, L, C] -> patch tokens [B, C, N, d_ff] and the RevIN statistics.

        Args:
            text_prefix: the window's texts in the LM's embedding space [B, K, d_llm], put
                after the prompt and before the patches (masked where ``text_mask`` [B, K] is
                False); only with a prompt (:attr:`prefix_width`).
        """
        b, _, c = x.shape
        x, stats = self.revin.normalize(x)
        series = x.transpose(1, 2).reshape(b * c, -1)  # [B*C, L]
        patches = self.embed(self.patcher(series))  # [B*C, N, d_model]
        h = self.reprogram(patches, self.prototypes())  # [B*C, N, d_llm]
        n = h.shape[1]
        mask = None
        if self.use_prompt:
            prompt, prompt_mask = self.prompt_embeddings(series)
            parts, masks = [prompt], [prompt_mask]
            if text_prefix is not None:  # rows are (batch, channel): each channel its texts
                parts.append(text_prefix.to(h.dtype).repeat_interleave(c, dim=0))
                masks.append(text_mask.to(prompt_mask.dtype).repeat_interleave(c, dim=0))
            h = torch.cat([*parts, h], dim=1)  # [B*C, T (+ K) + N, d_llm]
            mask = torch.cat([*masks, prompt_mask.new_ones(b * c, n)], dim=1)
        h = self.mixer(h, attention_mask=mask)[:, -n:, : self.keep]  # [B*C, N, d_ff]
        return h.reshape(b, c, n, self.keep), stats

    def decode(
        self,
        z: torch.Tensor,
        stats: tuple[torch.Tensor, torch.Tensor],
        offset: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Patch tokens [B, C, N, d_ff] -> forecast [B, H, C] on the input's scale; ``offset``
        is added before RevIN is undone (text fusion's ``concat``)."""
        y = self.head(z)  # [B, H, C]
        if offset is not None:
            y = y + offset
        return self.revin.denormalize(y, stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(*self.encode(x))


def build_timellm(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
    """Time-LLM over the frozen backbone (``cfg.freeze`` is ignored: the LM never trains)."""
    backbone = load_backbone(cfg.backbone, cfg.n_layers, "frozen")
    vocab = backbone.word_embeddings()
    return TimeLLM(spec, cfg.params, backbone, vocab, load_tokenizer(cfg.backbone))


def build_timellm_ablation(cfg: ModelConfig, spec: ModelSpec, kind: str) -> nn.Module:
    """Time-LLM with the LM replaced by the Tan et al. ablation ``kind`` (see ``ABLATIONS``)."""
    # The vocabulary still defines the prototypes and the prompt; only the LM goes.
    lm = load_backbone(cfg.backbone, 1, "frozen")
    vocab = lm.word_embeddings().detach().clone()
    mixer = make_ablation_mixer(kind, lm.hidden_size, lm.n_heads, cfg.params.dropout)
    tokenizer = None if kind == "wo_llm" else load_tokenizer(cfg.backbone)
    return TimeLLM(spec, cfg.params, mixer, vocab, tokenizer)
