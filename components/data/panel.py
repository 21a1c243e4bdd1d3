"""Labelled panels (task: classify): instances, each a multichannel series with one label.

    ref = ingest_panel(cfg.data, project_root)   # data/<name>.parquet + .meta.json, one DVC md5
    panel = load_panel(ref.path)                 # [instances, steps, channels] arrays + labels

Sources (``data.source``):

- ``uea:<Name>``: a UEA/UCR archive bundled with sktime (JapaneseVowels, BasicMotions...),
  read from the installed package through sktime's ``.ts`` loader; never downloaded.
- a ``.ts`` file; ``<X>_TRAIN.ts`` takes its ``<X>_TEST.ts`` sibling as the test split.
- a long ``.csv``/``.parquet`` file: ``instance_id, timestamp or step, channels..., label``.

The archive's (or the ``split_col``'s) train/test split is kept; without one, test is carved
from all instances. Validation is always carved from train. Both carvings are stratified
(scikit-learn) and seeded, so they are part of the data version.

Canonical Parquet, one row per instance and step, instances in split order:
``instance`` (int64, 0..n-1), ``instance_id`` (str, as in the source), ``split``
(train/val/test), ``step`` (int64), ``observed`` (bool, False on padding), the channels
(float64), ``label`` (str).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field
from sklearn.model_selection import train_test_split

from tsalign.components.config import DataConfig, PanelConfig
from tsalign.components.data.canonical import write_table
from tsalign.components.data.commit import commit_dataset
from tsalign.components.data.errors import DataError
from tsalign.components.data.sources import FileSource, check_allowed_root
from tsalign.components.excerpt import short_repr
from tsalign.components.refs import DatasetRef
from tsalign.components.storage import sha256_file

ARCHIVE_SCHEME = "uea:"
"""``data.source`` prefix naming an archive bundled with sktime (``uea:JapaneseVowels``)."""
STEP = "step"
SPLITS = ("train", "val", "test")


class PanelMeta(BaseModel):
    """What is known about one canonical panel (``data/<name>.meta.json``)."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = 1
    kind: str = "panel"
    name: str
    source: str
    description: str = ""
    units: dict[str, str] = Field(default_factory=dict)
    channels: list[str]
    classes: list[str] = Field(description="Sorted class labels.")
    instances: dict[str, int] = Field(description="split -> number of instances.")
    class_counts: dict[str, dict[str, int]] = Field(description="split -> class -> instances.")
    steps: int = Field(description="Steps per instance after padding/truncation.")
    lengths: dict[str, Any] = Field(
        description="Source lengths (min/max/median), the policy, and how many instances "
        "were padded or truncated."
    )
    split_source: str = Field(description="archive | column | carved: where train/test came from.")
    val_fraction: float
    seed: int
    rows: int
    content_sha256: str = ""
    source_sha256: str = ""


@dataclass(frozen=True)
class RawPanel:
    """A panel as read: one frame with ``instance_id, step, <channels>, label[, split]``."""

    frame: pd.DataFrame
    channels: list[str]
    where: str
    source_sha256: str
    split_source: str  # archive | column | carved


@dataclass(frozen=True)
class Panel:
    """A canonical panel in memory.

    Attributes:
        values: [instances, steps, channels] float64 (padding included).
        observed: [instances, steps] False on padded steps.
        labels: [instances] class label strings.
        splits: [instances] train | val | test.
        instance_ids: [instances] ids as in the source.
        channels: channel names.
    """

    values: np.ndarray
    observed: np.ndarray
    labels: np.ndarray
    splits: np.ndarray
    instance_ids: np.ndarray
    channels: list[str]


# --------------------------------------------------------------------------- sources


def bundled_archives() -> dict[str, Path]:
    """The UEA/UCR archives sktime ships: name -> directory holding ``<name>_TRAIN.ts``."""
    import sktime.datasets

    data = Path(sktime.datasets.__file__).parent / "data"
    return {
        d.name: d
        for d in sorted(data.iterdir())
        if (d / f"{d.name}_TRAIN.ts").is_file() and (d / f"{d.name}_TEST.ts").is_file()
    }


