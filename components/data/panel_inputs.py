"""What a classifier reads from a panel: standardised instances and class indices.

Training, evaluation, the champion gate and ``tsalign predict`` all turn panel instances
into model inputs here, so the scaling, the padding and the class order are defined once:

- each channel is standardised with the mean and std of the *observed* steps of the train
  split (padding never enters the statistics);
- padded steps are set to 0 after scaling (the channel's training mean), so padding says
  nothing about the class;
- class ``k`` is the ``k``-th of the sorted training classes (``PanelMeta.classes``).

The scaler is saved beside the model as ``scaler.json`` (``channels``, ``mean``, ``std``,
``classes``, ``steps``), which makes a published classifier describe its own input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tsalign.components.data.errors import DataError
from tsalign.components.data.panel import Panel


@dataclass(frozen=True)
class PanelScaler:
    """Per-channel standardisation of a panel plus its class order and instance length."""

    channels: list[str]
    mean: np.ndarray  # [C], observed train steps
    std: np.ndarray  # [C]
    classes: list[str]
    steps: int

    @classmethod
    def fit(cls, panel: Panel, classes: list[str]) -> PanelScaler:
        """Fit on the observed steps of the panel's train split.

        Raises:
            DataError: the panel has no train instance.
        """
        train = panel.splits == "train"
        if not train.any():
            raise DataError("panel", "no train instance", "re-run `tsalign ingest`")
        seen = panel.values[train][panel.observed[train]]  # [observed steps, C]
        std = seen.std(axis=0)
        return cls(
            list(panel.channels),
            seen.mean(axis=0),
            np.where(std > 0, std, 1.0),  # a constant channel stays as it is, centred
            list(classes),
            int(panel.values.shape[1]),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``scaler.json``)."""
        return {
            "channels": self.channels,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "classes": self.classes,
            "steps": self.steps,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PanelScaler:
        """Inverse of :meth:`to_dict` (KeyError/TypeError/ValueError on a malformed dict)."""
        return cls(
            [str(c) for c in raw["channels"]],
            np.asarray(raw["mean"], dtype=np.float64),
            np.asarray(raw["std"], dtype=np.float64),
            [str(c) for c in raw["classes"]],
            int(raw["steps"]),
        )

    def inputs(self, values: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """[N, steps, C] float32 model inputs from raw values and the observed mask."""
        x = (values - self.mean) / self.std
        x[~observed] = 0.0
        return x.astype(np.float32)

    def targets(self, labels: np.ndarray, where: str) -> np.ndarray:
        """[N] int64 class indices of ``labels``.

        Raises:
            DataError: a label the model was not trained on (named, with the known ones).
        """
        index = {c: k for k, c in enumerate(self.classes)}
        unseen = sorted({str(v) for v in labels} - set(index))
        if unseen:
            raise DataError(
                where,
                f"labels {unseen[:5]} were not seen in training (classes: {self.classes[:10]})",
                "give instances of the trained classes only, or retrain on data holding them",
            )
        return np.asarray([index[str(v)] for v in labels], dtype=np.int64)


def split_arrays(panel: Panel, scaler: PanelScaler, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(inputs [N, steps, C] float32, class indices [N] int64) of one split."""
    keep = panel.splits == split
    x = scaler.inputs(panel.values[keep], panel.observed[keep])
    return x, scaler.targets(panel.labels[keep], f"panel split {split!r}")


def class_weights(y: np.ndarray, n_classes: int, max_ratio: float) -> np.ndarray | None:
    """Balanced class weights (``n / (K * count_k)``, scikit-learn's ``balanced``) when the
    largest class outnumbers the smallest by more than ``max_ratio``; None when balanced.
    """
    from sklearn.utils.class_weight import compute_class_weight

    counts = np.bincount(y, minlength=n_classes)
    present = counts[counts > 0]
    if present.max() <= max_ratio * present.min():
        return None
    weights = np.ones(n_classes)
    classes = np.flatnonzero(counts)
    weights[classes] = compute_class_weight("balanced", classes=classes, y=y)
    return weights
