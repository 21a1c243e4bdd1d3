"""The benchmark protocol applied to one canonical dataset file.

Training workers and the evaluation stage both start here, so the split
borders, the target selection and the train-only scaler are defined once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsalign.components.config import ProtocolConfig
from tsalign.components.data.meta import DatasetMeta


@dataclass(frozen=True)
class Protocol:
    """Standardised splits of the target channels, plus what is needed to undo the scaling."""

    train: np.ndarray  # [T_train, C] float32, standardised
    val: np.ndarray  # [T_val, C]; starts seq_len before the validation border
    test: np.ndarray  # [T_test, C]; starts seq_len before the test border
    mean: np.ndarray  # [C] fit on the training split only
    std: np.ndarray  # [C]
    targets: list[str]
    meta: DatasetMeta

    def scaler(self) -> dict[str, object]:
        """The scaling a published model needs to forecast raw input (scaler.json)."""
        return {
            "channels": self.targets,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "freq": self.meta.freq,
        }

    def inverse(self, values: np.ndarray) -> np.ndarray:
        """Back to the original units: ``values`` is [..., C] on the standardised scale."""
        return values * self.std + self.mean


def load_protocol(dataset_path: str, cfg: ProtocolConfig) -> Protocol:
    """Read a canonical dataset and split/scale its target channels per ``cfg``.

    Args:
        dataset_path: canonical Parquet file (its metadata JSON lies beside it).
        cfg: the protocol (split kind, ratios, few-shot fraction, window).

    Raises:
        DataError: the file is missing or too short for the window protocol.
    """
    from tsalign.components.data import load_frame, load_meta, prepare_splits

    meta = load_meta(dataset_path)
    frame = load_frame(dataset_path)
    values = frame[meta.targets].to_numpy(dtype=np.float32)
    splits = prepare_splits(values, cfg)
    return Protocol(
        train=splits.train,
        val=splits.val,
        test=splits.test,
        mean=np.asarray(splits.mean, dtype=np.float32),
        std=np.asarray(splits.std, dtype=np.float32),
        targets=list(meta.targets),
        meta=meta,
    )
