"""Internal paradigm: the LM itself is tuned (GPT4TS / One-Fits-All, Zhou et al. NeurIPS 2023).

Recipe: RevIN -> patching -> linear patch embedding into the LM width -> the first k
blocks of a pretrained LM fed through ``inputs_embeds`` (attention + FFN frozen, layer
norms + position embeddings trainable; or LoRA adapters) -> flatten-linear head.
Channel independent: each channel is a separate sequence through the shared model.

The same body with the LM swapped for nothing / one attention layer / one transformer
block gives the Tan et al. (NeurIPS 2024) ablations.
"""

from __future__ import annotations

import torch
from torch import nn

from components.config import ModelConfig
from components.models.backbone import backbone_config, load_backbone
from components.models.catalogue import register
from components.models.layers import (
    ABLATIONS,
    Patcher,
    RevIN,
    make_ablation_mixer,
    make_head,
)
from components.models.spec import ModelSpec


class PatchMixerModel(nn.Module):
    """Channel-independent patch model around a sequence mixer (an LM or its ablation).

    forward: x [B, L, C] -> forecast [B, H, C] | logits [B, K] | reconstruction [B, L, C].

    Args:
        spec: Data shapes and task.
        cfg: Model hyper-parameters (patch_len, stride, dropout, revin_affine).
        mixer: ``mixer(h [B*C, N, D]) -> [B*C, N, D]``.
        d: Width D of the mixer.
    """

    def __init__(self, spec: ModelSpec, cfg: ModelConfig, mixer: nn.Module, d: int) -> None:
        super().__init__()
        self.revin = RevIN(spec.n_channels, affine=cfg.revin_affine)
        self.patcher = Patcher(spec.seq_len, cfg.patch_len, cfg.stride)
        self.embed = nn.Linear(cfg.patch_len, d)
        self.mixer = mixer
        self.head = make_head(
            spec.task,
            n_patches=self.patcher.n_patches,
            d=d,
            spec_seq_len=spec.seq_len,
            horizon=spec.horizon,
            n_channels=spec.n_channels,
            n_classes=spec.n_classes,
            dropout=cfg.dropout,
        )
        if spec.task == "anomaly":
            self.register_buffer("anomaly_threshold", torch.tensor(float("nan")))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x [B, L, C] -> patch tokens [B, C, N, D] and the RevIN statistics."""
        b, _, c = x.shape
        x, stats = self.revin.normalize(x)
        patches = self.patcher(x.transpose(1, 2).reshape(b * c, -1))  # [B*C, N, P]
        h = self.mixer(self.embed(patches))  # [B*C, N, D]
        return h.reshape(b, c, *h.shape[1:]), stats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, stats = self.encode(x)
        y = self.head(z)
        return self.revin.denormalize(y, stats) if self.head.denormalize else y


def _gpt4ts(cfg: ModelConfig, spec: ModelSpec, freeze: str | None = None) -> PatchMixerModel:
    backbone = load_backbone(
        cfg.backbone,
        cfg.n_layers,
        freeze or cfg.freeze,
        lora_r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        lora_targets=cfg.lora_targets,
    )
    return PatchMixerModel(spec, cfg, backbone, backbone.hidden_size)


ALL_TASKS = ("forecast", "classify", "anomaly")


@register(
    "gpt4ts",
    tasks=ALL_TASKS,
    paradigm="internal",
    summary="GPT4TS: patches into a pretrained LM, LN + position embeddings tuned "
    "(model.freeze selects the policy)",
)
def build_gpt4ts(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
    """GPT4TS with the freezing policy ``cfg.freeze`` (default ``ln_pos``)."""
    return _gpt4ts(cfg, spec)


@register(
    "gpt4ts_lora",
    tasks=ALL_TASKS,
    paradigm="internal",
    summary="GPT4TS with PEFT LoRA adapters on the LM attention (base frozen)",
)
def build_gpt4ts_lora(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
    """GPT4TS whose LM is wrapped with LoRA (``lora_r``, ``lora_alpha``, ``lora_targets``)."""
    return _gpt4ts(cfg, spec, freeze="lora")


def _register_ablation(kind: str) -> None:
    @register(
        f"gpt4ts_{kind}",
        tasks=ALL_TASKS,
        paradigm="ablation",
        summary=f"GPT4TS ablation {ABLATIONS[kind]} (Tan et al. 2024)",
    )
    def build(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
        # Same width as the LM it replaces, so only the LM differs from gpt4ts.
        lm_cfg = backbone_config(cfg.backbone)
        d = int(lm_cfg.hidden_size)
        mixer = make_ablation_mixer(kind, d, int(lm_cfg.num_attention_heads), cfg.dropout)
        return PatchMixerModel(spec, cfg, mixer, d)


for _kind in ABLATIONS:
    _register_ablation(_kind)
