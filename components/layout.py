"""File and column names that several stages agree on, each defined once.

A forecaster directory (an exported training run, a registry version) is what
training writes, the registry stores and inference loads::

    model/         the saved model (``components.models.persistence``: safetensors, no pickle)
    scaler.json    the train-split scaler: {"channels", "mean", "std", "freq"}
"""

from __future__ import annotations

MODEL_DIR = "model"
"""Sub-directory of a forecaster directory that holds the saved model."""
SCALER_FILE = "scaler.json"
"""The scaler beside it, fit on the training split."""
TIMESTAMP = "timestamp"
"""Name of the timestamp column in every canonical Parquet file."""
