"""The tune stage: a Ray Tune search per candidate, the same budget for each.

Run alone: ``tsalign tune [--config ...] [key=value ...]`` (after ingest and profile), or
in the pipeline with ``tune.enabled=true``, where it takes the place of the train stage.
Each trainable candidate gets ``tune.num_samples`` trials of at most ``tune.max_epochs``
epochs (under the first of ``eval.seeds``), ASHA stops the trailing ones on validation
loss, and the chosen trial's best checkpoint is recorded as the candidate's training run
(the chosen configuration is trained again under each further seed), so ``tsalign evaluate`` scores
the test split once, for the chosen configurations only. As in the train stage, a text-fused
candidate's trials (and seeds) read the window texts, made once per data version, and a
retrieval candidate's its index, built once for the largest ``model.retrieval.k`` its search
reaches (a trial with a smaller k reads the nearest k). Not cached by Prefect:
rerunning the same search restores it from ``train.storage_path`` (``Tuner.restore``),
which keeps finished trials and resumes unfinished ones.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from tsalign.components.config import ModelConfig, RunConfig, TrainConfig, apply_settings
from tsalign.components.fingerprint import outputs_exist
from tsalign.components.models import get_entry, model_spec
from tsalign.components.refs import DatasetRef, ProfileRef, TrainedCandidates, TrainResult
from tsalign.components.state import record
from tsalign.components.training.candidates import (
    AUTO_FAILURES,
    auto_failure,
    export_untrained,
    with_retrieval_dims,
    with_text_dims,
)
from tsalign.components.training.job import TrainJob
from tsalign.components.training.launcher import new_run_name
from tsalign.components.training.tuning import index_model, tune_candidate
from tsalign.flows import artifacts
from tsalign.flows.caching import run_cached
from tsalign.flows.confinement import confine
from tsalign.flows.summary import search_line
from tsalign.flows.train import (
    candidate_inputs,
    run_label_of,
    stage_inputs,
    stage_window_texts,
    train_model,
    twins_of,
)


@task(name="tune-model", cache_policy=NO_CACHE)
def tune_model(
    config: RunConfig,
    model: ModelConfig,
    dataset: DatasetRef,
    profile: ProfileRef | None,
    train: TrainConfig,
    text_path: str | None = None,
    retrieval_path: str | None = None,
) -> TrainResult:
    protocol = config.data.protocol()
    spec = with_text_dims(
        model_spec(dataset, protocol.window, profile, config.eval.season), model, text_path
    )
    spec = with_retrieval_dims(spec, retrieval_path)
    if not get_entry(model.name).trainable:  # nothing to search: exported as built
        run_name = new_run_name(model.name)
        job = TrainJob(dataset, protocol, model, train, spec, run_name, text_path, retrieval_path)
        return export_untrained(job)
    out_dir = Path(config.workdir) / dataset.name / "tune"
    return tune_candidate(
        dataset, protocol, model, train, config.tune, spec, out_dir, text_path, retrieval_path
    )


@flow(name="tune", log_prints=True)
def tune_flow(
    config: RunConfig, dataset: DatasetRef | None = None, profile: ProfileRef | None = None
) -> TrainedCandidates:
    """Search model.name and each compare entry; record each chosen run as the train output."""
    config = confine(config)
    dataset, profile, candidates = stage_inputs(config, dataset, profile)
    texts = stage_window_texts(config, dataset, profile)
    runs: list[TrainResult] = []
    skipped: dict[str, str] = {}
    for candidate in candidates:
        model, train, labelled = candidate.model, candidate.train, {"label": candidate.key}
        first, *others = config.seeded(get_entry(model.name).trainable)
        try:
            # one index serves every trial: built for the largest k the search reaches
            inputs = candidate_inputs(config, dataset, index_model(model), train, texts)
            own = train.model_copy(update={"seed": first.train.seed})
            chosen = tune_model(first, model, dataset, profile, own, *inputs)
            chosen = chosen.model_copy(update=labelled)
            own_runs = [chosen]
            for seeded in others:
                own = train.model_copy(update={"seed": seeded.train.seed})
                run = retrain(seeded, candidate.key, model, own, chosen, dataset, profile, inputs)
                own_runs.append(run.model_copy(update=labelled))
        except AUTO_FAILURES as err:
            if not candidate.auto:
                raise
            skipped[candidate.key] = auto_failure(err)  # reported, as in the train stage
            continue
        runs.extend(own_runs)
    result = TrainedCandidates(runs=runs, skipped=skipped, twins=twins_of(candidates))
    record(config.workdir, dataset.name, result)
    for run in result.runs:
        if run.tuning is not None:
            artifacts.publish_tuning(dataset.name, run.tuning)
            print(search_line(run))
    return result


def retrain(
    config: RunConfig,
    label: str,
    model: ModelConfig,
    train: TrainConfig,
    chosen: TrainResult,
    dataset: DatasetRef,
    profile: ProfileRef | None,
    inputs: tuple[str | None, str | None] = (None, None),
) -> TrainResult:
    """The chosen configuration trained under another of ``eval.seeds`` (a plain train run).

    The search runs under the first seed; evaluation reports mean ± std over every seed of
    the same configuration, so the others train what the search chose, with the search's
    window texts and retrieval index (``inputs``).
    """
    tuned = apply_settings(
        RunConfig(model=model, train=train, compare=[]),
        chosen.overrides,
        f"{chosen.run_name} settings",
    )
    label = run_label_of(label, config)
    run = run_cached(
        train_model,
        outputs_exist,
        config.task,
        config.data.protocol(),
        tuned.model,
        tuned.train,
        config.eval.season,
        label,
        dataset,
        profile,
        *inputs,
    )
    return run.model_copy(update={"overrides": chosen.overrides})
