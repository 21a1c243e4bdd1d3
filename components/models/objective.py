"""Models that bring loss terms of their own: the seam between a model and the training recipe.

A forecaster is trained on the recipe's supervised loss (MSE against the target). A model
that also learns from something else — CALF's distillation between its branches, TEST's
contrastive pre-training — subclasses :class:`AuxiliaryObjective`: each forward in training
mode records its weighted terms, the recipe adds them to the task's supervised loss and reports
their epoch means as the run's loss curves. A model may also open with pre-training epochs
in which only its own terms train it (``fits_forecast`` is False); evaluation and inference
never see the terms: in eval mode the forward is the plain forecast.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The forecasting task's supervised loss."""
    return nn.functional.mse_loss(prediction, target)


class AuxiliaryObjective(nn.Module):
    """A module whose training forward records named, already weighted loss terms."""

    def __init__(self) -> None:
        super().__init__()
        self._terms: dict[str, torch.Tensor] = {}
        self.epoch: int | None = None  # None: not driven by the recipe, the forecast is fitted

    #: Epochs at the start of training in which only the model's own terms train it.
    pretrain_epochs: int = 0

    def start_epoch(self, epoch: int) -> None:
        """Told by the recipe before each training epoch (0-based, counted over resumes)."""
        self.epoch = epoch

    @property
    def fits_forecast(self) -> bool:
        """Whether the supervised forecast loss trains the model in the current epoch."""
        return self.epoch is None or self.epoch >= self.pretrain_epochs

    def record(self, **terms: torch.Tensor) -> None:
        """Keep the terms of this forward (called from ``forward`` in training mode)."""
        self._terms = terms

    def loss_terms(self) -> dict[str, torch.Tensor]:
        """The terms of the last training forward, then forgotten (each is added once)."""
        terms, self._terms = self._terms, {}
        return terms


def training_loss(
    module: nn.Module,
    prediction: torch.Tensor,
    target: torch.Tensor,
    supervised: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = mse,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The loss one training step minimises and its named terms: ``supervised`` (the task's
    loss, MSE for forecasting) and the model's own.

    Args:
        module: The model that produced ``prediction`` (unwrapped from any engine).
        prediction: Its output.
        target: The target.
        supervised: The task's loss of (output, target).

    Returns:
        (total, {name: term}); every term in fp32.

    Raises:
        RuntimeError: a pre-training forward that recorded no terms (nothing to train on).
    """
    terms: dict[str, torch.Tensor] = {}
    own = isinstance(module, AuxiliaryObjective)
    if not own or module.fits_forecast:
        terms["supervised"] = supervised(prediction.float(), target)
    if own:
        terms.update({name: t.float() for name, t in module.loss_terms().items()})
    if not terms:
        raise RuntimeError(
            f"{type(module).__name__} recorded no loss terms in a pre-training epoch; its "
            "forward must call record() in training mode"
        )
    return sum(terms.values()), terms  # type: ignore[return-value]
