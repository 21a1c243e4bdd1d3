"""Validation scores that can be compared: every forecaster on the same windows, one scale.

The choice between candidates (``publish.select: best_val``) and the champion gate both
rank models by validation loss. A loss recorded at training time cannot be compared across
runs: another data version has other validation rows, another scaler and, under
``train.max_val_windows``, another sample of windows. So every model is scored here, on the
validation windows of the data version being published, with its own training scaler:

    input (this version's scale) -> original units -> the model's scale -> model
    -> forecast in original units -> this version's scale -> MSE against the targets

For a model trained on this version the two scales are the same and the score is its
validation loss; for the champion it is what its validation loss would have been on the
windows the challenger is judged on.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from tsalign.components.config import ProtocolConfig, WindowConfig
from tsalign.components.data.protocol import Protocol, load_protocol
from tsalign.components.data.windows import validation_windows
from tsalign.components.inference import PredictError, Predictor, Scaler, load_published
from tsalign.components.models import ModelSpec
from tsalign.components.registry.gates import ChampionNotComparable
from tsalign.components.registry.registry import Registry


class NotComparable(ValueError):
    """A model that cannot be scored on these windows (other horizon, channels, look-back)."""


def comparable_problem(predictor: Predictor, proto: Protocol, window: WindowConfig) -> str | None:
    """Why ``predictor`` cannot forecast these validation windows, or None when it can."""
    spec, channels = predictor.spec, predictor.scaler.channels
    if spec.horizon != window.horizon:
        return f"it forecasts {spec.horizon} steps, this run {window.horizon}"
    if sorted(channels) != sorted(proto.targets):
        return f"it forecasts channels {channels}, this run {proto.targets}"
    if spec.seq_len > window.seq_len:
        return f"it looks back {spec.seq_len} steps, more than this run's {window.seq_len}"
    return None


def _affine(values: torch.Tensor, scale: np.ndarray, shift: np.ndarray) -> torch.Tensor:
    """``values * scale + shift`` per channel, in float64 so a round trip adds no error."""
    return values.double() * torch.from_numpy(scale) + torch.from_numpy(shift)


def score_predictor(
    predictor: Predictor, proto: Protocol, windows: Dataset, window: WindowConfig, batch_size: int
) -> float:
    """Validation MSE of ``predictor`` on ``windows``, on the standardised scale of ``proto``.

    Args:
        predictor: a forecaster with its own training scaler (any data version).
        proto: the protocol the windows come from (its scaler defines the scale of the score).
        windows: validation windows of ``proto`` (:func:`validation_windows`).
        window: the protocol of ``windows``; a model that looks back less sees their tail.
        batch_size: windows per forward pass.

    Raises:
        NotComparable: the model forecasts another horizon or other channels, or needs a
            longer look-back than the windows hold.
    """
    problem = comparable_problem(predictor, proto, window)
    if problem is not None:
        raise NotComparable(problem)
    own = predictor.scaler
    order = [proto.targets.index(c) for c in own.channels]  # the model's channel order
    back = [own.channels.index(c) for c in proto.targets]
    mean, std = proto.mean.astype(np.float64), proto.std.astype(np.float64)
    total, count = 0.0, 0
    predictor.model.eval()
    with torch.no_grad():
        for x, y in DataLoader(windows, batch_size=batch_size, shuffle=False):
            raw = _affine(x, std, mean)[:, -predictor.spec.seq_len :, order]  # [B, L', C]
            inputs = ((raw - torch.from_numpy(own.mean)) / torch.from_numpy(own.std)).float()
            pred = predictor.model(inputs.to(predictor.device)).double().cpu()  # [B, H, C]
            pred_raw = _affine(pred, own.std, own.mean)[..., back]
            pred_std = (pred_raw - torch.from_numpy(mean)) / torch.from_numpy(std)
            total += float(torch.sum((pred_std - y.double()) ** 2))
            count += y.numel()
    return total / max(count, 1)


class ValidationScorer:
    """Scores forecasters on the validation windows of one dataset version.

    Args:
        proto: the protocol of the version being evaluated or published.
        window: its window settings.
        max_windows: ``train.max_val_windows``, the cap training validated with.
        batch_size: windows per forward pass.
        device: where loaded models run (``auto``, ``cpu``, ``cuda``).
    """

    def __init__(
        self,
        proto: Protocol,
        window: WindowConfig,
        max_windows: int | None,
        batch_size: int = 256,
        device: str = "auto",
    ) -> None:
        self.proto = proto
        self.window = window
        self.windows = validation_windows(proto.val, window.seq_len, window.horizon, max_windows)
        self.batch_size = batch_size
        self.device = device

    @classmethod
    def for_dataset(
        cls, dataset_path: str, data_cfg: ProtocolConfig, max_windows: int | None, **kwargs: object
    ) -> ValidationScorer:
        """The scorer of the canonical file ``dataset_path`` split per ``data_cfg``."""
        return cls(load_protocol(dataset_path, data_cfg), data_cfg.window, max_windows, **kwargs)

    @property
    def n_windows(self) -> int:
        """How many validation windows each score averages over."""
        return len(self.windows)

    def score(self, predictor: Predictor) -> float:
        """Validation MSE of a loaded forecaster (see :func:`score_predictor`)."""
        return score_predictor(predictor, self.proto, self.windows, self.window, self.batch_size)

    def score_trained(
        self, model: torch.nn.Module, spec: ModelSpec, device: torch.device, label: str
    ) -> float:
        """Validation MSE of a model trained on this version (so scaled with its scaler)."""
        proto = self.proto
        scaler = Scaler(
            list(proto.targets),
            proto.mean.astype(np.float64),
            proto.std.astype(np.float64),
            proto.meta.freq,
        )
        return self.score(Predictor(model.to(device), spec, scaler, device, label))

    def score_published(self, registry: Registry, name: str, version: int) -> float:
        """Validation MSE of a registry version, loaded through components.inference.

        Raises:
            ChampionNotComparable: the version is not a forecaster of these windows
                (another horizon, channels or a longer look-back), with the reason.
        """
        try:
            return self.score(load_published(registry, f"{name}:{version}", device=self.device))
        except (NotComparable, PredictError) as err:
            raise ChampionNotComparable(str(err)) from None
