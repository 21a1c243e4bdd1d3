"""Data: sources, validation, DVC versioning, splits, scaling and windows.

Public API (import from here)::

    ingest(cfg, project_root) -> DatasetRef
    load_frame(ref_or_path) / load_meta(ref_or_path) / load_texts(ref_or_path)
    load_frame_at_rev(name, rev, project_root) / checkout_version(name, rev, project_root)
    list_versions(project_root) / ensure_dvc_project(root)
    split_borders(n_rows, cfg) -> Borders / prepare_splits(values, cfg) -> Splits
    WindowDataset(array, seq_len, horizon, stride, channel_independent) / window_count(...)
    DataError

``WindowDataset`` imports torch, so it is loaded on first use only (ingest and
the CLI stay light).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tsalign.components.data.errors import DataError
from tsalign.components.data.ingest import (
    checkout_version,
    ingest,
    load_frame,
    load_frame_at_rev,
    load_meta,
)
from tsalign.components.data.meta import TIMESTAMP, DatasetMeta
from tsalign.components.data.splits import (
    Borders,
    Splits,
    fit_scaler,
    prepare_splits,
    split_borders,
    window_count,
)
from tsalign.components.data.text import load_texts
from tsalign.components.data.versioning import DataVersion, ensure_dvc_project, list_versions

if TYPE_CHECKING:
    from tsalign.components.data.windows import WindowDataset


def __getattr__(name: str) -> Any:
    if name == "WindowDataset":
        from tsalign.components.data import windows

        return getattr(windows, name)
    raise AttributeError(name)


__all__ = [
    "TIMESTAMP",
    "Borders",
    "DataError",
    "DataVersion",
    "DatasetMeta",
    "Splits",
    "WindowDataset",
    "checkout_version",
    "ensure_dvc_project",
    "fit_scaler",
    "ingest",
    "list_versions",
    "load_frame",
    "load_frame_at_rev",
    "load_meta",
    "load_texts",
    "prepare_splits",
    "split_borders",
    "window_count",
]
