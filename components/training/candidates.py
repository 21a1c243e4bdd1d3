"""One candidate of the train stage: trained on Ray, or exported as built when there is nothing to fit."""

from __future__ import annotations

import dataclasses
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
from tsalign.components.layout import MODEL_DIR, SCALER_FILE
from tsalign.components.models import (
    ModelBuildError,
    ModelSpec,
    build_model,
    get_entry,
    save_pretrained,
)
from tsalign.components.models.catalogue import auto_candidates
from tsalign.components.refs import DatasetRef, TrainResult
from tsalign.components.storage import is_s3_uri
from tsalign.components.training.job import TrainJob
from tsalign.components.training.launcher import (
    ProgressCallback,
    TrainingFailed,
    launch_training,
    storage_root,
)
from tsalign.components.training.recipe import TrainingDiverged

AUTO_FAILURES = (ModelBuildError, TrainingFailed, TrainingDiverged)
"""What a model ``compare: auto`` chose may fail with and still leave the run going: it is
recorded as not trained, with the reason, instead of failing the stage (the user did not
list it). A model the user listed fails the stage with the same errors."""


def auto_failure(err: BaseException) -> str:
    """Why a model ``compare: auto`` chose was not trained, for the leaderboard and summary."""
    if isinstance(err, ModelBuildError):
        return f"could not be built: {err}"
    return f"failed in training: {err}"


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


def candidate_model(config: RunConfig, recommended: str | None, label: str) -> ModelConfig:
    """The model section the candidate ``label`` was trained with (see :func:`plan_candidates`).

    Raises:
        ConfigError: ``label`` is not a candidate of ``config`` (the config changed since).
    """
    candidates = plan_candidates(config, recommended)
    for candidate in candidates:
        if candidate.key == label:
            return candidate.model
    raise ConfigError(
        f"{label!r} was evaluated but is not a candidate of this config "
        f"({[c.key for c in candidates]}); run train and evaluate with it again"
    )


TEXT_CACHE_DIR = "text_cache"
"""Under ``workdir``: the text embeddings and each data version's window texts."""


def window_texts_file(
    config: RunConfig, dataset: DatasetRef, recommended: str | None
) -> str | None:
    """The window-texts file of ``dataset`` when a candidate fuses text, else None.

    Computed once per data version and alignment (embeddings cached per text) under
    ``<workdir>/text_cache``; a fused model, its seeds and the evaluation share it.
    """
    if not any(c.model.fuses_text for c in plan_candidates(config, recommended)):
        return None
    from tsalign.components.data.text_features import prepare_window_texts

    prepared = prepare_window_texts(
        dataset.path, dataset.md5, config.data, Path(config.workdir).resolve() / TEXT_CACHE_DIR
    )
    # absolute: Ray workers do not run in the driver's directory
    return None if prepared is None else str(prepared[1])


def with_text_dims(spec: ModelSpec, model: ModelConfig, text_path: str | None) -> ModelSpec:
    """``spec`` with the text width and tokens of ``text_path`` when ``model`` fuses text
    (without a file the build refuses the fusion, naming data.text)."""
    if not (text_path and model.fuses_text):
        return spec
    from tsalign.components.data.text_features import load_window_texts

    texts = load_window_texts(text_path)
    return dataclasses.replace(spec, text_dim=texts.text_dim, text_tokens=texts.tokens)


RETRIEVAL_CACHE_DIR = "retrieval_cache"
"""Under ``workdir``: each data version's retrieval indexes."""


def retrieval_index_file(
    data: DataConfig, workdir: str, dataset: DatasetRef, model: ModelConfig, train: TrainConfig
) -> str | None:
    """The retrieval index of ``dataset`` when ``model`` retrieves (``model.retrieval``), else None.

    Built once per data version, backbone and retrieval settings under
    ``<workdir>/retrieval_cache``; every seed of the model shares it. The path is absolute:
    Ray workers do not run in the driver's directory.
    """
    if model.retrieval is None:
        return None
    from tsalign.components.data.retrieval_index import prepare_index

    path = prepare_index(
        dataset.path,
        dataset.md5,
        data,
        model.retrieval,
        model.backbone,
        (train.max_train_windows, train.max_val_windows),
        Path(workdir).resolve() / RETRIEVAL_CACHE_DIR,
    )
    return str(path)


def with_retrieval_dims(spec: ModelSpec, retrieval_path: str | None) -> ModelSpec:
    """``spec`` with the sizes of the retrieval index at ``retrieval_path`` (unchanged without)."""
    if not retrieval_path:
        return spec
    from safetensors import safe_open

    with safe_open(retrieval_path, framework="numpy") as f:
        rows = f.get_slice("series").get_shape()[0]
        windows = f.get_slice("starts").get_shape()[0]
    return dataclasses.replace(spec, retrieval_rows=rows, retrieval_windows=windows)


def train_candidate(job: TrainJob, on_progress: ProgressCallback | None = None) -> TrainResult:
    """Train ``job.model`` with :func:`launch_training`, or export it untrained.

    Models the catalogue marks as not trainable (naive baselines, an injective
    frozen LM prompted as is) have no parameters for an optimizer: they are
    built once and exported in the same layout a training checkpoint has, so
    evaluation and publishing treat every candidate alike.
    """
    if get_entry(job.model.name).trainable:
        return launch_training(job, on_progress)
    return export_untrained(job)


def export_untrained(job: TrainJob) -> TrainResult:
    """Build and save a model that has nothing to fit, with the data scaler beside it.

    Raises:
        ValueError: an s3:// train.storage_path (untrained exports are written locally).
    """
    if is_s3_uri(job.train.storage_path):
        raise ValueError(
            f"train.storage_path={job.train.storage_path!r}: {job.model.name} has nothing to "
            "train and is exported locally; use a local storage_path for it"
        )
    started = time.perf_counter()
    root = Path(storage_root(job.train.storage_path)) / job.run_name / "export"
    save_pretrained(build_model(job.model, job.spec), job.model, job.spec, root / MODEL_DIR)
    scaler = load_protocol(job.dataset.path, job.protocol).scaler()
    (root / SCALER_FILE).write_text(json.dumps(scaler, indent=2))
    return TrainResult(
        model=job.model.name,
        run_name=job.run_name,
        checkpoint_uri=str(root / MODEL_DIR),
        curves={},
        train_seconds=time.perf_counter() - started,
        seed=job.train.seed,
    )
