"""One candidate of the train stage: trained on Ray, or exported as built when there is nothing to fit."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tsalign.components.config import (
    Candidate,
    ConfigError,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)
from tsalign.components.data.protocol import load_protocol
from tsalign.components.models import ModelSpec, build_model, get_entry, save_pretrained
from tsalign.components.models.catalogue import auto_candidates
from tsalign.components.refs import DatasetRef, TrainResult
from tsalign.components.storage import is_s3_uri
from tsalign.components.training.launcher import ProgressCallback, launch_training, storage_root
from tsalign.components.training.worker import MODEL_DIR, SCALER_FILE


def plan_candidates(config: RunConfig, recommended: str | None) -> list[Candidate]:
    """The models a run trains: ``model.name``, then the ``compare`` entries, ``auto`` resolved.

    Args:
        config: the run config.
        recommended: the profile's recommended paradigm (None without a profile).

    Raises:
        ConfigError: ``compare`` has ``auto`` but there is no recommendation to resolve it.
    """
    if not config.has_auto:
        return config.candidates()
    if recommended is None:
        raise ConfigError(
            "compare: auto trains the profile's recommended paradigm, but this run has no "
            "profile; run `tsalign profile` first (or the whole pipeline), or list the models"
        )
    return config.candidates(auto_candidates(recommended))


def candidate_model(config: RunConfig, recommended: str | None, name: str) -> ModelConfig:
    """The model section ``name`` was trained with (see :func:`plan_candidates`).

    Raises:
        ConfigError: ``name`` is not a candidate of ``config`` (the config changed since).
    """
    candidates = plan_candidates(config, recommended)
    for candidate in candidates:
        if candidate.model.name == name:
            return candidate.model
    raise ConfigError(
        f"{name!r} was evaluated but is not a candidate of this config "
        f"({[c.model.name for c in candidates]}); run train and evaluate with it again"
    )


def train_candidate(
    dataset: DatasetRef,
    data_cfg: DataConfig,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    spec: ModelSpec,
    run_name: str,
    on_progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train ``model_cfg`` with :func:`launch_training`, or export it untrained.

    Models the catalogue marks as not trainable (naive baselines, an injective
    frozen LM prompted as is) have no parameters for an optimizer: they are
    built once and exported in the same layout a training checkpoint has, so
    evaluation and publishing treat every candidate alike.
    """
    if get_entry(model_cfg.name).trainable:
        return launch_training(dataset, data_cfg, model_cfg, train_cfg, spec, run_name, on_progress)
    return export_untrained(dataset, data_cfg, model_cfg, train_cfg, spec, run_name)


def export_untrained(
    dataset: DatasetRef,
    data_cfg: DataConfig,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    spec: ModelSpec,
    run_name: str,
) -> TrainResult:
    """Build and save a model that has nothing to fit, with the data scaler beside it.

    Raises:
        ValueError: an s3:// train.storage_path (untrained exports are written locally).
    """
    if is_s3_uri(train_cfg.storage_path):
        raise ValueError(
            f"train.storage_path={train_cfg.storage_path!r}: {model_cfg.name} has nothing to "
            "train and is exported locally; use a local storage_path for it"
        )
    started = time.perf_counter()
    root = Path(storage_root(train_cfg.storage_path)) / run_name / "export"
    save_pretrained(build_model(model_cfg, spec), model_cfg, spec, root / MODEL_DIR)
    scaler = load_protocol(dataset.path, data_cfg).scaler()
    (root / SCALER_FILE).write_text(json.dumps(scaler, indent=2))
    return TrainResult(
        model=model_cfg.name,
        run_name=run_name,
        checkpoint_uri=str(root / MODEL_DIR),
        curves={},
        train_seconds=time.perf_counter() - started,
        seed=train_cfg.seed,
    )
