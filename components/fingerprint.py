"""Cache keys of the pipeline stages: what each stage's output depends on, hashed.

A stage's output is reused only when everything it depends on is unchanged:

- the data: for ingest, the *source* (it runs before any DVC md5 exists): the pinned
  sha256 of a web source, the package and version of a packaged dataset, the size,
  mtime and sha256 of a local file, the ETag of an S3 object; for later stages, the
  content sha256 of the canonical Parquet file that ingest wrote (``meta.json``), so
  ingesting another dataset into the same ``data/`` (which changes the DVC md5 of the
  directory) does not invalidate this one's profile or model;
- the config sections the stage reads (never the whole run config, so changing
  ``eval`` reuses the trained model), and the run's ``task``, which decides what every
  stage makes of the same data;
- the code version of the stage: a sha256 over the source files of the component
  packages it runs, so editing ``components/training`` retrains but editing
  ``components/evaluation`` only re-evaluates.

Keys are hex strings; ``None`` means "do not cache this call" (e.g. an S3 source
whose ETag cannot be read: ingest runs and reports the real error).
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tsalign.components.config import DataConfig, ModelConfig, RunConfig, Task, TrainConfig
from tsalign.components.refs import DatasetRef, EvalReport, ProfileRef, Ref, TrainResult
from tsalign.components.storage import is_s3_uri

COMPONENTS = Path(__file__).resolve().parent

STAGE_CODE: dict[str, tuple[str, ...]] = {
    "ingest": ("data",),
    "profile": ("data", "profiling"),
    "train": ("data", "models", "training"),
    "evaluate": ("data", "models", "evaluation"),
}
"""Component packages (under components/) whose source makes up each stage's code version."""


def code_version(stage: str) -> str:
    """sha256 over the ``.py`` files of the packages ``stage`` runs (plus refs and config).

    Raises:
        KeyError: ``stage`` is not one of :data:`STAGE_CODE` (publish is never cached).
    """
    return _code_version(STAGE_CODE[stage])