def _archive_files(source: str) -> list[tuple[Path, str | None]]:
    name = source.removeprefix(ARCHIVE_SCHEME)
    archives = bundled_archives()
    if name not in archives:
        raise DataError(
            source,
            f"unknown archive {name!r}: not among the archives bundled with sktime",
            f"use one of {', '.join(f'uea:{n}' for n in archives)}, or point data.source at "
            "a .ts file",
        )
    folder = archives[name]
    return [(folder / f"{name}_TRAIN.ts", "train"), (folder / f"{name}_TEST.ts", "test")]


def _local_file(cfg: DataConfig, root: Path) -> Path:
    source = FileSource(cfg, root)
    path = check_allowed_root(source.path(), cfg, root, cfg.source)
    if not path.is_file():
        raise DataError(
            cfg.source,
            f"file not found ({path})",
            "check data.source (relative paths are resolved from the project root), or use "
            "uea:<Name> for an archive bundled with sktime",
        )
    return path


def panel_files(cfg: DataConfig, root: Path) -> list[tuple[Path, str | None]]:
    """The files a panel source reads, each with the split it holds (None: not split).

    Raises:
        DataError: an unknown archive, a missing file or an unsupported file type.
    """
    if cfg.source.startswith(ARCHIVE_SCHEME):
        return _archive_files(cfg.source)
    path = _local_file(cfg, root)
    suffix = path.suffix.lower()
    if suffix == ".ts":
        test = path.with_name(path.name.removesuffix("_TRAIN.ts") + "_TEST.ts")
        if path.name.endswith("_TRAIN.ts") and test.is_file():
            return [(path, "train"), (test, "test")]
        return [(path, None)]
    if suffix in (".csv", ".parquet"):
        return [(path, None)]
    raise DataError(
        cfg.source,
        f"unknown file type {suffix or '(no extension)'!r} for a labelled panel",
        "use uea:<Name>, a .ts file, or a long .csv/.parquet file (instance_id, step, "
        "channels..., label)",
    )


def panel_fingerprint(cfg: DataConfig, root: Path) -> dict[str, Any] | None:
    """What identifies a panel source's content, for the ingest cache key (None: unknown)."""
    try:
        files = panel_files(cfg, root)
    except DataError:
        return None  # ingest reports it, with the fix
    return {
        "files": [{"path": str(p), "split": split, "sha256": sha256_file(p)} for p, split in files]
    }


