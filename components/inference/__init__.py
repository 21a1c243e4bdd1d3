"""Inference: load a trained or published model and forecast with it.

Public API::

    Predictor.load(export_dir, device="cpu").forecast(frame, horizon=24)
    forecast(open_registry(cfg.registry), "my-model@champion", frame)
    predict_windows(model, windows, batch_size, device)   # evaluation's batched passes

Models are rebuilt from safetensors by ``tsalign.components.models.persistence``; nothing is unpickled.
"""

from tsalign.components.inference.batch import predict_windows
from tsalign.components.inference.errors import PredictError
from tsalign.components.inference.predictor import MODEL_DIR, SCALER_FILE, Predictor, Scaler
from tsalign.components.inference.published import forecast, load_published

__all__ = [
    "MODEL_DIR",
    "SCALER_FILE",
    "PredictError",
    "Predictor",
    "Scaler",
    "forecast",
    "load_published",
    "predict_windows",
]
