"""Internal paradigm: the LM itself is tuned (GPT4TS / One-Fits-All, Zhou et al. NeurIPS 2023).

Recipe: RevIN -> patching -> linear patch embedding into the LM width -> the first k
blocks of a pretrained LM fed through ``inputs_embeds`` (attention + FFN frozen, layer
norms + position embeddings trainable; or LoRA adapters) -> flatten-linear head.
Channel independent: each channel is a separate sequence through the shared model.

The same body with the LM swapped for nothing / one attention layer / one transformer
block gives the Tan et al. (NeurIPS 2024) ablations.
"""

from __future__ import annotations

from torch import nn

from tsalign.components.config import ModelConfig
from tsalign.components.models.backbone import backbone_config, load_backbone
from tsalign.components.models.layers import PatchMixerModel, make_ablation_mixer
from tsalign.components.models.params import GPT4TSParams, PatchModelParams
from tsalign.components.models.spec import ModelSpec


def _gpt4ts(cfg: ModelConfig, spec: ModelSpec, freeze: str | None = None) -> PatchMixerModel:
    p: GPT4TSParams = cfg.params
    backbone = load_backbone(
        cfg.backbone,
        cfg.n_layers,
        freeze or cfg.freeze,
        lora_r=p.lora_r,
        lora_alpha=p.lora_alpha,
        lora_dropout=p.lora_dropout,
        lora_targets=p.lora_targets,
    )
    return PatchMixerModel(spec, p, backbone, backbone.hidden_size, revin_affine=p.revin_affine)


def build_gpt4ts(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
    """GPT4TS with the freezing policy ``cfg.freeze`` (default ``ln_pos``)."""
    return _gpt4ts(cfg, spec)


def build_gpt4ts_lora(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
    """GPT4TS whose LM is wrapped with LoRA (``model.params.lora_r``, ``lora_alpha`` ...)."""
    return _gpt4ts(cfg, spec, freeze="lora")  # the catalogue entry's fixed policy


def build_gpt4ts_ablation(cfg: ModelConfig, spec: ModelSpec, kind: str) -> nn.Module:
    """GPT4TS with the LM replaced by the Tan et al. ablation ``kind`` (see ``ABLATIONS``)."""
    # Same width as the LM it replaces, so only the LM differs from gpt4ts.
    p: PatchModelParams = cfg.params
    lm_cfg = backbone_config(cfg.backbone)
    d = int(lm_cfg.hidden_size)
    mixer = make_ablation_mixer(kind, d, int(lm_cfg.num_attention_heads), p.dropout)
    return PatchMixerModel(spec, p, mixer, d, revin_affine=p.revin_affine)
