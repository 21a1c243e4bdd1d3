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
windows the challenger is judged on. A model that fuses text is scored with the texts each
validation window may see (this version's window texts), as it was validated in training.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from tsalign.components.config import ProtocolConfig, WindowConfig
from tsalign.components.data.protocol import Protocol, load_protocol
from tsalign.components.data.text_features import WindowTexts
from tsalign.components.data.windows import validation_windows
from tsalign.components.inference import PredictError, Predictor, Scaler, load_published
from tsalign.components.models import ModelSpec
from tsalign.components.models.fusion import TextFusion
from tsalign.components.registry.gates import ChampionNotComparable
from tsalign.components.registry.registry import Registry


class NotComparable(ValueError):
    """A model that cannot be scored on these windows (other horizon, channels, look-back)."""


def comparable_problem(
    predictor: Predictor, proto: Protocol, window: WindowConfig, text_dim: int | None = None
) -> str | None:
    """Why ``predictor`` cannot forecast these validation windows, or None when it can.

    Args:
        text_dim: the width of the windows' text embeddings; None when they carry no text.
    """
    spec, channels = predictor.spec, predictor.scaler.channels
    if isinstance(predictor.model, TextFusion) and spec.text_dim != text_dim:
        if text_dim is None:
            return "it fuses text, and this run's data has none (data.text)"
        return f"it fuses text embeddings of width {spec.text_dim}, this run's are {text_dim}"
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
    predictor: Predictor,
    proto: Protocol,
    windows: Dataset,
    window: WindowConfig,
    batch_size: int,
    text_dim: int | None = None,
) -> float:
    """Validation MSE of ``predictor`` on ``windows``, on the standardised scale of ``proto``.

    Args:
        predictor: a forecaster with its own training scaler (any data version).
        proto: the protocol the windows come from (its scaler defines the scale of the score).
        windows: validation windows of ``proto`` (:func:`validation_windows`), with their
            text tokens when they were made with text.
        window: the protocol of ``windows``; a model that looks back less sees their tail.
        batch_size: windows per forward pass.
        text_dim: the width of the windows' text embeddings; None without text.

    Raises:
        NotComparable: the model forecasts another horizon or other channels, needs a
            longer look-back than the windows hold, or fuses text the windows do not carry.
    """
    problem = comparable_problem(predictor, proto, window, text_dim)
    if problem is not None:
        raise NotComparable(problem)
    own = predictor.scaler
    order = [proto.targets.index(c) for c in own.channels]  # the model's channel order
    back = [own.channels.index(c) for c in proto.targets]
    mean, std = proto.mean.astype(np.float64), proto.std.astype(np.float64)
    total, count = 0.0, 0
    fused = isinstance(predictor.model, TextFusion)
    predictor.model.eval()
    with torch.no_grad():
        for x, y, *text in DataLoader(windows, batch_size=batch_size, shuffle=False):
            raw = _affine(x, std, mean)[:, -predictor.spec.seq_len :, order]  # [B, L', C]
            inputs = ((raw - torch.from_numpy(own.mean)) / torch.from_numpy(own.std)).float()
            # text [B, K, E] and its mask [B, K], for a model that reads them
            extra = [t.to(predictor.device) for t in text] if fused else []
            pred = predictor.model(inputs.to(predictor.device), *extra).double().cpu()  # [B, H, C]
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
        texts: the window texts of this version (``data.text``): a model that fuses text
            is scored with the texts each window may see; None when it has no text.
    """

    def __init__(
        self,
        proto: Protocol,
        window: WindowConfig,
        max_windows: int | None,
        batch_size: int = 256,
        device: str = "auto",
        texts: WindowTexts | None = None,
    ) -> None:
        self.proto = proto
        self.window = window
        text = None if texts is None else (texts.vectors, texts.index["val"])
        self.windows = validation_windows(
            proto.val, window.seq_len, window.horizon, max_windows, text
        )
        self.text_dim = None if texts is None else texts.text_dim
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
        return score_predictor(
            predictor, self.proto, self.windows, self.window, self.batch_size, self.text_dim
        )

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
