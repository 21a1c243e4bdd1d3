"""What the data tells the model: the ModelSpec of a training run."""

from __future__ import annotations

from tsalign.components.config import DataConfig
from tsalign.components.data import load_meta
from tsalign.components.models import ModelSpec
from tsalign.components.refs import DatasetRef, ProfileRef


def model_spec(dataset: DatasetRef, data_cfg: DataConfig, profile: ProfileRef | None) -> ModelSpec:
    """Shapes from the window protocol and dataset targets, context from the profile.

    Args:
        dataset: the ingested dataset version.
        data_cfg: the data section (window lengths).
        profile: the primitive profile, when one was computed: its dominant
            period feeds seasonal baselines and its domain context the prompts.
    """
    meta = load_meta(dataset.path)
    return ModelSpec(
        seq_len=data_cfg.window.seq_len,
        horizon=data_cfg.window.horizon,
        n_channels=len(meta.targets),
        season=profile.dominant_period if profile else None,
        domain_context=(profile.domain_context if profile else "") or meta.description,
    )
