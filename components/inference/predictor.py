"""A loaded forecaster: ``Predictor.load(directory).forecast(frame)``.

A forecaster directory (an exported training run, or a downloaded registry version) holds
``model/`` (written by ``tsalign.components.models.persistence.save_pretrained``: safetensors weights,
never a pickle) and ``scaler.json`` (``{"channels": [...], "mean": [...], "std": [...],
"freq": "h"}``, fit on the training split). The last ``seq_len`` rows of the input are
standardised with that scaler, the model maps ``[1, seq_len, C] -> [1, horizon, C]``, and the
forecast is brought back to the input's units with the input's timestamps continued at the
series' frequency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tsalign.components.config import TextConfig
from tsalign.components.device import resolve_device, torch_device
from tsalign.components.inference.errors import PredictError
from tsalign.components.inference.history import frequency, history, timestamp_column
from tsalign.components.layout import MODEL_DIR, SCALER_FILE
from tsalign.components.models.fusion import TextFusion
from tsalign.components.models.persistence import META_FILE, load_pretrained
from tsalign.components.models.spec import ModelBuildError, ModelSpec

MODEL_META = f"{MODEL_DIR}/{META_FILE}"
"""With SCALER_FILE, the files that make a directory (or a registry version) a forecaster."""


@dataclass(frozen=True)
class Scaler:
    """Per-channel standardisation fit on the training split, and the series' frequency."""

    channels: list[str]
    mean: np.ndarray  # [C]
    std: np.ndarray  # [C]
    freq: str | None

    @classmethod
    def load(cls, path: Path, label: str) -> Scaler:
        """Read ``scaler.json``; ``label`` names the model in errors."""
        try:
            raw = json.loads(path.read_text())
            channels = [str(c) for c in raw["channels"]]
            mean = np.asarray(raw["mean"], dtype=np.float64)
            std = np.asarray(raw["std"], dtype=np.float64)
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise PredictError(
                f"{label}: {SCALER_FILE} is not a scaler ({err!r}); expected "
                '{"channels": [...], "mean": [...], "std": [...]} — republish the version'
            ) from None
        if not (len(channels) == mean.shape[0] == std.shape[0]) or mean.ndim != 1:
            raise PredictError(
                f"{label}: {SCALER_FILE} has {len(channels)} channels but {mean.shape} means and "
                f"{std.shape} stds; republish the version"
            )
        if not np.all(np.isfinite(std)) or np.any(std <= 0):
            raise PredictError(
                f"{label}: {SCALER_FILE} has non-positive std; republish the version"
            )
        return cls(channels, mean, std, raw.get("freq"))


