"""Retrieval-augmented forecasting: ``model.retrieval`` around any trainable forecaster.

:class:`RetrievalForecaster` holds its training index as buffers (the training split's rows,
the indexed windows' starts and their embeddings, from
:mod:`tsalign.components.data.retrieval_index`), so the index is saved in the model's
safetensors file and travels with every checkpoint and registry version. Per window and
channel it takes the ``k`` nearest training windows: given as ``neighbours`` by the training
recipe (computed once per data version, overlapping windows excluded), or searched here
with the same scikit-learn index for any other window (evaluation, ``tsalign predict``).

Each neighbour's history and what followed it are normalised by the neighbour's own history
(mean and std), and fused with the base forecast in the query's normalised scale:

- ``concat``: a linear map over ``[base forecast; k retrieved futures]`` (per channel,
  [(k+1)H] -> [H]), starting as the identity on the base forecast (RAFT, Han et al. 2025,
  fuses its retrieved futures by a linear map over a concatenation, too);
- ``attention``: the window's history queries the neighbours' histories (keys) and
  futures (values) with multi-head attention; the result, projected to the horizon by a
  zero-initialised head, is added to the base forecast.

Both start as the base forecaster, so retrieval can only be learned in, not forced.

Entries: ``retrieval`` (DLinear, LM embeddings: the frozen ``model.backbone`` over each
serialised window summary) and ``retrieval_wo_llm`` (the same with the raw summaries).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tsalign.components.data.retrieval_index import (
    RetrievalIndex,
    WindowIndex,
    metric_of,
    serialise,
    summarise,
)
from tsalign.components.models.baselines import build_dlinear
from tsalign.components.models.spec import ModelBuildError, ModelSpec

ATTENTION_WIDTH = 64
"""Width of the attention fusion's tokens (one per window history or neighbour)."""
ATTENTION_HEADS = 4
EPS = 1e-5


class RawEmbedder(nn.Module):
    """The window summaries themselves (no LM): histories [N, L] -> [N, S]."""

    def forward(self, histories: np.ndarray) -> np.ndarray:
        return summarise(histories)


class LMEmbedder(nn.Module):
    """A frozen LM over each serialised window summary, mean-pooled: [N, L] -> [N, E].

    Its weights are the pretrained backbone's (``is_pretrained_backbone``): a saved model
    stores their fingerprint, not the weights, and reloads them from ``model.backbone``.
    """

    is_pretrained_backbone = True

    def __init__(self, backbone: str) -> None:
        super().__init__()
        from tsalign.components.models.text_encoder import SentenceEncoder

        self.encoder = SentenceEncoder(backbone)
        self.lm = self.encoder.model  # registered, so it follows the module's device

    def forward(self, histories: np.ndarray) -> np.ndarray:
        return self.encoder(serialise(summarise(histories)))


def make_embedder(embed: str, backbone: str) -> nn.Module:
    """The embedder of ``model.retrieval.embed`` (``lm`` loads ``backbone``)."""
    return LMEmbedder(backbone) if embed == "lm" else RawEmbedder()


