"""Each distinct text is encoded once, by count, and read back from safetensors after."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from tsalign.components.models.text_encoder import SentenceEncoder, TextEmbeddingCache


class CountingEncoder:
    """A deterministic stand-in that records every text it is asked to encode."""

    def __init__(self, identity: str = "toy-v1") -> None:
        self.identity = identity
        self.seen: list[str] = []

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        return np.array([[len(t), t.count(" "), len(self.identity)] for t in texts], float)


def test_each_distinct_text_is_encoded_once_across_calls_and_instances(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    cache = TextEmbeddingCache(tmp_path, encoder)
    first = cache.embed(["gas up", "gas down", "gas up"])  # a repeat inside one call
    assert encoder.seen == ["gas up", "gas down"] and cache.encoded == 2
    assert np.array_equal(first[0], first[2]) and first.shape == (3, 3)
    again = cache.embed(["gas down", "gas up"] * 50)  # every window, every epoch
    assert cache.encoded == 2 and len(encoder.seen) == 2
    assert np.array_equal(again[0], first[1])
    # A new process (fresh instance) over the same directory encodes nothing.
    fresh = CountingEncoder()
    reopened = TextEmbeddingCache(tmp_path, fresh)
    assert np.array_equal(reopened.embed(["gas up"])[0], first[0]) and fresh.seen == []
    # Another encoder (other weights or pooling) is another key.
    other = CountingEncoder("toy-v2")
    TextEmbeddingCache(tmp_path, other).embed(["gas up"])
    assert other.seen == ["gas up"]
    assert not list(tmp_path.glob(".*"))  # no half-written shards left


def test_minilm_mean_and_max_pooling(tmp_path: Path) -> None:
    texts = ["Gasoline prices rose sharply.", "Gasoline prices rose sharply.", "Rain in Iowa."]
    mean = SentenceEncoder("minilm", pooling="mean")
    vectors = TextEmbeddingCache(tmp_path / "mean", mean).embed(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.array_equal(vectors[0], vectors[1]) and not np.allclose(vectors[0], vectors[2])
    maxed = SentenceEncoder("minilm", pooling="max")
    assert mean.identity != maxed.identity
    assert not np.allclose(
        TextEmbeddingCache(tmp_path / "max", maxed).embed(texts[:1]), vectors[:1]
    )
    with pytest.raises(ValueError, match="pooling must be one of mean, max"):
        SentenceEncoder("minilm", pooling="attention")  # type: ignore[arg-type]
