"""Cache keys of the pipeline stages: what each stage's output depends on, hashed.

A stage's output is reused only when everything it depends on is unchanged:

- the data: for ingest, the *source* (it runs before any DVC md5 exists): the pinned
  sha256 of a web source, the package and version of a packaged dataset, the size,
  mtime and sha256 of a local file, the ETag of an S3 object; for later stages, the
  content sha256 of the canonical Parquet file that ingest wrote (``meta.json``), so
  ingesting another dataset into the same ``data/`` (which changes the DVC md5 of the
  directory) does not invalidate this one's profile or model;
- the config sections the stage reads, and only those: each key function takes
  the sections as arguments (never the whole run config), so changing ``eval`` reuses
  the trained model and moving ``data.cache_dir`` reuses everything after ingest;
- the run's ``task``, which decides what every stage makes of the same data;
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

from tsalign.components.config import (
    DataConfig,
    EvalConfig,
    ModelConfig,
    ProfileConfig,
    ProtocolConfig,
    SelectMode,
    Task,
    TrainConfig,
)
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
    """sha256 over the ``.py`` files of the packages ``stage`` runs (plus refs, config, layout).

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
    files = [COMPONENTS / "refs.py", COMPONENTS / "config.py", COMPONENTS / "layout.py"]
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


DATASET_FACTS = ("targets", "covariates", "freq", "description", "units")
"""What later stages read from a dataset's meta.json beside the Parquet content: which
channels are targets (the file holds every channel) and the domain text and units."""


def dataset_fingerprint(dataset: DatasetRef) -> dict[str, Any]:
    """Content sha256 of the dataset's canonical Parquet and the facts its meta.json adds.

    Falls back to the DVC md5 when there is no meta.json (or it predates content hashes).
    """
    meta = Path(dataset.meta_path)
    if meta.is_file():
        recorded = json.loads(meta.read_text())
        if recorded.get("content_sha256"):
            text = recorded.get("text") or {}
            return {
                "content": f"sha256:{recorded['content_sha256']}",
                # Text versioned beside the series changes what profiling and training see.
                "text": text.get("content_sha256"),
                **{fact: recorded.get(fact) for fact in DATASET_FACTS},
            }
    return {"content": f"md5:{dataset.md5}"}


def _resolved(path: str) -> str:
    return path if is_s3_uri(path) else str(Path(path).expanduser().resolve())


def ingest_key(task: Task, data: DataConfig, project_root: str) -> str | None:
    """Key of the ingest stage: the source's content fingerprint, how it is validated and
    split-checked, and where the canonical file goes.

    How the source is reached (``cache_dir``, ``endpoint_url``, ``allowed_roots``,
    ``local_copy``) is left out: the fingerprint already names the content.
    """
    root = Path(project_root).resolve()
    from tsalign.components.data.text import text_fingerprints

    source = source_fingerprint(data, root, task)
    texts = text_fingerprints(data, root)
    if source is None or texts is None:
        return None
    return digest(
        "ingest",
        task=task,
        source=source,
        texts=texts,
        validation=data.validation(),
        protocol=data.protocol(),
        name=data.name,
        data_dir=data.data_dir,
        project_root=str(root),
    )


def profile_key(
    task: Task,
    protocol: ProtocolConfig,
    profile_cfg: ProfileConfig,
    description: str,
    workdir: str,
    dataset: DatasetRef,
) -> str:
    """Key of the profile stage: dataset content, the protocol (the profile is fit on the
    training split), the profile section, ``data.description`` (the domain text of a panel
    or anomaly profile) and the output directory."""
    return digest(
        "profile",
        task=task,
        dataset=dataset_fingerprint(dataset),
        name=dataset.name,
        protocol=protocol,
        profile=profile_cfg,
        description=description,
        workdir=_resolved(workdir),
    )


def _profile_inputs(profile: ProfileRef | None) -> dict[str, Any] | None:
    # Only what training reads from the profile (period, paradigm, domain text), not paths.
    return (
        None
        if profile is None
        else profile.model_dump(mode="json", exclude={"profile_path", "report_path", "plot_paths"})
    )


def train_key(
    task: Task,
    protocol: ProtocolConfig,
    model: ModelConfig,
    train: TrainConfig,
    season: int | None,
    run_label: str,
    dataset: DatasetRef,
    profile: ProfileRef | None,
    text_path: str | None = None,
    retrieval_path: str | None = None,
) -> str:
    """Key of one training run: exactly what the trainer reads.

    The model section is hashed with the parameters of its own entry only (``model.params``),
    so a setting another entry reads cannot be part of it.

    Args:
        task: the run's task.
        protocol: split and windows (never the source settings: moving ``data.cache_dir``
            or ``data.endpoint_url`` keeps the trained model).
        model: the candidate's model section.
        train: the train section.
        season: ``eval.season``, which overrides the profile's period in the model spec.
        run_label: names the run (model, and seed when several are trained); it changes
            nothing the run computes, so it is not part of the key.
        dataset: the dataset version trained on (its content and facts).
        profile: the profile whose period and domain text enrich the model spec.
        text_path: a fused model's window texts; its file name keys the data version,
            alignment and encoder they were computed from.
        retrieval_path: a retrieval model's index; its file name keys the data version,
            backbone and settings it was built from.
    """
    return digest(
        "train",
        **({"texts": Path(text_path).name} if text_path else {}),
        **({"retrieval_index": Path(retrieval_path).name} if retrieval_path else {}),
        task=task,
        dataset=dataset_fingerprint(dataset),
        protocol=protocol,
        model=model,
        train=train,
        profile=_profile_inputs(profile),
        season=season,
        storage=_resolved(train.storage_path),
    )


def evaluate_key(
    task: Task,
    protocol: ProtocolConfig,
    eval_cfg: EvalConfig,
    select: SelectMode,
    max_val_windows: int | None,
    gate_metric: str,
    workdir: str,
    dataset: DatasetRef,
    profile: ProfileRef,
    trained: Ref,
    provenance: dict[str, Any] | None = None,
    text_path: str | None = None,
) -> str:
    """Key of the evaluate stage: dataset version + protocol + eval section + the trained models,
    and what the choice of the candidate to publish reads (``publish.select``, the validation
    windows ``train.max_val_windows``, the gate metric ``registry.test_metric``).

    ``dataset.md5`` (not only the content) is part of it because the report records the
    data version it was computed on. ``provenance`` (the run config's hash, the train
    seed) is recorded in the report but changes no score, so it is not part of the key.
    """
    return digest(
        "evaluate",
        task=task,
        dataset=dataset_fingerprint(dataset),
        md5=dataset.md5,
        protocol=protocol,
        eval=eval_cfg,
        # The choice of the candidate to publish is made on these validation windows.
        select=select,
        val_windows=max_val_windows,
        gate_metric=gate_metric,
        trained=trained,
        season=profile.dominant_period,
        paradigm=profile.recommended_paradigm,
        workdir=_resolved(workdir),
        **({"texts": Path(text_path).name} if text_path else {}),
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
