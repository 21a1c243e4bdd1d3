"""Search spaces the catalogue entries declare for the tune stage.

A dimension names a dotted run-config path (``train.lr``, ``model.dropout``) and the
values it may take. The tune stage samples one value per dimension for each trial and
applies them as overrides through the normal config validation, so every trial runs a
validated run config. Nothing here imports Ray: :meth:`Dimension.to_tune` does, when a
search starts, and the catalogue stays a torch- and Ray-free table.

``train.epochs`` is never a dimension: it is the budget every candidate gets
(``tune.max_epochs``); ``train.patience`` can stop a trial inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BUDGET_PATHS = frozenset({"train.epochs", "train.max_steps"})
"""Paths the tune section fixes for every trial: searching them would unequal the budget."""


@dataclass(frozen=True)
class Dimension:
    """One searched setting: a dotted run-config path and the values it may take."""

    path: str

    def to_tune(self) -> Any:
        """The Ray Tune sampler of this dimension (imports ray.tune)."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short text for reports and the registry lineage, e.g. ``loguniform(1e-05, 0.01)``."""
        raise NotImplementedError

    def probes(self) -> tuple[Any, ...]:
        """Values that bound the dimension; validating each checks the whole range."""
        raise NotImplementedError


@dataclass(frozen=True)
class LogUniform(Dimension):
    """A float sampled uniformly in log space between ``low`` and ``high``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not 0 < self.low < self.high:
            raise ValueError(f"{self.path}: loguniform needs 0 < low < high, got {self}")

    def to_tune(self) -> Any:
        from ray import tune

        return tune.loguniform(self.low, self.high)

    def describe(self) -> str:
        return f"loguniform({self.low:g}, {self.high:g})"

    def probes(self) -> tuple[Any, ...]:
        return (self.low, self.high)


@dataclass(frozen=True)
class Uniform(Dimension):
    """A float sampled uniformly between ``low`` and ``high``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"{self.path}: uniform needs low < high, got {self}")

    def to_tune(self) -> Any:
        from ray import tune

        return tune.uniform(self.low, self.high)

    def describe(self) -> str:
        return f"uniform({self.low:g}, {self.high:g})"

    def probes(self) -> tuple[Any, ...]:
        return (self.low, self.high)


@dataclass(frozen=True)
class Choice(Dimension):
    """One of a fixed list of values, each equally likely."""

    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        if len(self.values) < 2:
            raise ValueError(f"{self.path}: a choice needs at least two values, got {self}")

    def to_tune(self) -> Any:
        from ray import tune

        return tune.choice(list(self.values))

    def describe(self) -> str:
        return f"choice({', '.join(repr(v) for v in self.values)})"

    def probes(self) -> tuple[Any, ...]:
        return self.values


SearchSpace = tuple[Dimension, ...]


def check_dimensions(name: str, space: SearchSpace) -> SearchSpace:
    """``space`` when its paths are unique and none is a budget path.

    Raises:
        ValueError: naming the entry and the offending path.
    """
    paths = [d.path for d in space]
    twice = sorted({p for p in paths if paths.count(p) > 1})
    if twice:
        raise ValueError(f"entry {name!r}: search space names {twice} more than once")
    fixed = sorted(set(paths) & BUDGET_PATHS)
    if fixed:
        raise ValueError(
            f"entry {name!r}: {fixed} is the tuning budget (tune.max_epochs), not a dimension"
        )
    return space


def describe(space: SearchSpace) -> dict[str, str]:
    """``{path: description}`` of a search space, for reports and lineage."""
    return {d.path: d.describe() for d in space}


def nested(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"train.lr": x}`` -> ``{"train": {"lr": x}}``."""
    tree: dict[str, Any] = {}
    for path, value in flat.items():
        node = tree
        *parents, leaf = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return tree


def flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"lr": x}}`` -> ``{"train.lr": x}`` (the inverse of :func:`nested`)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat(value, f"{path}."))
        else:
            out[path] = value
    return out


# -- the spaces the catalogue entries share -----------------------------------------------

#: Optimisation: learning rates down to 1e-5 (an LM backbone overfits in one epoch at 1e-3
#: on a few-shot split), decoupled weight decay, and patience inside the epoch budget.
OPTIMISATION: SearchSpace = (
    LogUniform("train.lr", 1e-5, 1e-2),
    Choice("train.weight_decay", (0.0, 1e-4, 1e-2)),
    Choice("train.patience", (1, 2, 3)),
)
#: Regularisation and patching of patch-based models.
PATCHED: SearchSpace = (
    Uniform("model.params.dropout", 0.0, 0.5),
    Choice("model.params.patch_len", (8, 12, 16)),
)
#: The LM blocks a GPT4TS-style model keeps (MiniLM has 6).
LM_DEPTH: SearchSpace = (Choice("model.n_layers", (1, 2, 3, 6)),)
