"""The per-task contract: what a task gives the training, evaluation and publish stages.

A task is one :class:`TaskKind` instance registered in :data:`tsalign.components.tasks.TASK_ENTRIES`.
Everything the stages share (Ray and DeepSpeed, checkpoints, seeds, the registry, the
selection rule and the gates' logic) stays in the stages; a task only answers these
questions:

- ``model_spec``: the shapes a model is built for (windows for forecasting, instances and
  classes for classification);
- ``training_data``: the training and validation datasets, the loss, the validation sums
  and the scaler saved beside the weights;
- ``evaluate``: the test metrics, plots and the choice of the candidate to publish;
- ``champion_scorer`` and ``gate``: how a published version is scored on this run's
  validation data and which baseline and metric the promotion gate compares;
- ``card_summary``: one line for the model card;
- ``predict``: what ``tsalign predict`` returns for an input file and a published version.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import torch
    from torch.utils.data import Dataset

    from tsalign.components.config import (
        EvalConfig,
        ProtocolConfig,
        SelectMode,
        TrainConfig,
        WindowConfig,
    )
    from tsalign.components.data.text_features import WindowTexts
    from tsalign.components.models import ModelSpec
    from tsalign.components.refs import DatasetRef, EvalReport, ProfileRef
    from tsalign.components.registry.registry import Registry

Loss = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]
"""(model output, target) -> the scalar loss backpropagated."""
ValSums = Callable[["torch.Tensor", "torch.Tensor"], tuple["torch.Tensor", int]]
"""(model output, target) -> (summed validation loss as a float64 tensor, items summed)."""
ChampionScorer = Callable[["Registry", str, int], float]
"""(registry, model name, version) -> that version's validation loss on this run's data."""


@dataclass(frozen=True)
class TrainingInputs:
    """What one rank reads to build its data: the versioned file and the run's settings."""

    dataset_path: str
    protocol: ProtocolConfig
    train: TrainConfig
    text_path: str | None = None
    retrieval_path: str | None = None  # a retrieval model's index (``data.retrieval_index``)


@dataclass
class TrainingData:
    """A task's training data on one rank.

    Attributes:
        train: yields ``(x, y, *text)``; the recipe caps it at ``train.max_train_windows``.
        val: the validation items every candidate is scored on (already capped).
        loss: the training loss (the recipe computes it in fp32).
        val_sums: summed validation loss and count; validation loss = all-reduced sum / count.
        scaler: JSON-ready, written as ``scaler.json`` beside the exported model.
    """

    train: Dataset
    val: Dataset
    loss: Loss
    val_sums: ValSums
    scaler: dict[str, Any]


Runs = str | Sequence[str]
"""One exported model directory, or one per training seed."""
Curves = Mapping[str, list[float]]


@dataclass(frozen=True)
class EvalRequest:
    """Everything the evaluate stage hands a task (see ``runner.evaluate`` for each field)."""

    dataset_path: str
    protocol: ProtocolConfig
    eval_cfg: EvalConfig
    candidates: Mapping[str, Runs]
    spec: ModelSpec
    out_dir: Path
    recommended_paradigm: str | None = None
    curves: Mapping[str, Curves | Sequence[Curves]] | None = None
    context: Mapping[str, Any] | None = None
    select: SelectMode = "model"
    max_val_windows: int | None = None
    gate_metric: str = "mse"
    skipped: Mapping[str, str] | None = None
    window_texts: WindowTexts | None = None
    text_twins: Mapping[str, str] | None = None


@dataclass(frozen=True)
class GateRule:
    """What the promotion gate compares: ``metric`` (lower is better) against ``baseline``.

    Attributes:
        baseline: the evaluated baseline every promoted version must beat on test.
        metric: the test metric of that comparison, a key of the report's metrics.
        label: how reasons name the baseline.
    """

    baseline: str
    metric: str
    label: str = field(default="")

    @property
    def name(self) -> str:
        """The baseline as reasons name it."""
        return self.label or self.baseline


@dataclass(frozen=True)
class PredictRequest:
    """``tsalign predict``'s input and options; each task reads the ones it uses."""

    input_path: Path
    horizon: int | None = None  # forecast: steps ahead (the model's horizon when None)
    timestamp_col: str | None = None  # forecast: the input's timestamp column
    device: str = "auto"
    text_path: Path | None = None  # forecast: recent text for a text-fused model (--text)
    value_col: str = "value"  # anomaly: the column to score
    profile: str | None = None  # anomaly: the NAB profile whose threshold flags rows


class TaskKind(ABC):
    """One task's answers to the stages (see the module docstring)."""

    name: str
    scored: str
    """What ``EvalReport.test_windows`` counts for this task, as summaries name it."""

    @abstractmethod
    def model_spec(
        self,
        dataset: DatasetRef,
        window: WindowConfig,
        profile: ProfileRef | None,
        season: int | None = None,
    ) -> ModelSpec:
        """The spec every candidate of the run is built from, in training and evaluation."""

    @abstractmethod
    def training_data(self, inputs: TrainingInputs) -> TrainingData:
        """This rank's training and validation data, loss and scaler."""

    @abstractmethod
    def evaluate(self, request: EvalRequest) -> EvalReport:
        """Score the candidates beside the task's baselines on the test split."""

    @abstractmethod
    def gate(self, test_metric: str) -> GateRule:
        """The baseline and metric of the promotion gate (``registry.test_metric`` given)."""

    @abstractmethod
    def champion_scorer(
        self,
        dataset_path: str,
        protocol: ProtocolConfig,
        max_val_windows: int | None,
        batch_size: int,
        device: str,
        texts: WindowTexts | None = None,
    ) -> ChampionScorer:
        """Scores a published version on this run's validation data (the champion gate);
        ``texts``: the version's window texts (``data.text``), which a fused model reads."""

    @abstractmethod
    def card_summary(
        self, model: str, dataset: str, window: WindowConfig, metrics: Mapping[str, float]
    ) -> str:
        """One line for the model card: what the model does and its headline test score."""

    @abstractmethod
    def predict(self, registry: Registry, ref: str, request: PredictRequest) -> pd.DataFrame:
        """The published version ``ref`` applied to ``request.input_path`` (one CSV-ready frame).

        Raises:
            PredictError: an input the model cannot take (named, with the fix).
        """
