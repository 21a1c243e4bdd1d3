"""Save and load models as a self-describing directory; nothing is unpickled.

Layout of a saved model directory::

    tsalign_model.json     format version, catalogue name, ModelConfig, ModelSpec,
                           sha256 of the frozen pretrained tensors not stored here
    model.safetensors      every tensor that is not a frozen pretrained backbone weight
    adapter/               PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors)

Frozen backbone weights are not duplicated: loading rebuilds the model from its
catalogue entry (which reloads the backbone from ``model.backbone``) and checks the
fingerprint of those frozen tensors, so a changed backbone is an error, not a silently
different model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from tsalign.components.config import ModelConfig
from tsalign.components.models.backbone import Backbone
from tsalign.components.models.catalogue import build_model, get_entry, lora_applies, params_model
from tsalign.components.models.params import (
    LLMTimeParams,
    LoraParams,
    former_keys,
    migrate_former_shape,
)
from tsalign.components.models.spec import ModelBuildError, ModelSpec
from tsalign.components.redaction import redact

FORMAT_VERSION = 1
META_FILE = "tsalign_model.json"
WEIGHTS_FILE = "model.safetensors"
ADAPTER_DIR = "adapter"


class PersistenceError(ModelBuildError):
    """A saved model directory that cannot be loaded; names the file and fix."""


def _backbones(model: nn.Module) -> dict[str, nn.Module]:
    """Submodules holding pretrained LM weights (rebuilt from model.backbone on load)."""
    return {
        name: m
        for name, m in model.named_modules()
        if isinstance(m, Backbone) or getattr(m, "is_pretrained_backbone", False)
    }


def _split_state(model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(tensors to store, frozen pretrained tensors restored from the backbone reference)."""
    backbones = _backbones(model)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    stored: dict[str, torch.Tensor] = {}
    pretrained: dict[str, torch.Tensor] = {}
    for key, tensor in model.state_dict().items():
        in_backbone = any(key.startswith(f"{prefix}.") for prefix in backbones)
        is_lora = "lora_" in key and in_backbone  # saved by PEFT in adapter/
        if in_backbone and is_lora:
            continue
        if in_backbone and key not in trainable:
            pretrained[key] = tensor
        else:
            stored[key] = tensor
    return stored, pretrained


