"""Classification: instances of a labelled panel, cross-entropy, accuracy against MiniRocket.

A classifier maps ``[B, steps, C]`` (standardised by :mod:`tsalign.components.data.panel_inputs`)
to logits ``[B, n_classes]``; the class order is the panel's sorted training classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import torch

from tsalign.components.config import ProtocolConfig, WindowConfig
from tsalign.components.models.spec import ModelSpec
from tsalign.components.refs import DatasetRef, EvalReport, ProfileRef
from tsalign.components.registry.registry import Registry
from tsalign.components.tasks.base import (
    ChampionScorer,
    EvalRequest,
    GateRule,
    PredictRequest,
    TaskKind,
    TrainingData,
    TrainingInputs,
)

if TYPE_CHECKING:
    from tsalign.components.data.text_features import WindowTexts

IMBALANCE_RATIO = 1.5
"""Cross-entropy is class-weighted (balanced) when the largest training class holds more
than this many times the instances of the smallest."""

CLASSIC_CLASSIFIER = "minirocket"
"""The classic classifier every classification run is scored beside (and gated against)."""

GATE_METRIC = "error_rate"
"""1 - accuracy: the gate's lower-is-better test metric for classification."""


def meta_path(dataset_path: str) -> Path:
    """``data/<name>.meta.json`` beside ``data/<name>.parquet``."""
    path = Path(dataset_path)
    return path.with_name(f"{path.stem}.meta.json")


def ce_sums(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Summed (unweighted) cross-entropy in fp64 and the instances summed."""
    loss = torch.nn.functional.cross_entropy(logits.float(), y, reduction="sum")
    return loss.double(), y.shape[0]


class CrossEntropy:
    """Mean cross-entropy in fp32, class-weighted when the training classes are imbalanced."""

    def __init__(self, weights: torch.Tensor | None) -> None:
        self.weights = weights

    def __call__(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        weight = None if self.weights is None else self.weights.to(logits.device)
        return torch.nn.functional.cross_entropy(logits.float(), y, weight=weight)


class ClassifyTask(TaskKind):
    """``task: classify``: one label per panel instance."""

    name = "classify"
    scored = "test instances"

    def model_spec(
        self,
        dataset: DatasetRef,
        window: WindowConfig,
        profile: ProfileRef | None,
        season: int | None = None,
    ) -> ModelSpec:
        from tsalign.components.data.panel import load_panel_meta

        meta = load_panel_meta(meta_path(dataset.path))
        return ModelSpec(
            seq_len=meta.steps,
            horizon=1,  # unused by a classifier; ModelSpec keeps it >= 1
            n_channels=len(meta.channels),
            task="classify",
            n_classes=len(meta.classes),
            domain_context=(profile.domain_context if profile else "") or meta.description,
        )

    def training_data(self, inputs: TrainingInputs) -> TrainingData:
        from torch.utils.data import TensorDataset

        from tsalign.components.data.panel import load_panel, load_panel_meta
        from tsalign.components.data.panel_inputs import PanelScaler, class_weights, split_arrays

        if inputs.text_path is not None:
            raise ValueError("text fusion is for forecasting; a classifier takes no window texts")
        meta = load_panel_meta(meta_path(inputs.dataset_path))
        panel = load_panel(inputs.dataset_path)
        scaler = PanelScaler.fit(panel, meta.classes)
        x_train, y_train = split_arrays(panel, scaler, "train")
        x_val, y_val = split_arrays(panel, scaler, "val")
        weights = class_weights(y_train, len(meta.classes), IMBALANCE_RATIO)
        saved = scaler.to_dict()
        saved["class_weights"] = None if weights is None else weights.tolist()
        return TrainingData(
            TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train)),
            TensorDataset(torch.from_numpy(x_val), torch.from_numpy(y_val)),
            CrossEntropy(None if weights is None else torch.tensor(weights, dtype=torch.float32)),
            ce_sums,
            saved,
        )

    def evaluate(self, request: EvalRequest) -> EvalReport:
        from tsalign.components.evaluation.classification import evaluate_classifiers

        return evaluate_classifiers(request)

    def gate(self, test_metric: str) -> GateRule:
        # registry.test_metric names a forecast metric; a classifier is gated on its error.
        return GateRule(CLASSIC_CLASSIFIER, GATE_METRIC, "MiniRocket")

    def champion_scorer(
        self,
        dataset_path: str,
        protocol: ProtocolConfig,
        max_val_windows: int | None,
        batch_size: int,
        device: str,
        texts: WindowTexts | None = None,
    ) -> ChampionScorer:
        # text fusion is for forecasting (refused at build), so ``texts`` is never set here
        from tsalign.components.evaluation.classification import ClassifierValidation

        return ClassifierValidation(dataset_path, batch_size, device).score_published

    def card_summary(
        self, model: str, dataset: str, window: WindowConfig, metrics: Mapping[str, float]
    ) -> str:
        return (
            f"{model} classifier for {dataset}: test accuracy {metrics['accuracy']:.4f}, "
            f"macro-F1 {metrics['f1_macro']:.4f}."
        )

    def predict(self, registry: Registry, ref: str, request: PredictRequest) -> pd.DataFrame:
        from tsalign.components.inference import PredictError
        from tsalign.components.inference.classifier import load_published_classifier

        if request.text_path is not None:
            raise PredictError(f"{ref} is a classifier, which reads no text; drop --text")
        classifier = load_published_classifier(registry, ref, device=request.device)
        return classifier.classify(request.input_path)


CLASSIFY = ClassifyTask()
