"""A loaded classifier: ``Classifier.load(directory).classify(path)`` -> class probabilities.

A classifier directory (an exported training run, or a downloaded registry version) holds
``model/`` (safetensors, ``task: classify`` in its spec) and ``scaler.json`` written by
training (:class:`~tsalign.components.data.panel_inputs.PanelScaler`: channels, per-channel
mean and std, the class order and the instance length). Input instances are read from a
panel file in the format the model was trained from (a ``.ts`` file, or a long
``instance_id, step, channels...`` CSV/Parquet; a label column is optional and ignored),
padded or cut to the trained length, standardised, and classified.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tsalign.components.config import PanelConfig
from tsalign.components.data.errors import DataError
from tsalign.components.data.panel import instance_arrays, read_instances
from tsalign.components.data.panel_inputs import PanelScaler
from tsalign.components.device import resolve_device, torch_device
from tsalign.components.inference.errors import PredictError
from tsalign.components.inference.published import downloaded
from tsalign.components.layout import MODEL_DIR, SCALER_FILE
from tsalign.components.models.persistence import load_pretrained
from tsalign.components.models.spec import ModelBuildError, ModelSpec
from tsalign.components.registry.registry import Registry

PREDICTED = "predicted"
"""Output column of the most probable class; one ``p_<class>`` column per class follows."""


@dataclass
class Classifier:
    """A classifier on its device: the model, its spec and the training scaler."""

    model: torch.nn.Module
    spec: ModelSpec
    scaler: PanelScaler
    device: torch.device
    label: str

    @classmethod
    def load(cls, directory: Path, *, device: str = "auto", label: str | None = None) -> Classifier:
        """Load a classifier directory (``model/`` + ``scaler.json``) onto ``device``.

        Raises:
            PredictError: the directory is not a classifier, or its files disagree.
            DeviceError: ``device="cuda"`` where there is no CUDA device.
        """
        label = label or str(directory)
        target = torch_device(resolve_device(device, "--device"))
        try:
            scaler = PanelScaler.from_dict(json.loads((directory / SCALER_FILE).read_text()))
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise PredictError(
                f"{label}: {SCALER_FILE} is not a classifier's scaler ({err!r}); republish the "
                "version from a classification run"
            ) from None
        try:
            model, _, spec = load_pretrained(directory / MODEL_DIR)
        except ModelBuildError as err:
            raise PredictError(f"{label}: the model cannot be loaded: {err}") from None
        if spec.task != "classify":
            raise PredictError(f"{label} is a {spec.task!r} model, not a classifier")
        if (spec.n_channels, spec.n_classes) != (len(scaler.channels), len(scaler.classes)):
            raise PredictError(
                f"{label}: model takes {spec.n_channels} channels into {spec.n_classes} classes "
                f"but {SCALER_FILE} lists {len(scaler.channels)} and {len(scaler.classes)}; "
                "republish the version"
            )
        model.to(target).eval()
        return cls(model, spec, scaler, target, label)

    def classify(self, path: Path, panel: PanelConfig | None = None) -> pd.DataFrame:
        """Class probabilities of every instance in the panel file ``path``.

        Args:
            path: a ``.ts`` file or a long ``.csv``/``.parquet`` file.
            panel: column names of a long file (instance, step, label); defaults otherwise.

        Returns:
            One row per instance, in the file's order: ``instance_id``, ``predicted`` and one
            ``p_<class>`` probability column per trained class (rows sum to 1).

        Raises:
            PredictError: an unreadable file, other channels than the model's, or labels the
                model was not trained on.
        """
        scaler = self.scaler
        try:
            raw = read_instances(path, panel or PanelConfig())
        except DataError as err:
            raise PredictError(str(err)) from None
        if path.suffix.lower() != ".ts":  # long files name their channels
            missing = [c for c in scaler.channels if c not in raw.channels]
            if missing:
                raise PredictError(
                    f"{path}: lacks channel column(s) {missing[:6]}; {self.label} takes "
                    f"{len(scaler.channels)} channels ({', '.join(scaler.channels[:6])}...)"
                )
            raw = replace(raw, channels=list(scaler.channels))
        elif len(raw.channels) != len(scaler.channels):
            raise PredictError(
                f"{path}: instances have {len(raw.channels)} channel(s); {self.label} takes "
                f"{len(scaler.channels)}; give a panel of the trained channels"
            )
        labels = raw.frame.groupby("instance_id", sort=False)["label"].first()
        given = labels[labels != ""].to_numpy()
        if len(given):
            try:
                scaler.targets(given, str(path))
            except DataError as err:
                raise PredictError(str(err)) from None
        values, observed, ids = instance_arrays(raw, scaler.steps)
        x = torch.from_numpy(scaler.inputs(values, observed))
        with torch.no_grad():
            probs = torch.softmax(self.model(x.to(self.device)).float(), dim=-1).cpu().numpy()
        out = pd.DataFrame({"instance_id": ids})
        out[PREDICTED] = np.asarray(scaler.classes)[probs.argmax(axis=1)]
        for k, name in enumerate(scaler.classes):
            out[f"p_{name}"] = probs[:, k]
        return out


def load_published_classifier(registry: Registry, ref: str, *, device: str = "auto") -> Classifier:
    """Resolve ``ref``, download the version and load it as a :class:`Classifier`.

    Raises:
        RefError, NotFoundError, IntegrityError: bad reference, missing or corrupt version.
        PredictError: not a classifier version.
    """
    with downloaded(registry, ref) as (exact, local):
        return Classifier.load(local, device=device, label=exact)
