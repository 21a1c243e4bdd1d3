"""One seam per task: what forecasting, classification and anomaly detection each give the stages.

The stages are written once; each asks the run's task for the parts that differ::

    kind = get_task(config.task)                      # a TaskKind (see :mod:`.base`)
    spec = kind.model_spec(dataset, window, profile, season)
    data = kind.training_data(TrainingInputs(...))    # datasets, loss, validation sums, scaler
    report = kind.evaluate(EvalRequest(...))          # metrics, plots, selection
    scorer = kind.champion_scorer(...)                # the champion gate's validation score

Which stages a task runs is declared here, torch-free, so a config is refused in
milliseconds when it asks a stage for a task that stage does not run yet
(:func:`tsalign.components.preflight.check_task_stages`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tsalign.components.config import Task

if TYPE_CHECKING:
    from tsalign.components.tasks.base import TaskKind

PIPELINE_STAGES = ("ingest", "profile", "train", "evaluate", "publish")
"""The stages ``tsalign run`` (the pipeline flow) goes through, in order."""


@dataclass(frozen=True)
class TaskEntry:
    """Where a task's :class:`~tsalign.components.tasks.base.TaskKind` lives and what it runs.

    Attributes:
        target: ``module:attribute`` of the TaskKind instance; None while only ingest and
            profile handle the task.
        stages: the pipeline stages that run the task.
    """

    target: str | None
    stages: tuple[str, ...]


TASK_ENTRIES: dict[Task, TaskEntry] = {
    "forecast": TaskEntry("tsalign.components.tasks.forecast:FORECAST", PIPELINE_STAGES),
    "classify": TaskEntry("tsalign.components.tasks.classify:CLASSIFY", PIPELINE_STAGES),
    "anomaly": TaskEntry("tsalign.components.tasks.anomaly:ANOMALY", PIPELINE_STAGES),
}


MODEL_REFUSALS: dict[tuple[Task, str], str] = {
    ("classify", "timellm"): (
        "Time-LLM is designed for forecasting only: its prompt-as-prefix states the forecast "
        "task and the input's lags and trend, and its output projection maps the LM's patch "
        "outputs to future steps; the paper and reference code define no classification "
        "head, so none is invented here. Use gpt4ts, its ablations or patchtst"
    ),
}
"""(task, model family) -> why the family does not run the task (``tsalign models``, preflight)."""


def runnable_tasks(tasks: tuple[str, ...]) -> tuple[str, ...]:
    """Those of ``tasks`` (a catalogue entry's) that every pipeline stage runs today."""
    return tuple(t for t in tasks if t in TASK_ENTRIES and task_stages(t) == PIPELINE_STAGES)


class TaskNotWired(ValueError):
    """A stage asked a task for a part the task does not provide yet."""


def task_stages(task: Task) -> tuple[str, ...]:
    """The pipeline stages that run ``task``."""
    return TASK_ENTRIES[task].stages


def get_task(task: Task) -> TaskKind:
    """The TaskKind of ``task`` (imports torch-side modules on first use).

    Raises:
        TaskNotWired: the task has no train/evaluate/publish seam yet.
    """
    if task not in TASK_ENTRIES:
        raise TaskNotWired(f"task {task!r} is not one of {list(TASK_ENTRIES)}")
    entry = TASK_ENTRIES[task]
    if entry.target is None:
        raise TaskNotWired(
            f"task={task} runs only {', '.join(entry.stages)} so far; set task: forecast or "
            "classify for the other stages"
        )
    module, attribute = entry.target.split(":")
    return getattr(importlib.import_module(module), attribute)


__all__ = [
    "MODEL_REFUSALS",
    "PIPELINE_STAGES",
    "TASK_ENTRIES",
    "TaskEntry",
    "TaskNotWired",
    "get_task",
    "runnable_tasks",
    "task_stages",
]