def _ts_dimension_line(path: Path) -> str:
    """The first data line whose channel count differs from the first one's, described."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        in_data, first = False, None
        for number, line in enumerate(lines, start=1):
            text = line.strip()
            if not in_data:
                in_data = text.lower() == "@data"
                continue
            if not text:
                continue
            dims = text.count(":")  # the last field is the label
            if first is None:
                first = (number, dims)
            elif dims != first[1]:
                return (
                    f"line {number} has {dims} channel(s), line {first[0]} (the first "
                    f"instance) has {first[1]}"
                )
    return ""


def _read_ts(path: Path, label: str) -> pd.DataFrame:
    from sktime.datasets import load_from_tsfile

    try:
        x, y = load_from_tsfile(str(path), return_data_type="pd-multiindex")
    except (OSError, ValueError, IndexError) as err:
        detail = _ts_dimension_line(path)
        if detail:
            raise DataError(
                f"{label} ({path.name})",
                f"instances have different channel counts: {detail}",
                "give every instance the same channels (@dimensions)",
            ) from None
        raise DataError(
            f"{label} ({path.name})",
            f"not a readable .ts file ({short_repr(str(err))})",
            "check the header (@problemName ... @data) and one instance per line",
        ) from None
    ids = x.index.get_level_values(0)
    frame = x.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    channels = list(frame.columns)
    frame.insert(0, "instance_id", ids.astype(str))
    frame.insert(1, STEP, x.groupby(level=0).cumcount().to_numpy())
    labels = pd.Series(np.asarray(y).astype(str), index=pd.Index(ids).unique().astype(str))
    frame["label"] = frame["instance_id"].map(labels).to_numpy()
    return frame[["instance_id", STEP, *channels, "label"]]


def _read_long(
    path: Path, cfg: DataConfig, labelled: bool = True
) -> tuple[pd.DataFrame, list[str], bool]:
    panel, where = cfg.panel, cfg.source
    try:
        if path.suffix.lower() == ".csv":
            raw = pd.read_csv(path, delimiter=cfg.delimiter)
        else:
            raw = pq.read_table(path).to_pandas()
    except (OSError, ValueError, pa.ArrowException, UnicodeDecodeError) as err:
        raise DataError(
            where, f"not a readable table ({short_repr(str(err))})", "write a UTF-8 CSV or Parquet"
        ) from None
    columns = list(raw.columns)
    if not labelled and panel.label_col not in columns:
        raw[panel.label_col] = ""  # instances to classify need no label
        columns.append(panel.label_col)
    if panel.label_col not in columns:
        raise DataError(
            where,
            f"missing label column {panel.label_col!r} (has {short_repr(columns)})",
            "add a label column, or set data.panel.label_col to the column holding the class",
        )
    if panel.instance_col not in columns:
        raise DataError(
            where,
            f"missing instance column {panel.instance_col!r} (has {short_repr(columns)})",
            "add an instance id column, or set data.panel.instance_col",
        )
    step_col = panel.step_col or next((c for c in ("timestamp", STEP) if c in columns), None)
    if step_col is None or step_col not in columns:
        raise DataError(
            where,
            f"no step column ({panel.step_col or 'timestamp or step'}) among {short_repr(columns)}",
            "add a 'step' or 'timestamp' column, or set data.panel.step_col",
        )
    if panel.split_col is not None and panel.split_col not in columns:
        raise DataError(
            where,
            f"missing split column {panel.split_col!r}",
            "add it (train/test per row) or set data.panel.split_col: null",
        )
    keys = {panel.label_col, panel.instance_col, step_col, panel.split_col}
    channels = cfg.targets or [c for c in columns if c not in keys]
    if not channels:
        raise DataError(where, "no channel columns", "add value columns beside the keys")
    for c in channels:
        if c not in columns:
            raise DataError(where, f"unknown channel {c!r} in data.targets", "fix data.targets")
        if not pd.api.types.is_numeric_dtype(raw[c]):
            raise DataError(
                f"{where}, column {c!r}",
                "not numeric",
                "keep only numeric channels, or list them in data.targets",
            )
    order = raw[step_col]
    if step_col == "timestamp":
        order = pd.to_datetime(order, errors="coerce")
        if order.isna().any():
            row = int(np.flatnonzero(order.isna().to_numpy())[0])
            raise DataError(f"{where} row {row}", "unparsable timestamp", "write ISO 8601 times")
    frame = pd.DataFrame(
        {
            "instance_id": raw[panel.instance_col].astype(str),
            "_order": order,
            **{c: raw[c].astype("float64") for c in channels},
            "label": raw[panel.label_col],
        }
    )
    if frame["label"].isna().any():
        row = int(np.flatnonzero(frame["label"].isna().to_numpy())[0])
        raise DataError(
            f"{where} row {row}", "missing label", "give every row its instance's label"
        )
    frame["label"] = frame["label"].astype(str)
    if panel.split_col is not None:
        frame["split"] = raw[panel.split_col].astype(str).str.lower()
        bad = ~frame["split"].isin(["train", "test"])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{where} row {row}",
                f"split {raw[panel.split_col].iloc[row]!r} is not train or test",
                "write train or test in the split column",
            )
    frame = frame.sort_values(["instance_id", "_order"], kind="stable")
    if frame.duplicated(["instance_id", "_order"]).any():
        dup = frame[frame.duplicated(["instance_id", "_order"])].iloc[0]
        raise DataError(
            where,
            f"instance {dup['instance_id']!r} has two rows at {step_col} {dup['_order']}",
            "keep one row per instance and step",
        )
    frame.insert(1, STEP, frame.groupby("instance_id").cumcount().to_numpy())
    return frame.drop(columns="_order").reset_index(drop=True), channels, "split" in frame


def read_panel(cfg: DataConfig, root: Path) -> RawPanel:
    """Read a panel source into one long frame (no checks beyond parsing yet).

    Raises:
        DataError: the source is unknown, missing or unreadable.
    """
    files = panel_files(cfg, root)
    if files[0][0].suffix.lower() in (".csv", ".parquet"):
        frame, channels, has_split = _read_long(files[0][0], cfg)
        split_source = "column" if has_split else "carved"
    else:
        parts = []
        for path, split in files:
            part = _read_ts(path, cfg.source)
            if split is not None:
                part["instance_id"] = f"{split}-" + part["instance_id"]
                part["split"] = split
            parts.append(part)
        channels = [c for c in parts[0].columns if c not in ("instance_id", STEP, "label", "split")]
        if any(list(p.columns) != list(parts[0].columns) for p in parts[1:]):
            raise DataError(
                cfg.source,
                "the train and test files have different channel counts",
                "use files of the same archive",
            )
        frame = pd.concat(parts, ignore_index=True)
        split_source = "archive" if files[0][1] is not None else "carved"
    digest = hashlib.sha256("".join(sha256_file(p) for p, _ in files).encode()).hexdigest()
    return RawPanel(frame, channels, cfg.source, digest, split_source)


def read_instances(path: Path, panel: PanelConfig) -> RawPanel:
    """Instances to classify: one ``.ts`` or long ``.csv``/``.parquet`` file, labels optional
    in a long file (``tsalign predict``); the train/test split is not read.

    Raises:
        DataError: an unreadable or unsupported file, or values that are not finite.
    """
    suffix = path.suffix.lower()
    cfg = DataConfig(name="input", source=str(path), panel=panel)
    if suffix in (".csv", ".parquet"):
        frame, channels, _ = _read_long(path, cfg, labelled=False)
        frame = frame.drop(columns="split", errors="ignore")
    elif suffix == ".ts":
        frame = _read_ts(path, str(path))
        channels = [c for c in frame.columns if c not in ("instance_id", STEP, "label")]
    else:
        raise DataError(
            str(path),
            f"unknown file type {suffix or '(no extension)'!r} for panel instances",
            "give a .ts file or a long .csv/.parquet file (instance_id, step, channels...)",
        )
    values = frame[channels].to_numpy()
    if not np.isfinite(values).all():
        row, col = np.argwhere(~np.isfinite(values))[0]
        raise DataError(
            f"{path}, instance {frame['instance_id'].iloc[row]!r} step {frame[STEP].iloc[row]}",
            f"channel {channels[col]!r} holds {values[row, col]}",
            "fill or drop missing and infinite values",
        )
    return RawPanel(frame, channels, str(path), sha256_file(path), "carved")


def instance_arrays(raw: RawPanel, steps: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """[instances, steps, channels] values, [instances, steps] observed mask and the ids, in
    the file's order; longer instances are cut to ``steps``, shorter ones padded."""
    ids = list(raw.frame["instance_id"].drop_duplicates())
    values, observed = _to_array(raw, ids, steps, "zero")
    return values, observed, ids


