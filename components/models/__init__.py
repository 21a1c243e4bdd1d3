"""The alignment model zoo: one catalogue of injective, bridging and internal models,
baselines and LLM-free ablations, all behind ``build_model(cfg, spec)``.

Forecasting contract: ``model(x [B, seq_len, C]) -> [B, horizon, C]`` on the standardised
scale (the LLM models apply RevIN inside).
"""

from __future__ import annotations

# Importing the paradigm modules registers their catalogue entries.
from components.models import baselines, bridging, injective, internal  # noqa: F401
from components.models.catalogue import (
    baseline_names,
    baseline_problem,
    build_model,
    count_parameters,
    get_entry,
    list_models,
)
from components.models.persistence import PersistenceError, load_pretrained, save_pretrained
from components.models.spec import ModelBuildError, ModelSpec

__all__ = [
    "ModelBuildError",
    "ModelSpec",
    "PersistenceError",
    "baseline_names",
    "baseline_problem",
    "build_model",
    "count_parameters",
    "get_entry",
    "list_models",
    "load_pretrained",
    "save_pretrained",
]
