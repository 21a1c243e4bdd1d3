"""Cross-modal distillation: CALF (Liu et al. AAAI 2025), internal paradigm.

Recipe, as the reference code (Hank0626/CALF, models/CALF.py and utils/cmLoss.py): RevIN ->
each channel's whole window is one token (a linear map L -> D, then one transformer encoder
layer) -> the cross-modal match module: the series tokens attend to the principal components
of the LM's word embeddings (multi-head attention), giving the textual branch's tokens ->
two copies of the LM: the temporal branch (LoRA on the attention, layer norms and position
embeddings trained) over the series tokens, the textual branch (frozen but for its position
embeddings) over the matched tokens, each with a residual connection -> one shared linear
head per token to the horizon. Training adds, beside the supervised loss, a feature
regularisation loss (L1 between projected hidden states of every layer of the two
branches, deepest first, weighted 0.8^i) and an output consistency loss (L1 between the two
branches' forecasts). Inference runs the temporal branch only.

Deliberate differences from the reference, each a setting or stated here:
- The supervised term is the recipe's MSE, as for every catalogue entry (CALF's scripts use
  L1); the distillation terms are L1 as the reference.
- ``principal_components`` defaults to 500 as the reference, capped at the LM width (the
  PCA of a D-wide embedding has at most D components; MiniLM: 384).
- The match attention uses the LM's head count (12 for GPT-2 and MiniLM, CALF's 12).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from tsalign.components.config import ModelConfig
from tsalign.components.models.backbone import Backbone, load_backbone, train_positions
from tsalign.components.models.layers import RevIN, make_ablation_mixer
from tsalign.components.models.objective import AuxiliaryObjective
from tsalign.components.models.params import CALFMatchParams, CALFParams
from tsalign.components.models.spec import ModelBuildError, ModelSpec

REFERENCE_COMPONENTS = 500
"""Principal components CALF keeps (its pca.py: ``PCA(n_components=500)`` over GPT-2's wte)."""
LAYER_DECAY = 0.8
"""Weight ratio of successive layers in the feature loss, deepest layer first (cmLoss)."""


def principal_components(word_embeddings: torch.Tensor, k: int) -> torch.Tensor:
    """CALF's textual prototypes: the first ``k`` principal components of the vocabulary.

    As the reference (``PCA(500).fit_transform(wte.T)``): the embedding matrix transposed,
    [D, V], centred per word, and projected on its ``k`` leading principal axes; transposed
    back, each row is a D-wide vector. A deterministic SVD, so a rebuilt model gets the
    same components.

    Args:
        word_embeddings: [V, D].
        k: Components kept, 1..D.

    Returns:
        [k, D] in fp32.
    """
    x = word_embeddings.detach().double().T  # [D, V]: the D embedding dimensions are samples
    x = x - x.mean(dim=0, keepdim=True)
    # U S of x = U S V^T from the D x D Gram matrix (an SVD of [D, V] costs ~30x more).
    eigvals, eigvecs = torch.linalg.eigh(x @ x.T)  # ascending
    order = torch.argsort(eigvals, descending=True)[:k]
    scores = eigvecs[:, order] * eigvals[order].clamp(min=0).sqrt()
    return scores.T.float().contiguous()


class CrossModalMatch(nn.Module):
    """CALF's ``Encoder_PCA``: series tokens and their match in the word-embedding space.

    tokens [S, C, L] -> (temporal tokens [S, C, D], textual tokens [S, C, D]).
    """

    def __init__(
        self, seq_len: int, d: int, heads: int, dropout: float, components: torch.Tensor
    ) -> None:
        super().__init__()
        self.linear = nn.Linear(seq_len, d)
        # torch's defaults otherwise (feed-forward 2048, post-norm), as the reference.
        self.encoder = nn.TransformerEncoderLayer(d, heads, dropout=dropout, batch_first=True)
        self.match = nn.MultiheadAttention(d, heads, batch_first=True)
        self.register_buffer("components", components)  # [K, D], stored with the model

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        temporal = self.encoder(self.linear(tokens))
        keys = self.components.to(temporal.dtype).expand(temporal.shape[0], -1, -1)
        textual, _ = self.match(temporal, keys, keys, need_weights=False)
        return temporal, textual


def branch_states(mixer: nn.Module, h: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Hidden states of one branch: the LM's embedding output and every block's; an LLM-free
    replacement gives its input and output."""
    if isinstance(mixer, Backbone):
        return mixer.hidden_states(h)
    return (h, mixer(h))


class CALF(AuxiliaryObjective):
    """CALF forecaster: x [B, L, C] -> [B, H, C]; training forwards record the distillation terms.

    Args:
        spec: Data shapes (forecast task).
        params: Match, loss-weight settings.
        temporal: The temporal branch: the LoRA-adapted LM, or its Tan et al. replacement.
        textual: The textual branch: the frozen LM copy, or its replacement.
        n_states: Hidden states each branch yields (LM blocks + 1; 2 for a replacement).
        components: Principal components of the word embeddings [K, D].
        heads: Heads of the match attention.
    """

    def __init__(
        self,
        spec: ModelSpec,
        params: CALFMatchParams,
        temporal: nn.Module,
        textual: nn.Module,
        n_states: int,
        components: torch.Tensor,
        heads: int,
    ) -> None:
        super().__init__()
        d = components.shape[1]
        if d % heads:
            raise ModelBuildError(
                f"model.params.match_heads={heads} must divide the LM width {d}; pick a divisor"
            )
        self.feature_weight, self.output_weight = params.feature_weight, params.output_weight
        self.revin = RevIN(spec.n_channels)
        self.match = CrossModalMatch(spec.seq_len, d, heads, params.dropout, components)
        self.temporal = temporal
        self.textual = textual
        self.time_proj = nn.ModuleList(nn.Linear(d, d, bias=False) for _ in range(n_states))
        self.text_proj = nn.ModuleList(nn.Linear(d, d, bias=False) for _ in range(n_states))
        self.head = nn.Linear(d, spec.horizon)  # shared by both branches, per channel token

    def _forecast(
        self, out: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor]
    ) -> torch.Tensor:
        return self.revin.denormalize(self.head(out).transpose(1, 2), stats)  # [B, H, C]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, stats = self.revin.normalize(x)
        temporal_in, textual_in = self.match(x.transpose(1, 2))  # [B, C, D] each
        if not self.training:  # inference: the temporal branch only
            return self._forecast(self.temporal(temporal_in) + temporal_in, stats)
        time_states = branch_states(self.temporal, temporal_in)
        text_states = branch_states(self.textual, textual_in)
        y_time = self._forecast(time_states[-1] + temporal_in, stats)
        y_text = self._forecast(text_states[-1] + textual_in, stats)
        projected = zip(
            [p(h) for p, h in zip(self.time_proj, time_states, strict=True)][::-1],
            [p(h) for p, h in zip(self.text_proj, text_states, strict=True)][::-1],
            strict=True,
        )
        feature = sum(LAYER_DECAY**i * F.l1_loss(t, s) for i, (t, s) in enumerate(projected))
        self.record(
            feature=self.feature_weight * feature,
            consistency=self.output_weight * F.l1_loss(y_time, y_text),
        )
        return y_time


def _components(params: CALFMatchParams, word_embeddings: torch.Tensor) -> torch.Tensor:
    width = word_embeddings.shape[1]
    k = params.principal_components
    if k is not None and k > width:
        raise ModelBuildError(
            f"model.params.principal_components={k}: the word embeddings are {width} wide, so "
            f"they have at most {width} principal components; choose 1..{width} or null"
        )
    return principal_components(word_embeddings, k or min(REFERENCE_COMPONENTS, width))


def build_calf(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
    """CALF: the LoRA-adapted temporal branch and a frozen textual copy of ``cfg.backbone``."""
    p: CALFParams = cfg.params
    temporal = load_backbone(
        cfg.backbone,
        cfg.n_layers,
        "lora",
        lora_r=p.lora_r,
        lora_alpha=p.lora_alpha,
        lora_dropout=p.lora_dropout,
        lora_targets=p.lora_targets,
    )
    train_positions(temporal.lm, norms=True)  # CALF trains ln, wpe and LoRA
    textual = load_backbone(cfg.backbone, cfg.n_layers, "frozen")
    train_positions(textual.lm, norms=False)  # and only wpe in the textual copy
    components = _components(p, textual.word_embeddings())
    heads = p.match_heads or textual.n_heads
    return CALF(spec, p, temporal, textual, cfg.n_layers + 1, components, heads)


def build_calf_ablation(cfg: ModelConfig, spec: ModelSpec, kind: str) -> nn.Module:
    """CALF with both LM branches replaced by the Tan et al. ablation ``kind``; the match
    module (and so the word embeddings' components) and the distillation losses stay."""
    p: CALFMatchParams = cfg.params
    lm = load_backbone(cfg.backbone, 1, "frozen")
    d, heads = lm.hidden_size, lm.n_heads
    components = _components(p, lm.word_embeddings())
    temporal, textual = (make_ablation_mixer(kind, d, heads, p.dropout) for _ in range(2))
    return CALF(spec, p, temporal, textual, 2, components, p.match_heads or heads)
