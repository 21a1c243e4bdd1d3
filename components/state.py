"""The references each stage produced last, so a stage can be run alone.

``tsalign ingest`` then ``tsalign profile`` then ``tsalign train`` ... each
read what the previous stage left in ``<workdir>/<dataset>/state.json``; the
pipeline passes references directly and only records them here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from tsalign.components.redaction import redact
from tsalign.components.refs import (
    DatasetRef,
    EvalReport,
    ProfileRef,
    PublishedVersion,
    Ref,
    TrainedCandidates,
)
from tsalign.components.storage import write_json_atomic

STAGES: dict[str, type[Ref]] = {
    "ingest": DatasetRef,
    "profile": ProfileRef,
    "train": TrainedCandidates,
    "evaluate": EvalReport,
    "publish": PublishedVersion,
}
PRODUCER = {ref_type: stage for stage, ref_type in STAGES.items()}
R = TypeVar("R", bound=Ref)


class MissingStageOutput(LookupError):
    """A stage was run alone before the stage that feeds it."""


def state_path(workdir: str | Path, dataset: str) -> Path:
    """Where the stage references of ``dataset`` are kept."""
    return Path(workdir) / dataset / "state.json"


def record(workdir: str | Path, dataset: str, ref: Ref) -> None:
    """Remember ``ref`` as the latest output of the stage that produces its type."""
    path = state_path(workdir, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = json.loads(path.read_text()) if path.is_file() else {}
    state[PRODUCER[type(ref)]] = redact(ref.model_dump(mode="json"))
    write_json_atomic(path, state, indent=2)


def latest(workdir: str | Path, dataset: str, ref_type: type[R]) -> R:
    """The latest recorded reference of ``ref_type`` for ``dataset``.

    Raises:
        MissingStageOutput: naming the command to run first.
    """
    stage = PRODUCER[ref_type]
    path = state_path(workdir, dataset)
    state = json.loads(path.read_text()) if path.is_file() else {}
    if stage not in state:
        raise MissingStageOutput(
            f"no {stage} output recorded for dataset {dataset!r} in {path}; "
            f"run `tsalign {stage}` with the same config first"
        )
    return ref_type.model_validate(state[stage])
