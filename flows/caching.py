"""How the stage tasks cache and retry: Prefect options shared by the stage flows.

The keys themselves come from :mod:`tsalign.components.fingerprint` (what each stage depends
on); this module only turns them into Prefect task options:

- results are persisted as JSON (the stage references are pydantic models, and JSON
  is readable and never unpickled) in Prefect's result storage
  (``PREFECT_LOCAL_STORAGE_PATH``, ``$PREFECT_HOME/storage`` by default; point it at
  shared storage when workers run on several machines);
- a cached reference is reused only while its files still exist
  (:func:`run_cached`), else the stage runs again;
- set ``PREFECT_TASKS_REFRESH_CACHE=true`` to recompute every stage once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from prefect import Task
from prefect.client.schemas.objects import State
from prefect.context import TaskRunContext
from prefect.tasks import exponential_backoff

from tsalign.components.refs import Ref
from tsalign.components.retry import is_transient

R = TypeVar("R", bound=Ref)

CACHED = {"persist_result": True, "result_serializer": "json"}
"""Task options of a cached stage (add ``cache_key_fn``)."""

NETWORK_RETRIES = {
    "retries": 3,
    # 2 s, 4 s, 8 s (+/- 30 % jitter so parallel runs do not retry in lockstep).
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.3,
}
"""Task options of a stage that talks to the network (add ``retry_condition_fn``)."""


def key_fn(compute: Callable[..., str | None]) -> Callable[[TaskRunContext, dict], str | None]:
    """A Prefect ``cache_key_fn`` that calls ``compute(**task_parameters)``."""

    def cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
        return compute(**parameters)

    cache_key.__name__ = f"cache_key_{compute.__name__}"
    return cache_key


def retry_transient(task: Task, task_run: Any, state: State) -> bool:
    """``retry_condition_fn``: retry network failures, never user errors or bugs."""
    try:
        state.result()
    except Exception as exc:
        return is_transient(exc)
    return False


def run_cached(task: Task[..., R], exists: Callable[[R], bool], *args: Any) -> R:
    """Call ``task``; when its result came from the cache but its files are gone, rerun it.

    Args:
        task: a stage task with a cache key.
        exists: whether a reference's files still exist (``tsalign.components.fingerprint.outputs_exist``).
        args: the task's arguments.
    """
    state = task(*args, return_state=True)
    ref = state.result()
    if state.name == "Cached" and not exists(ref):
        ref = task.with_options(refresh_cache=True)(*args)
    return ref
