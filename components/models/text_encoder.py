"""Embed each distinct text once with a frozen sentence encoder, and keep it.

Time-stamped texts (``data/<name>.text.parquet``) repeat across windows and epochs; a
window's texts are looked up here, never re-encoded. An embedding is keyed by the
sha256 of (encoder identity, pooling, text), where the encoder identity is the sha256 of
the backbone's weight files, so a changed checkpoint under the same name is a new key.
Embeddings are stored as safetensors shards under ``cache_dir`` (one shard per batch of
new texts); nothing is unpickled.

Usage::

    cache = TextEmbeddingCache(Path(".cache/text-emb"), encoder=SentenceEncoder("minilm"))
    vectors = cache.embed(texts["text"].tolist())   # [N, 384] float32
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from tsalign.components.models.backbone import load_tokenizer, resolve_backbone
from tsalign.components.storage import atomic_path, sha256_file

Pooling = Literal["mean", "max"]
POOLINGS: tuple[str, ...] = ("mean", "max")


class SentenceEncoder:
    """A frozen Hugging Face encoder (``minilm`` by default) pooled over its tokens.

    Args:
        backbone: ``minilm``, a local directory, an ``s3://`` prefix or a hub id.
        pooling: ``mean`` or ``max`` over the non-padding tokens of the last layer.
        max_tokens: texts are truncated to this many tokens.
        batch_size: texts per forward pass.
    """

    def __init__(
        self,
        backbone: str = "minilm",
        pooling: Pooling = "mean",
        max_tokens: int = 256,
        batch_size: int = 64,
    ) -> None:
        from transformers import AutoModel

        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        path = resolve_backbone(backbone)
        self.tokenizer = load_tokenizer(backbone)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        self.model.requires_grad_(False)
        self.pooling = pooling
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        weights = sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))
        digest = hashlib.sha256()
        for file in weights:
            digest.update(sha256_file(file).encode())
        self.identity = f"{digest.hexdigest()}:{pooling}:{max_tokens}"
        self.dim = int(self.model.config.hidden_size)

    @torch.no_grad()
    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Pooled embeddings, [len(texts), hidden] float32."""
        out = []
        for i in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(
                list(texts[i : i + self.batch_size]),
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="pt",
            )
            batch = batch.to(self.model.device)  # the encoder may sit on a GPU
            hidden = self.model(**batch).last_hidden_state  # [B, L, H]
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # [B, L, 1]
            if self.pooling == "mean":
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            else:
                pooled = hidden.masked_fill(mask == 0, float("-inf")).amax(1)
            out.append(pooled.float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim), dtype=np.float32)


class TextEmbeddingCache:
    """Embeddings of texts by content; each distinct text goes through ``encoder`` once.

    Args:
        cache_dir: where the safetensors shards live (shared by runs and processes).
        encoder: a callable ``texts -> [N, D] array`` with an ``identity`` string naming the
            weights and pooling (:class:`SentenceEncoder` is one).

    Attributes:
        encoded: how many texts this instance has run through the encoder.
    """

    def __init__(self, cache_dir: Path, encoder: Callable[[Sequence[str]], np.ndarray]) -> None:
        self.cache_dir = Path(cache_dir)
        self.encoder = encoder
        self.identity: str = encoder.identity  # type: ignore[attr-defined]
        self.encoded = 0
        self._where: dict[str, Path] = {}
        for shard in sorted(self.cache_dir.glob("*.safetensors")):
            with safe_open(shard, framework="numpy") as f:
                for key in f.keys():  # noqa: SIM118 (safe_open is not iterable)
                    self._where.setdefault(key, shard)

    def key(self, text: str) -> str:
        """The cache key of ``text`` under this encoder."""
        return hashlib.sha256(f"{self.identity}\0{text}".encode()).hexdigest()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` in order, [N, D] float32; new distinct texts are encoded
        once and stored, the rest are read from the cache."""
        keys = [self.key(t) for t in texts]
        new: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._where and key not in new:
                new[key] = text
        if new:
            vectors = np.asarray(self.encoder(list(new.values())), dtype=np.float32)
            self.encoded += len(new)
            self._store(dict(zip(new, vectors, strict=True)))
        found: dict[str, np.ndarray] = {}
        by_shard: dict[Path, list[str]] = {}
        for key in dict.fromkeys(keys):
            by_shard.setdefault(self._where[key], []).append(key)
        for shard, wanted in by_shard.items():
            with safe_open(shard, framework="numpy") as f:
                for key in wanted:
                    found[key] = f.get_tensor(key)
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([found[k] for k in keys])

    def _store(self, vectors: dict[str, np.ndarray]) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256("".join(sorted(vectors)).encode()).hexdigest()[:32]
        shard = self.cache_dir / f"{name}.safetensors"
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in vectors.items()}
        with atomic_path(shard) as tmp:  # readers never see a half-written shard
            save_file(tensors, str(tmp))
        for key in vectors:
            self._where[key] = shard


__all__ = ["POOLINGS", "SentenceEncoder", "TextEmbeddingCache"]