@cache
def _hash_tree(package: str, stamp: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for rel, _, _ in stamp:
        digest.update(rel.encode() + b"\0")
        digest.update((COMPONENTS / rel).read_bytes())
    return digest.hexdigest()


def _code_version(packages: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    files = [COMPONENTS / "refs.py", COMPONENTS / "config.py"]
    for package in packages:
        files.extend(sorted((COMPONENTS / package).rglob("*.py")))
    # Hashing is keyed on (path, size, mtime) so a long-lived `tsalign serve` process
    # still notices an edited file, without re-reading unchanged ones on every run.
    stamp = tuple(
        (str(f.relative_to(COMPONENTS)), f.stat().st_size, f.stat().st_mtime_ns) for f in files
    )
    digest.update(_hash_tree("+".join(packages), stamp).encode())
    return digest.hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def digest(stage: str, **parts: Any) -> str:
    """The cache key of ``stage`` given the named inputs (pydantic models, paths, scalars)."""
    payload = json.dumps(
        {"stage": stage, "code": code_version(stage), **_canonical(parts)},
        sort_keys=True,
        default=str,
    )
    return f"tsalign-{stage}-{hashlib.sha256(payload.encode()).hexdigest()}"


def source_fingerprint(
    cfg: DataConfig, project_root: Path, task: Task = "forecast"
) -> dict[str, Any] | None:
    """What identifies the *content* of ``cfg.source`` without ingesting it.

    A labelled panel (``task: classify``) or an anomaly corpus reads more than one file
    (``X_TEST.ts`` beside ``X_TRAIN.ts``, the windows JSON): all of them are identified.

    Returns:
        A JSON-able dict, or None when the content cannot be identified cheaply
        (missing file, unreadable S3 object, unknown scheme): the caller must not cache then.
    """
    from tsalign.components.data.errors import DataError
    from tsalign.components.data.sources import source_for

    if cfg.rev is not None:
        return {"rev": cfg.rev}
    if task == "classify":
        from tsalign.components.data.panel import panel_fingerprint

        return panel_fingerprint(cfg, Path(project_root))
    if task == "anomaly":
        from tsalign.components.data.anomaly_ingest import anomaly_fingerprint

        return anomaly_fingerprint(cfg, Path(project_root))
    try:
        source = source_for(cfg, Path(project_root))
    except DataError:
        return None  # ingest itself reports it, with the fix
    return source.fingerprint()


def dataset_fingerprint(dataset: DatasetRef) -> str:
    """Content sha256 of the dataset's canonical Parquet (from its meta.json), else its md5."""
    meta = Path(dataset.meta_path)
    if meta.is_file():
        recorded = json.loads(meta.read_text())
        sha = recorded.get("content_sha256")
        if sha:
            text = recorded.get("text") or {}
            # Text versioned beside the series changes what profiling and training see.
            return f"sha256:{sha}" + (f"+text:{text['content_sha256']}" if text else "")
    return f"md5:{dataset.md5}"


def _resolved(path: str) -> str:
    return path if is_s3_uri(path) else str(Path(path).expanduser().resolve())


def ingest_key(config: RunConfig, project_root: str) -> str | None:
    """Key of the ingest stage: source identity + content fingerprint + data section."""
    root = Path(project_root).resolve()
    from tsalign.components.data.text import text_fingerprints

    source = source_fingerprint(config.data, root, config.task)
    texts = text_fingerprints(config.data, root)
    if source is None or texts is None:
        return None
    return digest(
        "ingest",
        task=config.task,
        source=source,
        texts=texts,
        data=config.data,
        project_root=str(root),
    )


def profile_key(config: RunConfig, dataset: DatasetRef) -> str:
    """Key of the profile stage: dataset content + data and profile sections + output dir."""
    return digest(
        "profile",
        task=config.task,
        dataset=dataset_fingerprint(dataset),
        name=dataset.name,
        data=config.data,
        profile=config.profile,
        workdir=_resolved(config.workdir),
    )


def _profile_inputs(profile: ProfileRef | None) -> dict[str, Any] | None:
    # Only what training reads from the profile (period, paradigm, domain text), not paths.
    return (
        None
        if profile is None
        else profile.model_dump(mode="json", exclude={"profile_path", "report_path", "plot_paths"})
    )


def train_key(
    config: RunConfig,
    dataset: DatasetRef,
    profile: ProfileRef | None,
    model: ModelConfig | None = None,
    train: TrainConfig | None = None,
) -> str:
    """Key of one training run: dataset content + data/model/train sections + the model spec's
    inputs (profile facts, ``eval.season``).

    The model section is hashed with the parameters of its own entry only (``model.params``),
    so a setting another entry reads cannot be part of it.

    Args:
        config: the run config (its ``data`` and ``train`` sections and ``eval.season`` are
            read).
        dataset: the dataset version trained on.
        profile: the profile whose period and domain text enrich the model spec.
        model: the candidate's model section; ``config.model`` when None.
        train: the candidate's train section; ``config.train`` when None.
    """
    return digest(
        "train",
        task=config.task,
        dataset=dataset_fingerprint(dataset),
        data=config.data,
        model=model or config.model,
        train=train or config.train,
        profile=_profile_inputs(profile),
        season=config.eval.season,
        storage=_resolved(config.train.storage_path),
    )


def evaluate_key(config: RunConfig, dataset: DatasetRef, profile: ProfileRef, trained: Ref) -> str:
    """Key of the evaluate stage: dataset version + data/eval sections + the trained models.

    ``dataset.md5`` (not only the content) is part of it because the report records the
    data version it was computed on.
    """
    return digest(
        "evaluate",
        task=config.task,
        dataset=dataset_fingerprint(dataset),
        md5=dataset.md5,
        data=config.data,
        eval=config.eval,
        # The choice of the candidate to publish is made on these validation windows.
        publish=config.publish,
        val_windows=config.train.max_val_windows,
        gate_metric=config.registry.test_metric,
        trained=trained,
        season=profile.dominant_period,
        paradigm=profile.recommended_paradigm,
        workdir=_resolved(config.workdir),
    )


def outputs_exist(ref: Ref, project_root: str | None = None, data_dir: str = "data") -> bool:
    """Whether the files a (possibly cached) stage output points at are still there.

    A cached reference is only reusable when its outputs survive: a deleted
    ``outputs/`` or checkpoint directory, or a ``data.dvc`` that moved on since the
    dataset version was recorded, makes the stage run again.

    Args:
        ref: the stage output.
        project_root: the DVC project, to compare a DatasetRef's md5 with ``data.dvc``.
        data_dir: the tracked directory (``DataConfig.data_dir``).
    """
    if isinstance(ref, DatasetRef):
        if not (Path(ref.path).is_file() and Path(ref.meta_path).is_file()):
            return False
        if project_root is None or ".dvc/tmp/tsalign-revs" in ref.path.replace(os.sep, "/"):
            return True  # a pinned older version read through DVC, not the workspace
        from tsalign.components.data.versioning import recorded_md5

        return recorded_md5(Path(project_root).resolve(), data_dir) == ref.md5
    if isinstance(ref, ProfileRef):
        return Path(ref.profile_path).is_file()
    if isinstance(ref, TrainResult):
        return is_s3_uri(ref.checkpoint_uri) or Path(ref.checkpoint_uri).is_dir()
    if isinstance(getattr(ref, "runs", None), list):  # several candidates trained together
        return all(outputs_exist(run) for run in ref.runs)
    if isinstance(ref, EvalReport):
        return Path(ref.report_path).is_file()
    return True