# --------------------------------------------------------------------------- checks


def _check_values(raw: RawPanel) -> None:
    frame, where = raw.frame, raw.where
    values = frame[raw.channels]
    if frame.empty:
        raise DataError(where, "the panel has no rows", "supply at least two instances per class")
    inf = ~np.isfinite(values.to_numpy()) & values.notna().to_numpy()
    if inf.any():
        row, col = np.argwhere(inf)[0]
        raise DataError(
            f"{where}, instance {frame['instance_id'].iloc[row]!r}",
            f"channel {raw.channels[col]!r} holds {values.iloc[row, col]}",
            "replace infinite values by finite ones",
        )
    present = values.notna().groupby(frame["instance_id"], sort=False).any()
    counts = present.sum(axis=1)
    if counts.nunique() > 1:
        full = int(counts.max())
        short = counts[counts < full].index[0]
        have = [c for c in raw.channels if present.loc[short, c]]
        raise DataError(
            f"{where}, instance {short!r}",
            f"instances have different channel counts: this one has {len(have)} "
            f"({short_repr(have)}), others have {full}",
            "give every instance the same channels",
        )
    if values.isna().to_numpy().any():
        row = int(np.flatnonzero(values.isna().any(axis=1).to_numpy())[0])
        raise DataError(
            f"{where}, instance {frame['instance_id'].iloc[row]!r} step {frame[STEP].iloc[row]}",
            "missing value inside an instance",
            "fill or drop the missing values before ingesting",
        )
    labels_per = frame.groupby("instance_id", sort=False)["label"].nunique()
    if (labels_per > 1).any():
        raise DataError(
            f"{where}, instance {labels_per[labels_per > 1].index[0]!r}",
            "rows of one instance carry different labels",
            "give each instance one label",
        )
    classes = frame["label"].unique()
    if len(classes) < 2:
        raise DataError(
            f"{where}, label column",
            f"the label column has one class ({short_repr(str(classes[0]))}); classification "
            "needs at least two",
            "ingest a panel with two or more classes, or check data.panel.label_col",
        )