@dataclass
class Predictor:
    """A forecaster on its device: the model, its spec and the training scaler.

    ``text`` is the ``data.text`` section a text-fused model was trained under (a registry
    version records it): how recent text is read and aligned at inference.
    """

    model: torch.nn.Module
    spec: ModelSpec
    scaler: Scaler
    device: torch.device
    label: str
    text: TextConfig | None = None

    @property
    def fuses_text(self) -> bool:
        """Whether the model reads the window's text."""
        return isinstance(self.model, TextFusion)

    @classmethod
    def load(cls, directory: Path, *, device: str = "auto", label: str | None = None) -> Predictor:
        """Load a forecaster directory (``model/`` + ``scaler.json``) onto ``device``.

        Args:
            directory: an exported or downloaded forecaster directory.
            device: ``auto`` (cuda when available), ``cpu`` or ``cuda``; the model runs there
                in its fp32 weights.
            label: how errors name the model (e.g. ``name:VERSION``); the directory when None.

        Raises:
            PredictError: the directory is not a forecaster, or its files disagree.
            DeviceError: ``device="cuda"`` where there is no CUDA device.
        """
        label = label or str(directory)
        target = torch_device(resolve_device(device, "--device"))
        scaler = Scaler.load(directory / SCALER_FILE, label)
        try:
            model, _, spec = load_pretrained(directory / MODEL_DIR)
        except ModelBuildError as err:
            raise PredictError(f"{label}: the model cannot be loaded: {err}") from None
        if spec.task != "forecast":
            raise PredictError(f"{label} is a {spec.task!r} model, not a forecaster")
        if spec.n_channels != len(scaler.channels):
            raise PredictError(
                f"{label}: model expects {spec.n_channels} channels but {SCALER_FILE} lists "
                f"{len(scaler.channels)}; republish the version"
            )
        model.to(target).eval()
        return cls(model, spec, scaler, target, label)

    def forecast(
        self,
        frame: pd.DataFrame,
        *,
        horizon: int | None = None,
        timestamp_col: str | None = None,
        texts: Path | None = None,
    ) -> pd.DataFrame:
        """Forecast the channels of ``frame`` from its last ``seq_len`` rows.

        Args:
            frame: history with a timestamp column and (at least) the model's channels.
            horizon: steps to forecast; the model's own horizon when None. Longer horizons roll
                the model forward on its own predictions (errors compound).
            timestamp_col: timestamp column; ``timestamp``, the only datetime column, or
                ``date``/``datetime``/``time``/``ds`` when None.
            texts: recent text (CSV or Parquet) for a text-fused model, read and aligned to
                each forecast origin as in training (:mod:`tsalign.components.inference.text`);
                None forecasts as a window without text does.

        Returns:
            A frame with the timestamp column (the input's timestamps continued at the series'
            frequency) and one column per channel, in the input's units.

        Raises:
            PredictError: input without the channels, with too few rows, gaps, irregular or
                different sampling; texts for a model that reads none.
            DataError: a texts file that is not valid text input (named with its row).
        """
        if horizon is not None and horizon < 1:
            raise PredictError(f"horizon must be >= 1, got {horizon}")
        scaler, spec = self.scaler, self.spec
        ts_col = timestamp_column(frame, timestamp_col)
        stamps, values = history(frame, scaler.channels, spec.seq_len, ts_col, self.label)
        offset = frequency(stamps, scaler.freq, self.label)
        steps = horizon or spec.horizon
        future = pd.date_range(stamps[-1], periods=steps + 1, freq=offset)[1:]
        tokens = None if texts is None else self._text_tokens(texts, future)
        pred = self._roll((values - scaler.mean) / scaler.std, steps, tokens)
        result = pd.DataFrame(pred * scaler.std + scaler.mean, columns=scaler.channels)
        result.insert(0, ts_col, future)
        return result

    def _text_tokens(
        self, path: Path, future: pd.DatetimeIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Text tokens [R, K, E] and mask [R, K] for each roll's forecast origin."""
        from tsalign.components.data.text_features import TEXT_BACKBONE
        from tsalign.components.inference.text import read_recent_texts, text_tokens_at
        from tsalign.components.models.text_encoder import SentenceEncoder

        if not self.fuses_text:
            raise PredictError(
                f"{self.label} does not read text (model.params.text_fusion none); "
                "forecast without --text"
            )
        if self.text is None or self.spec.text_dim is None:
            raise PredictError(
                f"{self.label} fuses text but does not record the data.text alignment it was "
                "trained under; forecast a registry version published by `tsalign publish`"
            )
        texts = read_recent_texts(path, self.text)
        origins = future[:: self.spec.horizon].to_numpy()  # each roll starts one horizon on
        k, dim = self.spec.text_tokens, self.spec.text_dim
        return text_tokens_at(origins, texts, self.text, k, dim, SentenceEncoder(TEXT_BACKBONE))

    def _roll(
        self,
        window: np.ndarray,
        steps: int,
        tokens: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> np.ndarray:
        """``steps`` standardised forecasts ``[steps, C]`` from a standardised ``[seq_len, C]``
        (with each roll's text tokens, when given)."""
        out: list[np.ndarray] = []
        produced = 0
        with torch.no_grad():
            while produced < steps:
                x = torch.from_numpy(window[-self.spec.seq_len :].astype(np.float32))
                roll = len(out)
                text = (
                    [] if tokens is None else [t[roll : roll + 1].to(self.device) for t in tokens]
                )
                y = self.model(x[None].to(self.device), *text)[0].float().cpu().numpy()  # [H, C]
                out.append(y)
                produced += y.shape[0]
                window = np.concatenate([window, y], axis=0)
        return np.concatenate(out, axis=0)[:steps]
