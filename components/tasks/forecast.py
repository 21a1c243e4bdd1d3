"""Forecasting: windows of the series, MSE, the forecast protocol runner and seasonal naive."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING

import pandas as pd
import torch

from tsalign.components.config import ProtocolConfig, WindowConfig
from tsalign.components.models.spec import ModelSpec, forecast_spec
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


def mse_sums(pred: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Summed squared error (fp64) and the number of values summed."""
    return torch.sum((pred.float() - y) ** 2).double(), y.numel()


def mse_loss(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error in fp32 (the output may be bf16 under autocast)."""
    return torch.nn.functional.mse_loss(pred.float(), y)


class ForecastTask(TaskKind):
    """``task: forecast``: ``[B, seq_len, C] -> [B, horizon, C]`` on the standardised scale."""

    name = "forecast"
    scored = "test windows"

    def model_spec(
        self,
        dataset: DatasetRef,
        window: WindowConfig,
        profile: ProfileRef | None,
        season: int | None = None,
    ) -> ModelSpec:
        return forecast_spec(dataset, window, profile, season)

    def training_data(self, inputs: TrainingInputs) -> TrainingData:
        from tsalign.components.data.protocol import load_protocol
        from tsalign.components.data.retrieval_index import load_index
        from tsalign.components.data.text_features import load_window_texts
        from tsalign.components.data.windows import (
            RetrievalWindowDataset,
            TextWindowDataset,
            WindowDataset,
            validation_windows,
        )

        window = inputs.protocol.window
        proto = load_protocol(inputs.dataset_path, inputs.protocol)
        texts = load_window_texts(inputs.text_path) if inputs.text_path else None
        index = load_index(inputs.retrieval_path) if inputs.retrieval_path else None
        train = WindowDataset(proto.train, window.seq_len, window.horizon, window.stride)
        if texts is not None:  # a fused model: each window yields its aligned text tokens
            train = TextWindowDataset(train, texts.vectors, texts.index["train"])
        if index is not None:  # retrieval: each window yields the training windows it retrieves
            train = RetrievalWindowDataset(train, index.neighbours["train"])
        val = validation_windows(
            proto.val,
            window.seq_len,
            window.horizon,
            inputs.train.max_val_windows,
            None if texts is None else (texts.vectors, texts.index["val"]),
            None if index is None else index.neighbours["val"],
        )
        return TrainingData(train, val, mse_loss, mse_sums, proto.scaler())

    def evaluate(self, request: EvalRequest) -> EvalReport:
        from tsalign.components.evaluation.runner import evaluate

        values = {f.name: getattr(request, f.name) for f in fields(request)}  # no deep copy
        head = ("dataset_path", "protocol", "eval_cfg", "candidates", "spec", "out_dir")
        positional = [values.pop(k) for k in head]
        return evaluate(*positional, **values)

    def gate(self, test_metric: str) -> GateRule:
        from tsalign.components.registry.gates import GATE_BASELINE

        return GateRule(GATE_BASELINE, test_metric, "seasonal-naive")

    def champion_scorer(
        self,
        dataset_path: str,
        protocol: ProtocolConfig,
        max_val_windows: int | None,
        batch_size: int,
        device: str,
        texts: WindowTexts | None = None,
    ) -> ChampionScorer:
        from tsalign.components.evaluation.validation import ValidationScorer

        scorer = ValidationScorer.for_dataset(
            dataset_path,
            protocol,
            max_val_windows,
            batch_size=batch_size,
            device=device,
            texts=texts,
        )
        return scorer.score_published

    def card_summary(
        self, model: str, dataset: str, window: WindowConfig, metrics: Mapping[str, float]
    ) -> str:
        return (
            f"{model} forecaster for {dataset}: horizon {window.horizon} from "
            f"{window.seq_len} steps; test MSE {metrics['mse']:.4f} (standardised)."
        )

    def predict(self, registry: Registry, ref: str, request: PredictRequest) -> pd.DataFrame:
        from tsalign.components.inference import PredictError, forecast

        try:
            frame = pd.read_csv(request.input_path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise PredictError(
                f"--input {request.input_path}: not a readable CSV ({err})"
            ) from None
        return forecast(
            registry,
            ref,
            frame,
            horizon=request.horizon,
            timestamp_col=request.timestamp_col,
            device=request.device,
            texts=request.text_path,
        )


FORECAST = ForecastTask()
