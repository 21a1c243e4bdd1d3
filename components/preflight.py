"""Checks of a run config against the catalogues, made when the config is loaded.

Field types and bounds are checked by :mod:`tsalign.components.config` alone (cheap, no torch).
Names that refer to registered things — ``model.name``, each ``compare`` entry, each
``eval.baselines`` entry and ``train.deepspeed_preset`` — are checked here, before any
stage runs, so a typo fails in seconds with nothing written instead of inside the train
stage after ingest and profile have rewritten their outputs. The same goes for the ``task``:
a stage that does not handle it yet refuses the config up front (:func:`check_task_stages`,
from the stages each task declares in :data:`tsalign.components.tasks.TASK_ENTRIES`).
"""

from __future__ import annotations

from collections.abc import Iterable

from tsalign.components.config import AUTO, ConfigError, RunConfig, Task
from tsalign.components.tasks import MODEL_REFUSALS, PIPELINE_STAGES, task_stages

__all__ = [
    "PIPELINE_STAGES",
    "check_run_config",
    "check_task_stages",
    "task_model_problem",
    "task_problem",
]


def task_problem(task: Task, stages: Iterable[str]) -> str | None:
    """Why ``stages`` cannot run ``task``, or None when every one of them handles it."""
    supported = task_stages(task)
    missing = [stage for stage in stages if stage not in supported]
    if not missing:
        return None
    return (
        f"task: task={task}: the {missing[0]} stage is not wired yet for {task} (it runs only "
        f"{', '.join(supported)}); run `tsalign {' / tsalign '.join(supported)}` with this "
        "config, or set task: forecast"
    )


def check_task_stages(cfg: RunConfig, stages: Iterable[str], origin: str = "<config>") -> None:
    """Refuse a config whose ``task`` one of ``stages`` does not handle yet.

    Raises:
        ConfigError: naming ``task``, the first stage that cannot run it and what can run.
    """
    problem = task_problem(cfg.task, stages)
    if problem is not None:
        raise ConfigError(f"{origin}: {problem}")


def task_model_problem(task: Task, name: str) -> str | None:
    """Why catalogue entry ``name`` cannot run ``task``, or None when it can."""
    from tsalign.components.models.catalogue import get_entry, list_models

    entry = get_entry(name)
    if task in entry.tasks:
        return None
    family = entry.ablation_of or entry.variant_of or name
    able = [n for n in list_models() if task in get_entry(n).tasks]
    why = MODEL_REFUSALS.get((task, family), f"{name} supports tasks {list(entry.tasks)}")
    return f"{name} does not run task={task}: {why} (models for {task}: {', '.join(able)})"


def catalogue_problems(cfg: RunConfig) -> list[str]:
    """Every reference in ``cfg`` to an unknown catalogue entry or unusable preset.

    Returns:
        One ``field: problem`` line per bad name (empty when all are valid).
    """
    # The catalogue is a torch-free table: this check takes milliseconds.
    from tsalign.components.models.catalogue import baseline_problem, list_models, unknown_model
    from tsalign.components.training.deepspeed_config import PresetError, check_preset

    known = list_models()
    problems = []
    named = [("model.name", cfg.model.name)]
    named += [(f"compare[{i}]", e.name) for i, e in enumerate(cfg.compare) if e.name != AUTO]
    for field, name in named:
        if name not in known:
            problems.append(f"{field}: {unknown_model(name)} (see `tsalign models`)")
        elif (why := task_model_problem(cfg.task, name)) is not None:
            problems.append(f"{field}: {why}")
    for i, name in enumerate(cfg.eval.baselines):
        problem = baseline_problem(name)
        if problem is not None:
            problems.append(f"eval.baselines[{i}]: {problem}")
    try:
        # "auto" resolves to the cluster's device at launch; only the cpu rule waits for it.
        device = "cuda" if cfg.train.device == "auto" else cfg.train.device
        check_preset(cfg.train.deepspeed_preset, device)
    except PresetError as err:
        problems.append(str(err))
    return problems


def check_run_config(
    cfg: RunConfig, origin: str = "<config>", stages: Iterable[str] = ()
) -> RunConfig:
    """Refuse a config naming unknown models, baselines or DeepSpeed presets, or whose
    ``task`` one of ``stages`` does not handle yet.

    Returns:
        ``cfg`` unchanged, so loading can be written ``check_run_config(load_config(...))``.

    Raises:
        ConfigError: listing every bad name with the valid choices.
    """
    problems = catalogue_problems(cfg)
    task = task_problem(cfg.task, stages)
    if task is not None:
        problems.insert(0, task)
    if problems:
        raise ConfigError("\n".join(f"{origin}: {p}" for p in problems))
    return cfg
