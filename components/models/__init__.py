"""The alignment model zoo: one catalogue of injective, bridging and internal models,
baselines and LLM-free ablations, all behind ``build_model(cfg, spec)``.

Forecasting contract: ``model(x [B, seq_len, C]) -> [B, horizon, C]`` on the standardised
scale (the LLM models apply RevIN inside).

Importing this package imports no torch: the catalogue is a declarative table, and the
torch modules (builders, persistence) load when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tsalign.components.models.catalogue import (
    ablations_of,
    baseline_names,
    baseline_problem,
    build_model,
    count_parameters,
    get_entry,
    list_models,
)
from tsalign.components.models.spec import ModelBuildError, ModelSpec, model_spec

if TYPE_CHECKING:
    from tsalign.components.models.persistence import (
        PersistenceError,
        load_pretrained,
        save_pretrained,
    )

# Names served from torch-importing modules only when asked for (PEP 562).
_LAZY = {
    "PersistenceError": "tsalign.components.models.persistence",
    "load_pretrained": "tsalign.components.models.persistence",
    "save_pretrained": "tsalign.components.models.persistence",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ModelBuildError",
    "ModelSpec",
    "PersistenceError",
    "ablations_of",
    "baseline_names",
    "baseline_problem",
    "build_model",
    "count_parameters",
    "get_entry",
    "list_models",
    "load_pretrained",
    "model_spec",
    "save_pretrained",
]
