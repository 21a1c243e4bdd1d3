"""The one catalogue of models: a name -> builder registry that configs refer to.

Builders register with :func:`register`; a duplicate name or an unknown name is
an error listing the valid names. YAML configs (and the Prefect UI) only ever
name entries here, never import paths.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from components.config import ModelConfig
from components.excerpt import quote
from components.models.spec import TASKS, ModelBuildError, ModelSpec

log = logging.getLogger(__name__)

Builder = Callable[[ModelConfig, ModelSpec], nn.Module]


@dataclass(frozen=True)
class Entry:
    """One catalogue entry: its builder, the tasks it supports and a one-line summary."""

    name: str
    builder: Builder
    tasks: tuple[str, ...]
    paradigm: str
    summary: str
    ablation_of: str | None = None  # the LLM entry a Tan et al. ablation is compared with
    trainable: bool = True  # False: nothing to fit (naive baselines, a frozen LM prompted as is)


_CATALOGUE: dict[str, Entry] = {}


def register(
    name: str,
    *,
    tasks: tuple[str, ...] = ("forecast",),
    paradigm: str,
    summary: str,
    ablation_of: str | None = None,
    trainable: bool = True,
) -> Callable[[Builder], Builder]:
    """Decorator registering ``builder(cfg, spec) -> nn.Module`` under ``name``.

    Args:
        name: Catalogue name configs use (``model.name``).
        tasks: Tasks the builder supports (subset of forecast/classify/anomaly).
        paradigm: injective, bridging, internal, baseline or ablation.
        summary: One line shown by ``tsalign models``.
        ablation_of: For an ablation, the catalogue entry whose LM it removes or replaces.
        trainable: False for models with nothing to fit; the train stage exports them as built.

    Raises:
        ValueError: duplicate name or unknown task.
    """
    bad = [t for t in tasks if t not in TASKS]
    if bad:
        raise ValueError(f"register({name!r}): unknown tasks {bad}; valid: {list(TASKS)}")

    def wrap(builder: Builder) -> Builder:
        if name in _CATALOGUE:
            raise ValueError(
                f"model {name!r} is already registered (by {_CATALOGUE[name].builder.__module__}); "
                f"pick another name. Registered: {list_models()}"
            )
        _CATALOGUE[name] = Entry(
            name, builder, tuple(tasks), paradigm, summary, ablation_of, trainable
        )
        return builder

    return wrap


def list_models() -> list[str]:
    """Catalogue names, sorted."""
    return sorted(_CATALOGUE)


def get_entry(name: str) -> Entry:
    """The catalogue entry for ``name``.

    Raises:
        ModelBuildError: unknown name, listing the valid ones.
    """
    try:
        return _CATALOGUE[name]
    except KeyError:
        raise ModelBuildError(
            f"model.name {name!r} is not in the catalogue; valid names: {list_models()}"
        ) from None


def baseline_problem(name: str) -> str | None:
    """Why ``name`` cannot be an evaluation baseline, or None when it can.

    Baselines are scored as built, so they must be catalogue entries with nothing to train.
    """
    entry = _CATALOGUE.get(name)
    if entry is None:
        return f"{quote(name)} is not in the catalogue; valid baselines: {baseline_names()}"
    if entry.trainable:
        return (
            f"{name!r} has parameters to train and would be scored with random weights; "
            f"move it to compare: [{name}] so it is trained beside the candidate"
        )
    return None


def baseline_names() -> list[str]:
    """Catalogue entries with nothing to train (valid ``eval.baselines``)."""
    return [n for n in list_models() if not get_entry(n).trainable]


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """Return ``(trainable, total)`` parameter counts (shared tensors counted once)."""
    seen: set[int] = set()
    trainable = total = 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return trainable, total


def build_model(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
    """Build the catalogue entry ``cfg.name`` for data described by ``spec``.

    Args:
        cfg: The model section of the run config.
        spec: Shapes, task and context of the data.

    Returns:
        The module; forecasting models map ``[B, seq_len, C] -> [B, horizon, C]``
        on the standardised scale.

    Raises:
        ModelBuildError: unknown name, unsupported task, or an invalid field (named).
    """
    entry = get_entry(cfg.name)
    if spec.task not in entry.tasks:
        supporting = [n for n, e in sorted(_CATALOGUE.items()) if spec.task in e.tasks]
        raise ModelBuildError(
            f"model.name {cfg.name!r} supports tasks {list(entry.tasks)}, not {spec.task!r}; "
            f"models for {spec.task!r}: {supporting}"
        )
    model = entry.builder(cfg, spec)
    trainable, total = count_parameters(model)
    log.info(
        "built %s (%s): %d trainable / %d total parameters",
        cfg.name,
        entry.paradigm,
        trainable,
        total,
    )
    return model