def _normalised(values: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
    """``values`` in units of ``history``'s mean and std (over the last axis)."""
    mean = history.mean(-1, keepdim=True)
    std = history.std(-1, unbiased=False, keepdim=True) + EPS
    return (values - mean) / std


class RetrievalForecaster(nn.Module):
    """``base`` plus its k nearest training windows, fused as ``fusion``.

    forward: x [B, L, C], neighbours [B, C, k'] with k' >= k (rows of the index, nearest
    first; searched when None) -> forecast [B, H, C].

    Args:
        base: any forecaster [B, L, C] -> [B, H, C].
        embedder: :class:`LMEmbedder` or :class:`RawEmbedder`.
        embed: ``lm`` or ``raw`` (picks the search metric).
        k: neighbours per window and channel.
        fusion: ``concat`` or ``attention``.
        spec: shapes; ``retrieval_rows`` / ``retrieval_windows`` size the index buffers.
        key_dim: E, the embedder's output width.
    """

    def __init__(
        self,
        base: nn.Module,
        embedder: nn.Module,
        *,
        embed: str,
        k: int,
        fusion: str,
        spec: ModelSpec,
        key_dim: int,
    ) -> None:
        super().__init__()
        self.base, self.embedder, self.k, self.fusion = base, embedder, k, fusion
        self.metric = metric_of(embed)
        self.seq_len, self.horizon = spec.seq_len, spec.horizon
        c, h = spec.n_channels, spec.horizon
        self.register_buffer("series", torch.zeros(spec.retrieval_rows, c))
        self.register_buffer("starts", torch.zeros(spec.retrieval_windows, dtype=torch.long))
        self.register_buffer("keys", torch.zeros(spec.retrieval_windows, c, key_dim))
        self._index: WindowIndex | None = None
        self.register_load_state_dict_post_hook(lambda module, _: module._forget_index())
        if fusion == "concat":
            self.mix = nn.Linear((k + 1) * h, h)
            with torch.no_grad():  # starts as the base forecast
                self.mix.weight.zero_()
                self.mix.weight[:, :h] = torch.eye(h)
                self.mix.bias.zero_()
        else:
            self.embed_history = nn.Linear(spec.seq_len, ATTENTION_WIDTH)
            self.embed_future = nn.Linear(h, ATTENTION_WIDTH)
            self.attn = nn.MultiheadAttention(ATTENTION_WIDTH, ATTENTION_HEADS, batch_first=True)
            self.head = nn.Linear(ATTENTION_WIDTH, h)
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def _forget_index(self) -> None:
        self._index = None

    def set_index(self, index: RetrievalIndex) -> None:
        """Fill the index buffers from a built index (the shapes the spec gave).

        Raises:
            ModelBuildError: the index does not have the spec's shapes.
        """
        tensors = {"series": index.series, "starts": index.starts, "keys": index.keys}
        for name, array in tensors.items():
            buffer = getattr(self, name)
            if tuple(buffer.shape) != array.shape:
                raise ModelBuildError(
                    f"retrieval index {name} has shape {array.shape}, the model "
                    f"{tuple(buffer.shape)}; rebuild the model from the index's spec"
                )
            buffer.copy_(torch.from_numpy(np.ascontiguousarray(array)))
        self._forget_index()

    def retrieve(self, x: torch.Tensor) -> torch.Tensor:
        """The k nearest indexed windows of each window and channel: x [B, L, C] -> [B, C, k]."""
        if self.starts.numel() == 0:
            raise ModelBuildError(
                "this retrieval model holds no index; train it (the train stage builds one)"
            )
        if self._index is None:
            self._index = WindowIndex(self.keys.cpu().numpy(), self.metric)
        b, seq_len, c = x.shape
        flat = x.detach().float().permute(0, 2, 1).reshape(b * c, seq_len).cpu().numpy()
        with torch.no_grad():
            queries = np.asarray(self.embedder(flat), dtype=np.float32).reshape(b, c, -1)
        return torch.from_numpy(self._index.search(queries, self.k)).to(x.device)

    def neighbours_of(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Histories [B, C, k, L] and futures [B, C, k, H] of the indexed windows ``ids``."""
        steps = torch.arange(self.seq_len + self.horizon, device=ids.device)
        rows = self.starts[ids].unsqueeze(-1) + steps  # [B, C, k, L+H]
        channel = torch.arange(ids.shape[1], device=ids.device).view(1, -1, 1, 1)
        values = self.series[rows, channel]  # [B, C, k, L+H]
        return values[..., : self.seq_len], values[..., self.seq_len :]

    def forward(self, x: torch.Tensor, neighbours: torch.Tensor | None = None) -> torch.Tensor:
        y = self.base(x)  # [B, H, C]
        if neighbours is None:
            neighbours = self.retrieve(x)
        elif neighbours.shape[-1] < self.k:
            raise ModelBuildError(
                f"the retrieval index gives {neighbours.shape[-1]} neighbours per window, "
                f"fewer than model.retrieval.k={self.k}; build the index for this k"
            )
        # Neighbours are stored nearest first, so an index built for a larger k (a tune
        # search's largest) serves this k with its first k columns.
        history, future = self.neighbours_of(neighbours[..., : self.k].long())
        future = _normalised(future, history)  # [B, C, k, H] in each neighbour's units
        query = x.permute(0, 2, 1)  # [B, C, L]
        mean = query.mean(-1, keepdim=True)
        std = query.std(-1, unbiased=False, keepdim=True) + EPS
        base = (y.permute(0, 2, 1) - mean) / std  # [B, C, H] in the window's units
        if self.fusion == "concat":
            fused = self.mix(torch.cat([base, future.flatten(-2)], dim=-1))  # [B, C, H]
        else:
            fused = base + self._attend(
                _normalised(query, query), _normalised(history, history), future
            )
        return (fused * std + mean).permute(0, 2, 1)

    def _attend(
        self, query: torch.Tensor, history: torch.Tensor, future: torch.Tensor
    ) -> torch.Tensor:
        """The window [B, C, L] attends over its neighbours [B, C, k, L|H] -> [B, C, H]."""
        b, c, k, _ = history.shape
        q = self.embed_history(query).reshape(b * c, 1, -1)  # [B*C, 1, D]
        keys = self.embed_history(history).reshape(b * c, k, -1)  # [B*C, k, D]
        values = self.embed_future(future).reshape(b * c, k, -1)
        mixed, _ = self.attn(q, keys, values, need_weights=False)
        return self.head(mixed).reshape(b, c, -1)


def with_retrieval(model: nn.Module, cfg: object, spec: ModelSpec) -> nn.Module:
    """``model`` wrapped in :class:`RetrievalForecaster` per ``cfg.retrieval``.

    Raises:
        ModelBuildError: a task other than forecasting.
    """
    retrieval = cfg.retrieval  # type: ignore[attr-defined]
    if spec.task != "forecast":
        raise ModelBuildError(
            f"model.retrieval retrieves what followed similar windows, so it is for "
            f"forecasting, not task {spec.task!r}; drop model.retrieval"
        )
    embedder = make_embedder(retrieval.embed, cfg.backbone)  # type: ignore[attr-defined]
    key_dim = embedder.encoder.dim if isinstance(embedder, LMEmbedder) else _summary_width(spec)
    return RetrievalForecaster(
        model,
        embedder,
        embed=retrieval.embed,
        k=retrieval.k,
        fusion=retrieval.fusion,
        spec=spec,
        key_dim=key_dim,
    )


def _summary_width(spec: ModelSpec) -> int:
    return int(summarise(np.zeros((1, spec.seq_len))).shape[1])


def build_retrieval(cfg: object, spec: ModelSpec) -> nn.Module:
    """The forecaster ``retrieval`` wraps: DLinear (``build_model`` adds the retrieval)."""
    return build_dlinear(cfg, spec)  # type: ignore[arg-type]


def build_retrieval_ablation(cfg: object, spec: ModelSpec, kind: str) -> nn.Module:
    """``retrieval_wo_llm``: the same DLinear; its ``model.retrieval.embed`` is ``raw``.

    Raises:
        ModelBuildError: an ablation other than w/o LLM.
    """
    if kind != "wo_llm":
        raise ModelBuildError(f"retrieval has only the wo_llm ablation, not {kind!r}")
    return build_dlinear(cfg, spec)  # type: ignore[arg-type]


__all__ = [
    "LMEmbedder",
    "RawEmbedder",
    "RetrievalForecaster",
    "build_retrieval",
    "build_retrieval_ablation",
    "make_embedder",
    "with_retrieval",
]
