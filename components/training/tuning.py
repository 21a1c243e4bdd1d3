"""The tune stage: a Ray Tune search over Ray Train trials, one candidate at a time.

Follows Ray's pattern for tuning Ray Train (V2) runs: each Tune trial is a small driver
(:func:`run_trial`) that starts one Ray Train run through the same launcher as the train
stage (TorchTrainer + DeepSpeed per worker), and Ray Train's ``TuneReportCallback`` hands
every epoch's metrics to Tune. ASHA (``time_attr="epoch"``) stops trials whose
validation loss trails at each rung; the trial with the best validation loss is chosen
and its best checkpoint becomes the candidate's train result. The test split is never
looked at here.

Every candidate gets the same budget, ``tune.num_samples`` trials of at most
``tune.max_epochs`` epochs each, sampled (seeded) from its catalogue entry's search
space. A trial's settings are dotted config paths applied through the normal config
validation, so each trial trains a validated run config. A text-fused candidate's trials
read its window texts and a retrieval candidate's trials its index, both made once by the
caller before the search, as the train stage makes them.

The experiment name is derived from what the search depends on (dataset version, the
candidate's sections, the space, the tune section, the texts and the index), so rerunning
the same command after the driver died finds the experiment in ``train.storage_path`` and
continues it with ``Tuner.restore``: finished trials are kept, unfinished ones resume from their Ray
Train checkpoints (each trial's run is named after its trial id).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from tsalign.components.config import (
    ConfigError,
    ModelConfig,
    ProtocolConfig,
    RunConfig,
    TrainConfig,
    TuneConfig,
    apply_settings,
    build_config,
)
from tsalign.components.layout import MODEL_DIR
from tsalign.components.models import ModelBuildError, ModelSpec, get_entry
from tsalign.components.models.search_space import SearchSpace, describe, flat, nested
from tsalign.components.refs import DatasetRef, TrainResult, TrialRecord, TuneResult
from tsalign.components.storage import write_json_atomic
from tsalign.components.training.job import TrainJob
from tsalign.components.training.launcher import (
    TrainingFailed,
    connect_ray,
    launch_training,
    ray_address,
    resolve_train_placement,
    storage_root,
)

log = logging.getLogger(__name__)

TRIAL_DRIVER_MEMORY = 64 << 20
"""Bytes of Ray's ``memory`` resource a trial's driver reserves. The driver only starts and
watches its Ray Train run, so it takes no CPU (the workers do); Tune needs some resource
for it, and ``memory`` exists on every node."""

CURVES = ("train_loss", "val_loss", "samples_per_s")


class TuningFailed(TrainingFailed):
    """No trial of a search produced a validation loss; the message lists each trial's reason."""


class TrialSetup(BaseModel):
    """What every trial of one search shares; Tune hands it to :func:`run_trial` in its config."""

    model_config = ConfigDict(frozen=True)

    dataset: DatasetRef
    protocol: ProtocolConfig  # split and windows: nothing of the data source travels
    config: dict[str, Any]  # the candidate's model and train sections (set fields only)
    spec: dict[str, Any]  # already widened for the texts and the index below
    experiment: str
    text_path: str | None = None  # a fused candidate's window texts
    retrieval_path: str | None = None  # a retrieval candidate's index (see :func:`index_model`)


def run_trial(config: dict[str, Any]) -> None:
    """Ray Tune's trainable: one Ray Train run with the trial's sampled settings.

    Reads only its argument (``{"setup": TrialSetup, "settings": nested sampled values}``),
    so it works the same on any node. The run is named after the trial id, which a
    restored search keeps, so a resumed trial continues its Ray Train run.

    Raises:
        ConfigError: sampled settings the config schema refuses.
        TrainingDiverged, TrainingFailed: as :func:`launch_training`; the trial errors.
    """
    import ray.tune
    from ray.tune.integration.ray_train import TuneReportCallback

    setup = TrialSetup.model_validate(config["setup"])
    job = trial_job(setup, flat(config["settings"]), ray.tune.get_context().get_trial_id())
    launch_training(job, callbacks=[TuneReportCallback()])