# --------------------------------------------------------------------------- shaping


def _lengths(raw: RawPanel, cfg: PanelConfig) -> tuple[pd.Series, int, dict[str, Any]]:
    lengths = raw.frame.groupby("instance_id", sort=False).size()
    lo, hi = int(lengths.min()), int(lengths.max())
    report: dict[str, Any] = {
        "policy": cfg.length,
        "min": lo,
        "max": hi,
        "median": float(lengths.median()),
    }
    if cfg.length == "refuse" and lo != hi:
        short = lengths.idxmin()
        raise DataError(
            f"{raw.where}, instance {short!r}",
            f"instances have different lengths ({lo}..{hi} steps; this one {lo})",
            "set data.panel.length: pad (or truncate) to make them equal",
        )
    target = cfg.target_length or (lo if cfg.length == "truncate" else hi)
    if cfg.length == "truncate" and lo < target:
        short = lengths.idxmin()
        raise DataError(
            f"{raw.where}, instance {short!r}",
            f"{lo} steps, shorter than data.panel.target_length={target}",
            "lower data.panel.target_length, or set data.panel.length: pad",
        )
    report.update(
        target=target,
        padded=int((lengths < target).sum()),
        truncated=int((lengths > target).sum()),
    )
    return lengths, target, report


def _to_array(raw: RawPanel, ids: list[str], target: int, pad_with: str) -> tuple:
    """[instances, target, channels] values and [instances, target] observed mask."""
    n, c = len(ids), len(raw.channels)
    values = np.zeros((n, target, c))
    observed = np.zeros((n, target), dtype=bool)
    groups = raw.frame.groupby("instance_id", sort=False)
    for i, key in enumerate(ids):
        block = groups.get_group(key)[raw.channels].to_numpy()[:target]  # [steps, channels]
        k = len(block)
        values[i, :k] = block
        observed[i, :k] = True
        if pad_with == "edge" and k < target:
            values[i, k:] = block[-1]
    return values, observed


def _stratified(ids: np.ndarray, labels: np.ndarray, size: float, seed: int, what: str, where: str):
    try:
        return train_test_split(ids, test_size=size, stratify=labels, random_state=seed)
    except ValueError as err:
        raise DataError(
            where,
            f"cannot carve the {what} split stratified by class ({err})",
            "supply at least two instances of every class (and more instances than "
            f"classes in the {what} share), or change data.panel.{what}_fraction",
        ) from None


def assign_splits(raw: RawPanel, cfg: PanelConfig) -> pd.Series:
    """instance_id -> train | val | test: the source's split kept, the rest carved stratified.

    Raises:
        DataError: a class too small to stratify, or test classes never seen in train.
    """
    first = raw.frame.groupby("instance_id", sort=False).first()
    ids, labels = first.index.to_numpy(), first["label"].to_numpy()
    if raw.split_source == "carved":
        _, test = _stratified(ids, labels, cfg.test_fraction, cfg.seed, "test", raw.where)
        split = pd.Series("train", index=first.index)
        split[test] = "test"
    else:
        split = first["split"].copy()
    unseen = sorted(set(labels[split == "test"]) - set(labels[split == "train"]))
    if unseen:
        raise DataError(
            raw.where,
            f"test classes never seen in train: {short_repr(unseen)}",
            "put instances of every class in train",
        )
    in_train = split == "train"
    _, val = _stratified(
        ids[in_train], labels[in_train], cfg.val_fraction, cfg.seed, "val", raw.where
    )
    split[val] = "val"
    return split


