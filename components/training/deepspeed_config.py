"""DeepSpeed presets (infra/deepspeed/*.json) turned into an engine config for a TrainConfig.

A preset holds only what is a property of the parallelism strategy: the
``zero_optimization`` section (ZeRO stage, offload, buckets, overlap). Everything
that belongs to the run comes from the train section, here and in the recipe:
micro-batch, accumulation and clipping below; the optimizer and its LR schedule in
``recipe.build_optimizer`` / ``recipe.lr_schedule``; precision below. So one preset
serves a laptop and a GPU cluster, and ``train.lr`` never passes through a preset.

Precision is ``train.precision``, applied through DeepSpeed's ``torch_autocast``
section rather than its ``bf16`` section: ``bf16`` casts the module's weights to
bfloat16, so float32 batches no longer match them ("mat1 and mat2 must have the
same dtype") and every consumer of the module (validation, export, evaluation)
would have to cast too. Under ``torch_autocast`` the module, its checkpoints and
the optimizer stay fp32 and ``torch.autocast`` runs matmuls in bf16 inside the
engine's forward; the gradients of Linear/Conv weights are reduced in bf16.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

from tsalign.components.config import TrainConfig

# Package data of tsalign.infra (infra/deepspeed/ in a checkout), so an installed wheel trains too.
PRESET_DIR = Path(str(resources.files("tsalign.infra") / "deepspeed"))
PRESET_KEYS = frozenset({"zero_optimization"})
"""The only top-level sections a preset may hold."""


class PresetError(ValueError):
    """A DeepSpeed preset that does not exist or cannot be used."""


def list_presets() -> list[str]:
    """Names of the presets shipped under infra/deepspeed/."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_preset(name: str) -> dict[str, Any]:
    """Read ``infra/deepspeed/<name>.json``.

    Raises:
        PresetError: unknown preset (the message lists the valid names).
    """
    # By name only: a config from the UI must not be able to point at an arbitrary .json file.
    if name not in list_presets():
        raise PresetError(
            f"train.deepspeed_preset: no preset {name!r} in {PRESET_DIR}; "
            f"choose one of {list_presets()}"
        )
    return json.loads((PRESET_DIR / f"{name}.json").read_text())


def check_preset(name: str, device: str) -> dict[str, Any]:
    """Load a preset on the driver and refuse what a preset must not hold or cannot run here.

    Args:
        name: the preset (train.deepspeed_preset).
        device: the resolved train.device, ``cpu`` or ``cuda``.

    Raises:
        PresetError: unknown preset; a preset with sections other than
            ``zero_optimization`` (optimizer, schedule, batch and precision come from
            the train section); ZeRO-3 without a GPU (unreliable over gloo).
    """
    preset = load_preset(name)
    foreign = sorted(set(preset) - PRESET_KEYS)
    if foreign:
        raise PresetError(
            f"preset {name!r} ({PRESET_DIR / name}.json) sets {foreign}: a preset holds only "
            f"{sorted(PRESET_KEYS)}; the optimizer, LR schedule, batch sizes and precision come "
            "from train.lr, train.weight_decay, train.warmup_ratio, train.batch_size, "
            "train.grad_accum, train.grad_clip and train.precision"
        )
    stage = preset.get("zero_optimization", {}).get("stage", 0)
    if stage == 3 and device != "cuda":
        raise PresetError(
            f"train.deepspeed_preset={name!r}: ZeRO-3 is GPU-only here "
            "(its parameter gathering over gloo is unreliable); use zero2 on CPU"
        )
    return preset


def resolve_ds_config(preset: dict[str, Any], cfg: TrainConfig) -> dict[str, Any]:
    """The DeepSpeed config of one run: the preset's ZeRO section plus the run's settings.

    Args:
        preset: a preset as returned by ``check_preset``.
        cfg: the training section, with ``precision`` resolved to fp32 or bf16.

    Raises:
        PresetError: ``precision`` still ``auto``.
    """
    if cfg.precision == "auto":
        raise PresetError("train.precision must be resolved (fp32 or bf16) before DeepSpeed starts")
    return {
        **copy.deepcopy(preset),
        "train_micro_batch_size_per_gpu": cfg.batch_size,
        "gradient_accumulation_steps": cfg.grad_accum,
        "gradient_clipping": cfg.grad_clip,
        "torch_autocast": {"enabled": cfg.precision == "bf16", "dtype": "bfloat16"},
        "steps_per_print": 10**6,  # DeepSpeed's own step log; the recipe reports per epoch
        "wall_clock_breakdown": False,
    }
