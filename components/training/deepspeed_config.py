"""DeepSpeed presets (infra/deepspeed/*.json) resolved against a TrainConfig.

The presets hold everything that is a property of the parallelism strategy
(ZeRO stage, offload, buckets). Values that belong to the run — batch size,
learning rate, schedule length, precision — are ``"auto"`` in the preset and
filled in here, so one preset serves a laptop and a GPU cluster.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from components.config import TrainConfig

PRESET_DIR = Path(__file__).resolve().parents[2] / "infra" / "deepspeed"


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


def check_preset(name: str, use_gpu: bool) -> dict[str, Any]:
    """Load a preset on the driver and refuse combinations that cannot work here.

    Raises:
        PresetError: unknown preset, or ZeRO-3 without a GPU (unreliable over gloo).
    """
    preset = load_preset(name)
    stage = preset.get("zero_optimization", {}).get("stage", 0)
    if stage == 3 and not use_gpu:
        raise PresetError(
            f"train.deepspeed_preset={name!r}: ZeRO-3 is GPU-only here "
            "(its parameter gathering over gloo is unreliable); use zero2 on CPU"
        )
    return preset


def resolve_ds_config(
    preset: dict[str, Any], cfg: TrainConfig, total_steps: int, warmup_steps: int, use_gpu: bool
) -> dict[str, Any]:
    """Fill the ``"auto"`` fields of a loaded preset (done in the worker, which knows the steps).

    Args:
        preset: a preset as returned by ``check_preset``.
        cfg: the training section.
        total_steps: optimizer steps the run will take (for the cosine schedule).
        warmup_steps: linear warm-up steps.
        use_gpu: bf16 on GPU; fp32 on CPU, where bf16 matmuls are slow and gloo
            all-reduce of bf16 is not supported everywhere.

    Raises:
        PresetError: a field left ``"auto"`` that nothing fills.
    """
    ds = copy.deepcopy(preset)
    fills: dict[str, Any] = {
        "train_micro_batch_size_per_gpu": cfg.batch_size,
        "gradient_accumulation_steps": cfg.grad_accum,
        "gradient_clipping": cfg.grad_clip,
    }
    for key, value in fills.items():
        if ds.get(key) == "auto":
            ds[key] = value
    if ds.get("bf16", {}).get("enabled") == "auto":
        ds["bf16"]["enabled"] = use_gpu
    opt = ds.get("optimizer", {}).get("params", {})
    for key, value in {"lr": cfg.lr, "weight_decay": cfg.weight_decay}.items():
        if opt.get(key) == "auto":
            opt[key] = value
    sched = ds.get("scheduler", {}).get("params", {})
    for key, value in {
        "total_num_steps": max(total_steps, 1),
        "warmup_num_steps": warmup_steps,
    }.items():
        if sched.get(key) == "auto":
            sched[key] = value
    leftover = [k for k, v in _walk(ds) if v == "auto"]
    if leftover:
        raise PresetError(f"preset {cfg.deepspeed_preset!r}: unresolved 'auto' fields {leftover}")
    return ds


def _walk(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(_walk(value, path + "."))
        else:
            out.append((path, value))
    return out