def canonical_panel(raw: RawPanel, cfg: DataConfig) -> tuple[pa.Table, PanelMeta]:
    """Validate, make equal-length, split: the canonical table and its metadata.

    Raises:
        DataError: any failed check (nothing is written by this function).
    """
    _check_values(raw)
    _, target, length_report = _lengths(raw, cfg.panel)
    split = assign_splits(raw, cfg.panel)
    order = np.argsort([SPLITS.index(s) for s in split.to_numpy()], kind="stable")
    ids = list(split.index[order])
    labels = raw.frame.groupby("instance_id", sort=False)["label"].first().loc[ids].to_numpy()
    values, observed = _to_array(raw, ids, target, cfg.panel.pad_with)
    n = len(ids)
    columns: dict[str, Any] = {
        "instance": np.repeat(np.arange(n, dtype=np.int64), target),
        "instance_id": np.repeat(np.asarray(ids, dtype=str), target),
        "split": np.repeat(split.loc[ids].to_numpy().astype(str), target),
        STEP: np.tile(np.arange(target, dtype=np.int64), n),
        "observed": observed.reshape(-1),
        **{c: values[:, :, j].reshape(-1) for j, c in enumerate(raw.channels)},
        "label": np.repeat(labels.astype(str), target),
    }
    table = pa.table(columns)
    splits = split.loc[ids].to_numpy()
    counts = {
        s: {
            str(k): int(v)
            for k, v in sorted(
                zip(*np.unique(labels[splits == s], return_counts=True), strict=True)
            )
        }
        for s in SPLITS
    }
    meta = PanelMeta(
        name=cfg.name,
        source=cfg.source,
        description=cfg.description,
        units={c: u for c, u in cfg.units.items() if c in raw.channels},
        channels=raw.channels,
        classes=sorted({str(x) for x in labels}),
        instances={s: int((splits == s).sum()) for s in SPLITS},
        class_counts=counts,
        steps=target,
        lengths=length_report,
        split_source=raw.split_source,
        val_fraction=cfg.panel.val_fraction,
        seed=cfg.panel.seed,
        rows=table.num_rows,
        source_sha256=raw.source_sha256,
    )
    return table, meta


# --------------------------------------------------------------------------- ingest / load


def ingest_panel(cfg: DataConfig, root: Path, remote: str | None = None) -> DatasetRef:
    """Validate a labelled panel and version it as ``data/<name>.parquet`` + ``.meta.json``.

    Raises:
        DataError: the source is unknown or fails a check (nothing is written), or DVC
            add/push failed (previous files restored).
    """
    table, meta = canonical_panel(read_panel(cfg, root), cfg)
    tmp_dir = root / ".dvc" / "tmp"
    tmp_dir.mkdir(exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix=f".{cfg.name}.", suffix=".parquet")
    os.close(fd)
    staged = Path(name)
    try:
        write_table(table, staged)
        meta = meta.model_copy(update={"content_sha256": sha256_file(staged)})
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return commit_dataset(
        root,
        cfg.data_dir,
        cfg.name,
        staged,
        meta,
        remote,
        timestamp_col=STEP,
        freq="",
        task="classify",
    )


def load_panel_meta(meta_path: str | Path) -> PanelMeta:
    """The metadata of a canonical panel.

    Raises:
        DataError: the file is missing (re-run ingest or ``dvc pull``).
    """
    path = Path(meta_path)
    if not path.is_file():
        raise DataError(str(path), "panel metadata not found", "run `tsalign ingest` or `dvc pull`")
    return PanelMeta.model_validate_json(path.read_text())


def load_panel(path: str | Path) -> Panel:
    """Read a canonical panel into arrays (see :class:`Panel`).

    Raises:
        DataError: the file is missing (re-run ingest or ``dvc pull``).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(str(path), "panel file not found", "run `tsalign ingest` or `dvc pull`")
    frame = pq.read_table(path).to_pandas()
    keys = {"instance", "instance_id", "split", STEP, "observed", "label"}
    channels = [c for c in frame.columns if c not in keys]
    n = int(frame["instance"].max()) + 1
    steps = len(frame) // n
    first = frame.iloc[::steps]
    return Panel(
        values=frame[channels].to_numpy().reshape(n, steps, len(channels)),
        observed=frame["observed"].to_numpy().reshape(n, steps),
        labels=first["label"].to_numpy().astype(str),
        splits=first["split"].to_numpy().astype(str),
        instance_ids=first["instance_id"].to_numpy().astype(str),
        channels=channels,
    )
