"""One candidate's training run, as the single value the launchers pass along."""

from __future__ import annotations

from dataclasses import dataclass

from tsalign.components.config import ModelConfig, ProtocolConfig, TrainConfig
from tsalign.components.models import ModelSpec
from tsalign.components.refs import DatasetRef


@dataclass(frozen=True)
class TrainJob:
    """What to train, on which data and how: all a launcher reads.

    Only the data *protocol* travels with it (split and windows): where the series
    came from (source, sha256, endpoint, download cache) stays with ingest, so it never
    reaches a Ray worker nor the train cache key.
    """

    dataset: DatasetRef  # the versioned dataset; every worker reads its Parquet file
    protocol: ProtocolConfig  # split kind, ratios, few-shot fraction, windows
    model: ModelConfig  # the catalogue entry to build and its settings
    train: TrainConfig  # workers, DeepSpeed preset, optimisation, storage
    spec: ModelSpec  # shapes and context (see ``spec.model_spec``)
    run_name: str  # resolved once by the caller (``launcher.effective_run_name``)
    text_path: str | None = None  # a fused model's window texts (``data.text_features``)
    retrieval_path: str | None = None  # a retrieval model's index (``data.retrieval_index``)
