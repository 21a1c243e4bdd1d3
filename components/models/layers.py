"""Shared time-series layers: RevIN, patching, heads and the LLM-replacement mixers.

Every paradigm composes these; none re-implements them. Shapes use
B = batch, L = seq_len, C = channels, N = patches, P = patch_len, D = width,
H = horizon.
"""

from __future__ import annotations

import torch
from torch import nn

from tsalign.components.models.params import DropoutParams, PatchParams
from tsalign.components.models.spec import ABLATIONS, ModelBuildError, ModelSpec


class RevIN(nn.Module):
    """Reversible instance normalisation (Kim et al., ICLR 2022).

    Each window is normalised by its own per-channel mean and std over time, so a
    model sees level- and scale-free inputs; the statistics are put back on the
    output. Stateless between calls: the statistics travel with the call, so one
    module can serve concurrent forwards.

    Args:
        n_channels: C, needed only for the affine parameters.
        affine: Learn a per-channel scale and shift applied after normalising.
        eps: Added to the variance, guards constant windows.
    """

    def __init__(self, n_channels: int, affine: bool = False, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(n_channels))
            self.bias = nn.Parameter(torch.zeros(n_channels))

    def normalize(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x [B, L, C] -> (normalised [B, L, C], (mean [B, 1, C], std [B, 1, C]))."""
        mean = x.mean(dim=1, keepdim=True).detach()
        std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + self.eps).detach()
        out = (x - mean) / std
        if self.affine:
            out = out * self.weight + self.bias
        return out, (mean, std)

    def denormalize(
        self, y: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor]
    ) -> torch.Tensor:
        """y [B, T, C] on the normalised scale -> original scale using ``stats``."""
        mean, std = stats
        if self.affine:
            # Guard against a learned weight collapsing to 0 (division blow-up).
            y = (y - self.bias) / (self.weight + self.eps * self.eps)
        return y * std + mean


class Patcher(nn.Module):
    """Cut series into overlapping patches, PatchTST/GPT4TS style.

    The series is padded at the end by repeating its last value ``stride`` times
    (``padding_patch='end'`` in both reference codes), so
    ``n_patches = (seq_len - patch_len) // stride + 2``.

    Args:
        seq_len: L of the input.
        patch_len: P, time steps per patch.
        stride: Step between patch starts.

    Raises:
        ModelBuildError: patch_len longer than the padded series.
    """

    def __init__(self, seq_len: int, patch_len: int, stride: int) -> None:
        super().__init__()
        if patch_len > seq_len + stride:
            raise ModelBuildError(
                f"model.params.patch_len={patch_len} is longer than seq_len={seq_len} + "
                f"patch_stride={stride}; lower model.params.patch_len or raise "
                "data.window.seq_len"
            )
        self.seq_len = seq_len
        self.patch_len = patch_len
        self.stride = stride
        self.n_patches = (seq_len + stride - patch_len) // stride + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [..., L] -> patches [..., N, P]."""
        pad = x[..., -1:].expand(*x.shape[:-1], self.stride)
        x = torch.cat([x, pad], dim=-1)  # [..., L + stride]
        return x.unfold(-1, self.patch_len, self.stride)


class ConvPatchEmbedding(nn.Module):
    """Time-LLM's patch embedding (``TokenEmbedding`` in its reference code).

    A kernel-3 Conv1d over the sequence of patches: each patch's P values are the input
    channels, and each output token also sees its two neighbouring patches (circular padding,
    no bias, Kaiming-normal initialisation as the reference).

    patches [S, N, P] -> [S, N, D].
    """

    def __init__(self, patch_len: int, d: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(
            patch_len, d, kernel_size=3, padding=1, padding_mode="circular", bias=False
        )
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_in", nonlinearity="leaky_relu")

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return self.conv(patches.transpose(1, 2)).transpose(1, 2)


class FlattenHead(nn.Module):
    """Flatten the patch tokens of each channel and map them linearly to ``out_len`` steps.

    z [B, C, N, D] -> [B, out_len, C]. Shared across channels (channel independence).

    Args:
        n_patches: N.
        d: D.
        out_len: Output steps (horizon, or seq_len for reconstruction).
        head_dropout: Dropout on the output itself, as PatchTST's ``Flatten_Head``. Under
            inverted dropout a non-zero value trains the linear map to shrink forecasts toward
            the window mean, so it defaults to 0 (GPT4TS has none).
    """

    #: Input is RevIN-normalised and the output denormalised with the same statistics.
    uses_revin = True

    def __init__(self, n_patches: int, d: int, out_len: int, head_dropout: float = 0.0) -> None:
        super().__init__()
        self.flatten = nn.Flatten(start_dim=-2)
        self.linear = nn.Linear(n_patches * d, out_len)
        self.dropout = nn.Dropout(head_dropout)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = self.dropout(self.linear(self.flatten(z)))  # [B, C, out_len]
        return y.transpose(1, 2)


class FlattenClassificationHead(nn.Module):
    """GPT4TS's classification head: GELU over the patch tokens, flatten every channel's
    patches, LayerNorm, dropout, linear to class logits (Zhou et al. 2023, ``ln_proj`` and
    ``out_layer`` of its classification model).

    z [B, C, N, D] -> logits [B, n_classes].
    """

    #: No RevIN: a window's level and scale are evidence of its class (standing vs running).
    uses_revin = False

    def __init__(
        self, n_channels: int, n_patches: int, d: int, n_classes: int, dropout: float
    ) -> None:
        super().__init__()
        width = n_channels * n_patches * d
        self.norm = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(width, n_classes)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        flat = torch.nn.functional.gelu(z).flatten(1)  # [B, C*N*D]
        return self.linear(self.dropout(self.norm(flat)))


def make_head(
    task: str,
    *,
    n_patches: int,
    d: int,
    horizon: int,
    n_channels: int,
    n_classes: int | None,
    dropout: float,
    head_dropout: float,
) -> nn.Module:
    """The task head over patch tokens [B, C, N, D].

    forecast and anomaly -> [B, horizon, C] (a detector scores rows by its forecast error,
    see ``components.inference.detector``); classify -> [B, n_classes]. ``dropout``
    regularises the flattened features of the
    classification head; ``head_dropout`` acts on the output of the flatten head.
    """
    if task == "classify":
        assert n_classes is not None  # ModelSpec validates this
        return FlattenClassificationHead(n_channels, n_patches, d, n_classes, dropout)
    return FlattenHead(n_patches, d, horizon, head_dropout)


class IdentityMixer(nn.Module):
    """Tan et al. 'w/o LLM': the language model removed, tokens pass straight to the head."""

    def forward(self, h: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return h


class AttentionMixer(nn.Module):
    """Tan et al. 'LLM2Attn': one randomly initialised multi-head self-attention layer."""

    def __init__(self, d: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(d, n_heads, dropout=dropout, batch_first=True)

    def forward(self, h: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        # attention_mask [B, T] is 1 for real tokens (HF convention); MHA wants True = ignore.
        pad = None if attention_mask is None else attention_mask == 0
        out, _ = self.attn(h, h, h, key_padding_mask=pad, need_weights=False)
        return out


class TransformerMixer(nn.Module):
    """Tan et al. 'LLM2Trans': one randomly initialised transformer encoder block."""

    def __init__(self, d: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.block = nn.TransformerEncoderLayer(
            d, n_heads, dim_feedforward=4 * d, dropout=dropout, batch_first=True
        )

    def forward(self, h: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        pad = None if attention_mask is None else attention_mask == 0
        return self.block(h, src_key_padding_mask=pad)


def make_ablation_mixer(kind: str, d: int, n_heads: int, dropout: float) -> nn.Module:
    """The module replacing the LM in a Tan et al. ablation (``kind`` in :data:`ABLATIONS`)."""
    if kind == "wo_llm":
        return IdentityMixer()
    if kind == "llm2attn":
        return AttentionMixer(d, n_heads, dropout)
    if kind == "llm2trans":
        return TransformerMixer(d, n_heads, dropout)
    raise ModelBuildError(f"unknown ablation {kind!r}; valid: {list(ABLATIONS)}")


class ReprogrammingLayer(nn.Module):
    """Time-LLM reprogramming: cross-attention from patch embeddings to text prototypes.

    Queries come from the patch embeddings [B, N, d_model], keys and values from the
    prototypes [S, d_llm]; the result is projected into the LM width [B, N, d_llm], so each
    patch is expressed as a mixture of word-like vectors the frozen LM can read.

    Args:
        d_model: Width of the patch embeddings.
        n_heads: Attention heads.
        d_keys: Per-head key width.
        d_llm: LM hidden size.
        dropout: On the attention weights.
    """

    def __init__(self, d_model: int, n_heads: int, d_keys: int, d_llm: int, dropout: float) -> None:
        super().__init__()
        self.n_heads, self.d_keys = n_heads, d_keys
        self.query = nn.Linear(d_model, n_heads * d_keys)
        self.key = nn.Linear(d_llm, n_heads * d_keys)
        self.value = nn.Linear(d_llm, n_heads * d_keys)
        self.out = nn.Linear(n_heads * d_keys, d_llm)
        self.dropout = nn.Dropout(dropout)

    def forward(self, patches: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
        """patches [B, N, d_model], prototypes [S, d_llm] -> [B, N, d_llm]."""
        b, n, _ = patches.shape
        s = prototypes.shape[0]
        q = self.query(patches).view(b, n, self.n_heads, self.d_keys)
        k = self.key(prototypes).view(s, self.n_heads, self.d_keys)
        v = self.value(prototypes).view(s, self.n_heads, self.d_keys)
        scores = torch.einsum("bnhe,she->bhns", q, k) / self.d_keys**0.5
        attn = self.dropout(torch.softmax(scores, dim=-1))  # [B, heads, N, S]
        mixed = torch.einsum("bhns,she->bnhe", attn, v).reshape(b, n, -1)
        return self.out(mixed)


class MovingAverage(nn.Module):
    """Trend by a centred moving average with edge replication (DLinear/Autoformer).

    x [B, L, C] -> trend [B, L, C].
    """

    def __init__(self, kernel: int) -> None:
        super().__init__()
        self.kernel = kernel
        self.pool = nn.AvgPool1d(kernel_size=kernel, stride=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        front = x[:, :1, :].expand(-1, (self.kernel - 1) // 2, -1)
        back = x[:, -1:, :].expand(-1, self.kernel // 2, -1)
        padded = torch.cat([front, x, back], dim=1)  # [B, L + kernel - 1, C]
        return self.pool(padded.transpose(1, 2)).transpose(1, 2)


class PatchMixerModel(nn.Module):
    """Channel-independent patch model around a sequence mixer (an LM or its ablation).

    forward: x [B, L, C] -> forecast [B, H, C] (forecast, anomaly) | logits [B, K] (classify).

    Args:
        spec: Data shapes and task.
        params: Patching and dropout (patch_len, patch_stride, dropout, head_dropout).
        mixer: ``mixer(h [B*C, N, D]) -> [B*C, N, D]``.
        d: Width D of the mixer.
        revin_affine: Learn a per-channel scale/shift in RevIN.
    """

    def __init__(
        self,
        spec: ModelSpec,
        params: PatchParams | DropoutParams,
        mixer: nn.Module,
        d: int,
        *,
        revin_affine: bool,
    ) -> None:
        super().__init__()
        self.revin = RevIN(spec.n_channels, affine=revin_affine)
        self.patcher = Patcher(spec.seq_len, params.patch_len, params.patch_stride)
        self.embed = nn.Linear(params.patch_len, d)
        self.mixer = mixer
        self.head = make_head(
            spec.task,
            n_patches=self.patcher.n_patches,
            d=d,
            horizon=spec.horizon,
            n_channels=spec.n_channels,
            n_classes=spec.n_classes,
            dropout=params.dropout,
            head_dropout=params.head_dropout,
        )

    def encode(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
        """x [B, L, C] -> patch tokens [B, C, N, D] and the RevIN statistics (None if unused)."""
        b, _, c = x.shape
        stats = None
        if self.head.uses_revin:
            x, stats = self.revin.normalize(x)
        patches = self.patcher(x.transpose(1, 2).reshape(b * c, -1))  # [B*C, N, P]
        h = self.mixer(self.embed(patches))  # [B*C, N, D]
        return h.reshape(b, c, *h.shape[1:]), stats

    @property
    def token_width(self) -> int:
        """D of the tokens :meth:`encode` returns (text fusion projects text to it)."""
        return self.embed.out_features

    def decode(
        self,
        z: torch.Tensor,
        stats: tuple[torch.Tensor, torch.Tensor] | None,
        offset: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Patch tokens [B, C, N, D] -> the task output on the input's scale.

        ``offset`` (shaped as the output) is added to the head's output before RevIN is
        undone: a second head block over other features (text fusion's ``concat``).
        """
        y = self.head(z)
        if offset is not None:
            y = y + offset
        return y if stats is None else self.revin.denormalize(y, stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(*self.encode(x))