def _fingerprint(tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for key in sorted(tensors):
        digest.update(key.encode())
        digest.update(tensors[key].detach().cpu().contiguous().float().numpy().tobytes())
    return digest.hexdigest()


LEGACY_API_KEY_ENV = "OPENAI_API_KEY"
"""The former default of ``model.injective.api_key_env``, now outside the allowed pattern."""


def _migrate_config(config: dict[str, Any]) -> dict[str, Any]:
    """A model section recorded by an older export, in today's shape.

    Older exports recorded the flat section (every entry's fields side by side, LLMTime's
    under ``injective``): the fields the entry reads move under ``params`` with their new
    names (LoRA settings only where LoRA was applied). The former api_key_env default is
    read as today's default.
    """
    if not isinstance(config, dict) or not former_keys(config):
        return config
    injective = config.get("injective")
    if isinstance(injective, dict) and injective.get("api_key_env") == LEGACY_API_KEY_ENV:
        default = LLMTimeParams.model_fields["api_key_env"].default
        config = {**config, "injective": {**injective, "api_key_env": default}}
    name = str(config.get("name"))
    model = params_model(name)
    fields = set(model.model_fields) if model else set()
    if not lora_applies(
        name, str(config.get("freeze", ModelConfig.model_fields["freeze"].default))
    ):
        fields -= set(LoraParams.model_fields)
    return migrate_former_shape(config, fields)


def save_pretrained(model: nn.Module, cfg: ModelConfig, spec: ModelSpec, directory: Path) -> None:
    """Write ``model`` to ``directory`` atomically (temp dir, then rename).

    Args:
        model: A module built by ``build_model(cfg, spec)`` (possibly trained).
        cfg: Its model config (``cfg.name`` is the catalogue entry).
        spec: Its data spec.
        directory: Target directory; replaced if it exists.

    Raises:
        PersistenceError: ``cfg.name`` is not a catalogue entry.
    """
    directory = Path(directory)
    get_entry(cfg.name)  # refuse to write something load_pretrained cannot rebuild
    stored, pretrained = _split_state(model)
    meta: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "catalogue_name": cfg.name,
        "config": redact(cfg.model_dump(mode="json")),
        "spec": spec.to_dict(),
        "pretrained_sha256": _fingerprint(pretrained),
        "pretrained_tensors": len(pretrained),
    }
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.partial-"))
    try:
        # safetensors refuses shared storage; clone makes every tensor its own buffer.
        save_file(
            {k: v.detach().cpu().contiguous().clone() for k, v in stored.items()},
            str(tmp / WEIGHTS_FILE),
            metadata={"format": "pt"},
        )
        adapted = {n: b for n, b in _backbones(model).items() if hasattr(b.lm, "peft_config")}
        if len(adapted) > 1:
            raise PersistenceError(
                f"LoRA on more than one backbone ({sorted(adapted)}) is not "
                "supported; adapt a single backbone"
            )
        for name, backbone in adapted.items():
            backbone.lm.save_pretrained(str(tmp / ADAPTER_DIR))  # PEFT's own format
            meta["adapter_module"] = name
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        if directory.exists():
            old = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.old-"))
            os.replace(directory, old / "m")
            os.replace(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_pretrained(directory: Path) -> tuple[nn.Module, ModelConfig, ModelSpec]:
    """Rebuild a model saved by :func:`save_pretrained`; outputs match the saved model.

    Returns:
        (model in eval mode, its ModelConfig, its ModelSpec).

    Raises:
        PersistenceError: missing files, unknown format version, mismatching tensors or a
            backbone whose frozen weights differ from the ones the model was saved with.
    """
    directory = Path(directory)
    meta_path = directory / META_FILE
    if not meta_path.is_file():
        raise PersistenceError(
            f"{meta_path}: not found; point at a directory written by save_pretrained"
        )
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise PersistenceError(
            f"{meta_path}: not valid JSON ({err}); re-export the model"
        ) from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise PersistenceError(
            f"{meta_path}: format_version {meta.get('format_version')!r} is not supported "
            f"(expected {FORMAT_VERSION}); re-export with this version of tsalign"
        )
    try:
        cfg = ModelConfig.model_validate(_migrate_config(meta["config"]))
    except Exception as err:
        raise PersistenceError(f"{meta_path}: config is invalid: {err}") from None
    spec = ModelSpec.from_dict(meta["spec"])
    model = build_model(cfg, spec)
    stored = load_file(str(directory / WEIGHTS_FILE))
    expected_stored, pretrained = _split_state(model)
    if _fingerprint(pretrained) != meta["pretrained_sha256"]:
        raise PersistenceError(
            f"{meta_path}: the frozen weights of backbone {cfg.backbone!r} differ from those the "
            "model was saved with; point model.backbone at the original backbone"
        )
    missing = sorted(set(expected_stored) - set(stored))
    unexpected = sorted(set(stored) - set(expected_stored))
    if missing or unexpected:
        raise PersistenceError(
            f"{directory / WEIGHTS_FILE}: tensors do not match model {cfg.name!r} "
            f"(missing {missing[:5]}, unexpected {unexpected[:5]}); the file is from another model"
        )
    adapter_module = meta.get("adapter_module")
    if adapter_module is not None:
        from peft import set_peft_model_state_dict

        adapter_file = directory / ADAPTER_DIR / "adapter_model.safetensors"
        if not adapter_file.is_file():
            raise PersistenceError(f"{adapter_file}: missing LoRA adapter; re-export the model")
        backbone = dict(model.named_modules())[adapter_module]
        result = set_peft_model_state_dict(backbone.lm, load_file(str(adapter_file)))
        if getattr(result, "unexpected_keys", None):
            raise PersistenceError(
                f"{adapter_file}: unexpected adapter tensors {result.unexpected_keys[:5]}"
            )
    model.load_state_dict(stored, strict=False)
    model.eval()
    return model, cfg, spec
