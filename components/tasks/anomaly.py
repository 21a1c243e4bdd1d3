"""Anomaly detection: a forecaster trained on each series' probationary rows, scored NAB's way.

The detector is one model for the whole corpus (``ModelSpec.task == "anomaly"``: a
``[B, seq_len, 1] -> [B, horizon, 1]`` forecaster). It learns only from the first 15% of
each series (NAB's probationary period), standardised per series on those rows, without
labels (:mod:`tsalign.components.data.anomaly_windows`); rows are then scored online by
the likelihood of their forecast error (:mod:`tsalign.components.inference.detector`).
Evaluation tunes one threshold per NAB profile over the corpus beside the windowed
Gaussian and the isolation forest; the threshold travels with the published version.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

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


class AnomalyTask(TaskKind):
    """``task: anomaly``: per-row anomaly scores of NAB-format series."""

    name = "anomaly"
    scored = "rows scored"

    def model_spec(
        self,
        dataset: DatasetRef,
        window: WindowConfig,
        profile: ProfileRef | None,
        season: int | None = None,
    ) -> ModelSpec:
        from tsalign.components.data.anomaly_ingest import load_anomaly_meta

        meta = load_anomaly_meta(dataset.meta_path)
        return ModelSpec(
            seq_len=window.seq_len,
            horizon=window.horizon,
            n_channels=1,
            task="anomaly",
            domain_context=(profile.domain_context if profile else "") or meta.description,
        )

    def training_data(self, inputs: TrainingInputs) -> TrainingData:
        from torch.utils.data import Subset

        from tsalign.components.data.anomaly_ingest import load_ingested
        from tsalign.components.data.anomaly_windows import probation_scalers, probation_windows
        from tsalign.components.data.windows import capped_indices
        from tsalign.components.evaluation.anomaly import VAL_SHARE
        from tsalign.components.tasks.forecast import mse_loss, mse_sums

        if inputs.text_path is not None:
            raise ValueError("text fusion is for forecasting; a detector takes no window texts")
        corpus = load_ingested(inputs.dataset_path)
        window = inputs.protocol.window
        train, val = probation_windows(corpus, window.seq_len, window.horizon, VAL_SHARE)
        # Early stopping reads evenly spaced validation windows (train.max_val_windows);
        # evaluation ranks candidates on all of them.
        val = Subset(val, capped_indices(len(val), inputs.train.max_val_windows))
        scaler = {"kind": "probation", "series": probation_scalers(corpus)}
        return TrainingData(train, val, mse_loss, mse_sums, scaler)

    def evaluate(self, request: EvalRequest) -> EvalReport:
        from tsalign.components.evaluation.anomaly import evaluate_request

        return evaluate_request(request)

    def gate(self, test_metric: str) -> GateRule:
        from tsalign.components.evaluation.anomaly import GATE_BASELINE, GATE_METRIC

        # registry.test_metric names a forecast metric; a detector is gated on NAB's score.
        return GateRule(GATE_BASELINE, GATE_METRIC, "windowed Gaussian")

    def champion_scorer(
        self,
        dataset_path: str,
        protocol: ProtocolConfig,
        max_val_windows: int | None,
        batch_size: int,
        device: str,
        texts: WindowTexts | None = None,
    ) -> ChampionScorer:
        from tsalign.components.evaluation.anomaly import ProbationValidation

        # A detector reads no window texts; its gate loss is the probation forecast MSE.

        return ProbationValidation(dataset_path, batch_size, device).score_published

    def card_summary(
        self, model: str, dataset: str, window: WindowConfig, metrics: Mapping[str, float]
    ) -> str:
        return (
            f"{model} anomaly detector for {dataset}: forecast-error likelihood from "
            f"{window.seq_len} steps, trained on each series' probationary 15%; NAB score "
            f"{metrics['nab_standard']:.1f} standard, {metrics['nab_reward_low_FP_rate']:.1f} "
            f"low FP, {metrics['nab_reward_low_FN_rate']:.1f} low FN."
        )

    def predict(self, registry: Registry, ref: str, request: PredictRequest) -> pd.DataFrame:
        from tsalign.components.inference.detector import Detector, read_series_file
        from tsalign.components.inference.published import downloaded

        frame = read_series_file(Path(request.input_path))
        with downloaded(registry, ref) as (exact, local):
            detector = Detector.load(local, device=request.device, label=exact)
        detector.settings = detector.settings.flagging(request.profile)
        return detector.detect(frame, value_col=request.value_col, source=str(request.input_path))


ANOMALY = AnomalyTask()
