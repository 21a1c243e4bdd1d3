"""Forecast with a published model: ``forecast(registry, "my-model@champion", frame)``.

The registry resolves and downloads the version (every file sha256-verified); loading the model
from the downloaded files is inference's business, so the registry never imports the models.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from tsalign.components.config import TextConfig
from tsalign.components.inference.errors import PredictError
from tsalign.components.inference.predictor import MODEL_META, SCALER_FILE, Predictor
from tsalign.components.registry.registry import Registry


def load_published(registry: Registry, ref: str, *, device: str = "auto") -> Predictor:
    """Resolve ``ref``, download the version and load it as a :class:`Predictor`.

    Args:
        registry: the registry holding the model.
        ref: ``name``, ``name:VERSION`` or ``name@ALIAS``.
        device: ``auto`` (cuda when available), ``cpu`` or ``cuda``.

    Raises:
        RefError, NotFoundError: bad reference or missing version/alias.
        IntegrityError: a stored file failed sha256 verification.
        PredictError: not a forecaster version.
        DeviceError: ``device="cuda"`` where there is no CUDA device.
    """
    with downloaded(registry, ref) as (exact, local):
        predictor = Predictor.load(local, device=device, label=exact)
    text = (registry.show(exact).config.get("data") or {}).get("text")
    if predictor.fuses_text and text:  # how its recent text is read and aligned
        predictor = dataclasses.replace(predictor, text=TextConfig.model_validate(text))
    return predictor


@contextmanager
def downloaded(registry: Registry, ref: str) -> Iterator[tuple[str, Path]]:
    """``(name:VERSION, local folder)`` of a published model version, removed on exit.

    Raises:
        RefError, NotFoundError, IntegrityError: as :meth:`Registry.download`.
        PredictError: the version holds no model and scaler.
    """
    name, version = registry.resolve(ref)
    exact = f"{name}:{version}"
    manifest = registry.show(exact)
    needed = [SCALER_FILE, MODEL_META]
    if any(f not in manifest.files for f in needed):
        raise PredictError(
            f"{exact} is not a model version: it needs {needed} but has "
            f"{sorted(manifest.files)[:8]}; publish the trained model with the pipeline"
        )
    with tempfile.TemporaryDirectory(prefix="tsalign-predict-") as tmp:
        yield exact, registry.download(exact, Path(tmp) / "version")


def task_of(registry: Registry, ref: str) -> str:
    """The task a published version was trained for (its ``task`` tag; forecast when absent)."""
    name, version = registry.resolve(ref)
    return registry.show(f"{name}:{version}").tags.get("task", "forecast")


def forecast(
    registry: Registry,
    ref: str,
    frame: pd.DataFrame,
    *,
    horizon: int | None = None,
    timestamp_col: str | None = None,
    device: str = "auto",
    texts: Path | None = None,
) -> pd.DataFrame:
    """Forecast the channels of ``frame`` with a published model.

    :func:`load_published` then :meth:`Predictor.forecast`; see those for the arguments, the
    returned frame and the errors (``texts``: recent text for a text-fused version).
    """
    if horizon is not None and horizon < 1:
        raise PredictError(f"horizon must be >= 1, got {horizon}")
    predictor = load_published(registry, ref, device=device)
    return predictor.forecast(frame, horizon=horizon, timestamp_col=timestamp_col, texts=texts)
