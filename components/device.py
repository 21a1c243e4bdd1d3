"""Where tensors run and in which precision: one place that turns ``auto`` into a choice.

Training, evaluation and predict each have a ``device`` setting (``auto | cpu | cuda``);
training also has ``precision`` (``auto | fp32 | bf16``). ``auto`` means cuda when one
is there, and bf16 on cuda, fp32 on cpu (bf16 matmuls are slower than fp32 on most CPUs).
"""

from __future__ import annotations

from typing import Literal

import torch

Concrete = Literal["cpu", "cuda"]
Precision = Literal["fp32", "bf16"]


class DeviceError(ValueError):
    """A device setting that cannot be met on this machine; the message names the field."""


def resolve_device(setting: str, field: str, cuda_available: bool | None = None) -> Concrete:
    """``auto`` -> cuda when available, else cpu; ``cuda`` without one is an error.

    Args:
        setting: ``auto``, ``cpu`` or ``cuda``.
        field: the config field or CLI option it came from (named in the error).
        cuda_available: whether CUDA is there; asks torch when None (a Ray driver
            passes what its cluster offers instead).

    Raises:
        DeviceError: ``cuda`` requested where there is none.
    """
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    if setting == "auto":
        return "cuda" if cuda_available else "cpu"
    if setting == "cuda" and not cuda_available:
        raise DeviceError(f"{field}=cuda but no CUDA device is available here; use auto or cpu")
    if setting not in ("cpu", "cuda"):
        raise DeviceError(f"{field}={setting!r}: choose auto, cpu or cuda")
    return setting  # type: ignore[return-value]


def resolve_precision(setting: str, device: Concrete) -> Precision:
    """``auto`` -> bf16 on cuda, fp32 on cpu; an explicit choice is kept (bf16 runs on CPU too)."""
    if setting == "auto":
        return "bf16" if device == "cuda" else "fp32"
    return setting  # type: ignore[return-value]


def torch_device(device: Concrete) -> torch.device:
    """The torch device of a resolved setting (the current CUDA device on cuda)."""
    return (
        torch.device("cuda", torch.cuda.current_device())
        if device == "cuda"
        else torch.device("cpu")
    )
