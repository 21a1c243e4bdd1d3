"""Stage 3: fine-tune the configured model on Ray Train with DeepSpeed.

Run alone: ``tsalign train [--config ...] [key=value ...]`` (after ingest and profile).
Each candidate's run is cached on the dataset content, the data protocol (split and
windows, never the source settings), the model and train sections, the profile facts
it uses and the training code; connecting to a Ray cluster retries
with backoff on network errors.
"""

from __future__ import annotations

from prefect import flow, task

from tsalign.components.config import (
    Candidate,
    ModelConfig,
    ProtocolConfig,
    RunConfig,
    Task,
    TrainConfig,
)
from tsalign.components.evaluation.runner import check_baselines
from tsalign.components.fingerprint import outputs_exist, train_key
from tsalign.components.models import get_entry, model_spec
from tsalign.components.preflight import check_task_stages
from tsalign.components.refs import DatasetRef, ProfileRef, TrainedCandidates, TrainResult
from tsalign.components.state import MissingStageOutput, latest, record
from tsalign.components.training.candidates import (
    AUTO_FAILURES,
    auto_failure,
    plan_candidates,
    retrieval_index_file,
    train_candidate,
    window_texts_file,
    with_retrieval_dims,
    with_text_dims,
)
from tsalign.components.training.job import TrainJob
from tsalign.components.training.launcher import (
    connect_ray,
    effective_run_name,
    new_run_name,
    ray_address,
)
from tsalign.flows.caching import CACHED, NETWORK_RETRIES, key_fn, retry_transient, run_cached
from tsalign.flows.confinement import confine
from tsalign.flows.console import training_progress


@task(name="connect-ray-cluster", retry_condition_fn=retry_transient, **NETWORK_RETRIES)
def connect_cluster(address: str) -> None:
    connect_ray(address)


def run_label_of(label: str, seeded: RunConfig) -> str:
    """The candidate's label, and its seed when several are trained: each seed gets its own
    run (a fixed train.run_name must not resume another seed's checkpoints)."""
    return label if len(seeded.train_seeds()) == 1 else f"{label}-seed{seeded.train.seed}"


def twins_of(candidates: list[Candidate]) -> dict[str, str]:
    """Label of each text-fused candidate -> label of its no-text twin."""
    return {c.twin_of: c.key for c in candidates if c.twin_of}


@task(name="train-model", cache_key_fn=key_fn(train_key), **CACHED)
def train_model(
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
) -> TrainResult:
    # ``task`` is taken for the cache key (what the output is for), not read here.
    run_name = effective_run_name(train, run_label, new_run_name(run_label))
    spec = with_text_dims(model_spec(dataset, protocol.window, profile, season), model, text_path)
    spec = with_retrieval_dims(spec, retrieval_path)
    job = TrainJob(dataset, protocol, model, train, spec, run_name, text_path, retrieval_path)
    with training_progress(run_name) as on_progress:
        return train_candidate(job, on_progress=on_progress)


def stage_inputs(
    config: RunConfig, dataset: DatasetRef | None, profile: ProfileRef | None
) -> tuple[DatasetRef, ProfileRef | None, list[Candidate]]:
    """The dataset, profile and candidates a train or tune stage works on, checked up front.

    An unknown model name or an evaluation that could not run fails here, before any
    training starts; a Ray cluster address is connected to (with retries).
    """
    check_task_stages(config, ("train",), "train config")
    dataset = dataset or latest(config.workdir, config.data.name, DatasetRef)
    if profile is None:
        try:
            profile = latest(config.workdir, config.data.name, ProfileRef)
        except MissingStageOutput:
            profile = None  # training does not need a profile; it only enriches the spec
    candidates = plan_candidates(config, profile.recommended_paradigm if profile else None)
    for candidate in candidates:
        get_entry(candidate.model.name)
    check_baselines(config.eval.baselines)
    address = ray_address(config.train)
    if address:
        connect_cluster(address)
    return dataset, profile, candidates


def stage_window_texts(
    config: RunConfig, dataset: DatasetRef, profile: ProfileRef | None
) -> str | None:
    """The window-texts file of a train or tune stage (None when no candidate fuses text).

    Computed once per data version, before any worker starts.
    """
    return window_texts_file(config, dataset, profile.recommended_paradigm if profile else None)


def candidate_inputs(
    config: RunConfig,
    dataset: DatasetRef,
    model: ModelConfig,
    train: TrainConfig,
    texts: str | None,
) -> tuple[str | None, str | None]:
    """What ``model`` trains with beyond its windows: the stage's window texts when it fuses
    text, and its retrieval index when it retrieves (built once per data version and
    retrieval settings, before any worker starts)."""
    index = retrieval_index_file(config.data, config.workdir, dataset, model, train)
    return (texts if model.fuses_text else None), index


@flow(name="train", log_prints=True)
def train_flow(
    config: RunConfig, dataset: DatasetRef | None = None, profile: ProfileRef | None = None
) -> TrainedCandidates:
    """Train model.name and each compare entry; the profile (when present) gives period and context."""
    config = confine(config)
    dataset, profile, candidates = stage_inputs(config, dataset, profile)
    protocol, season = config.data.protocol(), config.eval.season
    texts = stage_window_texts(config, dataset, profile)
    runs, skipped = [], {}
    for candidate in candidates:
        model = candidate.model
        own_runs = []
        try:
            text, index = candidate_inputs(config, dataset, model, candidate.train, texts)
            for seeded in config.seeded(get_entry(model.name).trainable):
                own = candidate.train.model_copy(update={"seed": seeded.train.seed})
                run = run_cached(
                    train_model,
                    outputs_exist,
                    config.task,
                    protocol,
                    model,
                    own,
                    season,
                    run_label_of(candidate.key, seeded),
                    dataset,
                    profile,
                    text,
                    index,
                )
                # the label names nothing the run computes, so it is set here, not cached
                own_runs.append(run.model_copy(update={"label": candidate.key}))
        except AUTO_FAILURES as err:
            if not candidate.auto:
                raise
            # `auto` picked it, not the user: say why it is missing instead of failing the
            # run (a build error in the driver, or a Ray worker's error in any seed).
            skipped[candidate.key] = auto_failure(err)
            continue
        runs.extend(own_runs)
    result = TrainedCandidates(runs=runs, skipped=skipped, twins=twins_of(candidates))
    record(config.workdir, dataset.name, result)
    return result
