"""Backbones from an s3:// prefix on a moto server: download, sha256 verification, cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import pytest
import torch

from tsalign.components.config import ModelConfig
from tsalign.components.models import ModelSpec, build_model
from tsalign.components.models.backbone import BackboneError, load_tokenizer, resolve_backbone

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    """A 2-layer random BERT with the MiniLM tokenizer: small enough to upload quickly."""
    from transformers import BertConfig, BertModel

    tok = load_tokenizer("minilm")
    directory = tmp_path_factory.mktemp("tiny-bert")
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def _upload(
    client, bucket: str, prefix: str, directory: Path, *, manifest: bool, checksum: bool = False
) -> dict[str, str]:
    sums = {}
    for path in sorted(directory.iterdir()):
        extra = {"ChecksumAlgorithm": "SHA256"} if checksum else {}
        client.put_object(
            Bucket=bucket, Key=f"{prefix}/{path.name}", Body=path.read_bytes(), **extra
        )
        sums[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    if manifest:
        body = "".join(f"{digest}  {name}\n" for name, digest in sums.items())
        client.put_object(Bucket=bucket, Key=f"{prefix}/SHA256SUMS", Body=body.encode())
    return sums


@pytest.fixture
def s3_env(s3_endpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("TSALIGN_CACHE", str(tmp_path / "cache"))
    return boto3.client("s3", endpoint_url=s3_endpoint)


def test_s3_backbone_is_verified_cached_and_usable(s3_env, s3_bucket, tiny_bert, tmp_path):
    _upload(s3_env, s3_bucket, "lm/tiny", tiny_bert, manifest=True)
    uri = f"s3://{s3_bucket}/lm/tiny"
    local = resolve_backbone(uri)
    assert local.is_relative_to(tmp_path / "cache")
    assert (local / "model.safetensors").read_bytes() == (
        tiny_bert / "model.safetensors"
    ).read_bytes()
    assert not (local / "SHA256SUMS").exists()
    assert resolve_backbone(uri) == local  # second call served from the cache
    model = build_model(
        ModelConfig(name="gpt4ts", backbone=uri, n_layers=1),
        ModelSpec(seq_len=32, horizon=8, n_channels=1),
    )
    assert model(torch.randn(2, 32, 1)).shape == (2, 8, 1)


def test_corrupt_object_is_refused_and_nothing_is_cached(s3_env, s3_bucket, tiny_bert, tmp_path):
    sums = _upload(s3_env, s3_bucket, "lm/bad", tiny_bert, manifest=False)
    sums["config.json"] = "0" * 64
    body = "".join(f"{digest}  {name}\n" for name, digest in sums.items())
    s3_env.put_object(Bucket=s3_bucket, Key="lm/bad/SHA256SUMS", Body=body.encode())
    with pytest.raises(BackboneError, match=r"config\.json: sha256 .* does not match"):
        resolve_backbone(f"s3://{s3_bucket}/lm/bad")
    cache = tmp_path / "cache" / "backbones"
    assert list(cache.iterdir()) == []  # the partial download was removed


def test_without_any_checksum_the_error_says_how_to_add_one(s3_env, s3_bucket, tiny_bert):
    _upload(s3_env, s3_bucket, "lm/nosum", tiny_bert, manifest=False)
    with pytest.raises(BackboneError, match="SHA256SUMS"):
        resolve_backbone(f"s3://{s3_bucket}/lm/nosum")


def test_empty_prefix_names_the_uri(s3_env, s3_bucket):
    with pytest.raises(BackboneError, match="no objects under this prefix"):
        resolve_backbone(f"s3://{s3_bucket}/nothing/here")