def trial_job(setup: TrialSetup, settings: dict[str, Any], trial_id: str) -> TrainJob:
    """The Ray Train run of one trial: the candidate's sections with its sampled ``settings``
    (dotted paths), on the search's data, window texts and retrieval index.

    Raises:
        ConfigError: sampled settings the config schema refuses.
    """
    cfg = apply_settings(
        build_config(setup.config, f"{setup.experiment} setup"),
        settings,
        f"trial {trial_id} of {setup.experiment}",
    )
    return TrainJob(
        setup.dataset,
        setup.protocol,
        cfg.model,
        cfg.train,
        ModelSpec(**setup.spec),
        f"{setup.experiment}-{trial_id}",
        setup.text_path,
        setup.retrieval_path,
    )


def budget_config(
    model_cfg: ModelConfig, train_cfg: TrainConfig, tune_cfg: TuneConfig
) -> RunConfig:
    """The candidate's sections as one run config, with the epoch budget as train.epochs."""
    base = RunConfig(model=model_cfg, train=train_cfg, compare=[])
    return apply_settings(base, {"train.epochs": tune_cfg.max_epochs}, "tune budget")


def check_space(base: RunConfig, space: SearchSpace) -> None:
    """Validate every bound and choice of ``space`` against the config schema, before any trial.

    Raises:
        ConfigError: naming the entry, the path and the value the schema refuses.
    """
    for dim in space:
        for value in dim.probes():
            try:
                apply_settings(base, {dim.path: value}, "search space")
            except ConfigError as err:
                raise ConfigError(
                    f"the search space of {base.model.name} sets {dim.path}={value!r} "
                    f"({dim.describe()}), which the config refuses: {err}"
                ) from None


def check_builds(base: RunConfig, space: SearchSpace, spec: ModelSpec) -> None:
    """Build the model at every bound of each ``model.params`` dimension for this data's
    shapes, before any trial: a value the windows cannot take (a DLinear kernel longer than
    the input window, a patch longer than it) is refused up front, not found by a trial.

    Raises:
        ConfigError: naming the entry, the path, the value and the builder's reason.
    """
    from tsalign.components.models import build_model

    for dim in space:
        if not dim.path.startswith("model.params."):
            continue  # optimisation and depth settings do not depend on the data's shapes
        for value in dim.probes():
            cfg = apply_settings(base, {dim.path: value}, "search space")
            try:
                build_model(cfg.model, spec)
            except ModelBuildError as err:
                raise ConfigError(
                    f"the search space of {base.model.name} sets {dim.path}={value!r} "
                    f"({dim.describe()}), which this data cannot take: {err}"
                ) from None


def experiment_name(
    dataset: DatasetRef,
    protocol: ProtocolConfig,
    base: RunConfig,
    space: SearchSpace,
    tune_cfg: TuneConfig,
    text_path: str | None = None,
    retrieval_path: str | None = None,
) -> str:
    """``tune-<model>-<digest>``: the same search (data version, sections, space, budget,
    window texts and retrieval index) gets the same name, which is how a rerun finds it to
    restore; other texts or another index start another search."""
    facts: dict[str, Any] = {
        "data": [dataset.md5, dataset.path],
        "protocol": protocol.model_dump(mode="json"),
        "config": base.model_dump(mode="json", include={"model", "train"}),
        "space": describe(space),
        "tune": tune_cfg.model_dump(mode="json", exclude={"enabled"}),
    }
    if text_path or retrieval_path:  # absent otherwise: names of plain searches stay as they were
        facts["inputs"] = [text_path, retrieval_path]
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:12]
    return f"tune-{base.model.name}-{digest}"


def index_model(model_cfg: ModelConfig) -> ModelConfig:
    """The model whose retrieval index serves every trial of its search.

    Its ``model.retrieval.k`` is the largest the candidate's search space reaches: the
    index stores each window's neighbours nearest first, so a trial with a smaller k reads
    the first k of them, which are the neighbours an index for its own k would hold.
    Without ``model.retrieval`` the model is returned as it is.
    """
    if model_cfg.retrieval is None:
        return model_cfg
    ks = [
        value
        for dim in get_entry(model_cfg.name).search_space
        if dim.path == "model.retrieval.k"
        for value in dim.probes()
    ]
    k = max([model_cfg.retrieval.k, *ks])
    return model_cfg.model_copy(
        update={"retrieval": model_cfg.retrieval.model_copy(update={"k": k})}
    )


def trial_concurrency(
    tune_cfg: TuneConfig, train_cfg: TrainConfig, resources: dict[str, float]
) -> int:
    """Trials that train at once: tune.max_concurrent_trials, else as many as the cluster holds.

    A Ray Train run starts only when all its workers fit, so more trials in flight
    than the cluster holds would only wait (and time out) for workers.
    """
    if tune_cfg.max_concurrent_trials is not None:
        return tune_cfg.max_concurrent_trials
    if train_cfg.device == "cuda":
        per_trial, available = train_cfg.num_workers, resources.get("GPU", 0.0)
    else:
        per_trial = train_cfg.num_workers * train_cfg.cpus_per_worker
        available = resources.get("CPU", 0.0)
    return max(1, int(available // per_trial))


def tune_candidate(
    dataset: DatasetRef,
    protocol: ProtocolConfig,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    tune_cfg: TuneConfig,
    spec: ModelSpec,
    out_dir: Path,
    text_path: str | None = None,
    retrieval_path: str | None = None,
) -> TrainResult:
    """Search ``model_cfg``'s catalogue space with Ray Tune + ASHA; return the chosen trial's run.

    Args:
        dataset: the versioned dataset every trial reads.
        protocol: split and windows of the data.
        model_cfg, train_cfg: the candidate's sections (the search starts there).
        tune_cfg: budget, ASHA schedule and seed.
        spec: shapes and context of the model, widened for ``text_path`` and
            ``retrieval_path`` (``with_text_dims``, ``with_retrieval_dims``).
        out_dir: where the search record (``<experiment>.json``) is written.
        text_path: a fused candidate's window texts; every trial reads them.
        retrieval_path: a retrieval candidate's index, built for the largest
            ``model.retrieval.k`` of the search (:func:`index_model`); every trial reads it.

    Returns:
        The chosen trial's train result: its best checkpoint, curves, the settings it
        sampled (``overrides``) and the whole search (``tuning``).

    Raises:
        ConfigError: a search space the config schema refuses (named path and value).
        TuningFailed: no trial reported a validation loss (each trial's reason).
    """
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.basic_variant import BasicVariantGenerator

    space = get_entry(model_cfg.name).search_space
    if not space:
        raise ConfigError(f"model {model_cfg.name!r} declares no search space to tune")
    base = budget_config(model_cfg, train_cfg, tune_cfg)
    check_space(base, space)
    check_builds(base, space, spec)
    name = experiment_name(dataset, protocol, base, space, tune_cfg, text_path, retrieval_path)
    root = storage_root(train_cfg.storage_path)
    path = f"{root.rstrip('/')}/{name}"

    connect_ray(
        ray_address(train_cfg),
        num_cpus=max(os.cpu_count() or 1, train_cfg.num_workers * train_cfg.cpus_per_worker),
    )
    placed = resolve_train_placement(train_cfg, ray.cluster_resources().get("GPU", 0) > 0)
    concurrency = trial_concurrency(tune_cfg, placed, ray.cluster_resources())
    trainable = tune.with_resources(run_trial, {"CPU": 0, "memory": TRIAL_DRIVER_MEMORY})
    restored = tune.Tuner.can_restore(path)
    started = time.perf_counter()
    if restored:
        log.warning("resuming the search %s from %s", name, path)
        tuner = tune.Tuner.restore(path, trainable=trainable)
    else:
        setup = TrialSetup(
            dataset=dataset,
            protocol=protocol,
            config=base.model_dump(
                mode="json", exclude_unset=True, include={"model", "train", "compare"}
            ),
            spec=asdict(spec),
            experiment=name,
            text_path=text_path,
            retrieval_path=retrieval_path,
        )
        tuner = tune.Tuner(
            trainable,
            param_space={
                "setup": setup.model_dump(mode="json"),
                "settings": nested({d.path: d.to_tune() for d in space}),
            },
            tune_config=tune.TuneConfig(
                metric=tune_cfg.metric,
                mode="min",
                num_samples=tune_cfg.num_samples,
                scheduler=ASHAScheduler(
                    time_attr="epoch",  # the recipe's epoch counter survives resumes
                    max_t=tune_cfg.max_epochs,
                    grace_period=tune_cfg.grace_period,
                    reduction_factor=tune_cfg.reduction_factor,
                ),
                search_alg=BasicVariantGenerator(
                    random_state=tune_cfg.seed, max_concurrent=concurrency
                ),
            ),
            run_config=tune.RunConfig(name=name, storage_path=root, verbose=0),
        )
    grid = tuner.fit()
    records = [trial_record(result) for result in grid]
    chosen = choose(records, name)
    report = TuneResult(
        model=model_cfg.name,
        experiment=name,
        space=describe(space),
        num_samples=tune_cfg.num_samples,
        max_epochs=tune_cfg.max_epochs,
        trials=sorted(records, key=lambda r: r.trial_id),
        chosen=chosen.trial_id,
        restored=restored,
        report_path=str(out_dir / f"{name}.json"),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(Path(report.report_path), report.model_dump(mode="json"), indent=2)
    best = next(r for r in grid if _trial_id(r) == chosen.trial_id)
    return chosen_run(best, report, train_cfg.seed, time.perf_counter() - started)


def _trial_id(result: Any) -> str:
    trial_id = (result.metrics or {}).get("trial_id")
    return str(trial_id) if trial_id else Path(result.path).name


def _reason(err: BaseException) -> str:
    """The root cause of a trial's error in one line (Ray wraps it in a RayTaskError)."""
    while getattr(err, "cause", None) is not None or err.__cause__ is not None:
        err = getattr(err, "cause", None) or err.__cause__
    lines = [line for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[-1] if lines else ''}".strip()


def trial_record(result: Any) -> TrialRecord:
    """A trial of a Ray Tune ResultGrid as a record: settings, best val loss, epochs, status.

    Tune marks a trial ``done`` whether ASHA stopped it or its function returned, so the
    recipe's own ``final`` flag (epochs, steps or patience used up) tells them apart.
    """
    metrics = result.metrics or {}
    frame = result.metrics_dataframe
    losses = [] if frame is None or "val_loss" not in frame else frame["val_loss"].dropna()
    finite = [float(v) for v in losses if math.isfinite(v)]
    if result.error is not None:
        status, error = "error", _reason(result.error)
    else:
        status, error = ("finished" if metrics.get("final") else "stopped_early"), None
    return TrialRecord(
        trial_id=_trial_id(result),
        overrides=flat(result.config["settings"]),
        val_loss=min(finite) if finite else None,
        epochs=int(metrics.get("epoch", 0)),
        status=status,
        error=error,
    )


def choose(records: list[TrialRecord], experiment: str) -> TrialRecord:
    """The trial with the lowest validation loss.

    Raises:
        TuningFailed: no trial reported one (each trial's reason is listed).
    """
    scored = [r for r in records if r.val_loss is not None]
    if not scored:
        reasons = "; ".join(f"{r.trial_id}: {r.error or 'no epoch finished'}" for r in records)
        raise TuningFailed(f"search {experiment}: no trial reported a validation loss ({reasons})")
    return min(scored, key=lambda r: r.val_loss)


def chosen_run(result: Any, report: TuneResult, seed: int, seconds: float) -> TrainResult:
    """The chosen trial as a train result: its best checkpoint (by val loss) and its curves.

    Ray Train keeps the best ``train.keep_checkpoints`` checkpoints by val_loss, so the
    one reported at the best epoch is still in storage. Its ``overrides`` are the sampled
    settings plus the epoch budget, i.e. everything it trained with beyond the run config.
    """
    frame = result.metrics_dataframe.dropna(subset=["val_loss"])
    frame = frame.drop_duplicates(subset="epoch", keep="last").sort_values("epoch")
    best = frame.loc[frame["val_loss"].idxmin()]
    chosen = report.chosen_trial
    return TrainResult(
        model=report.model,
        run_name=f"{report.experiment}-{chosen.trial_id}",
        checkpoint_uri=f"{str(best['checkpoint_path']).rstrip('/')}/{MODEL_DIR}",
        curves={key: [float(v) for v in frame[key]] for key in CURVES if key in frame},
        train_seconds=seconds,
        seed=seed,
        overrides={"train.epochs": report.max_epochs, **chosen.overrides},
        tuning=report,
    )
