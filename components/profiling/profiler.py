"""profile_dataset: the three primitives, the recommendation and the written outputs.

Usage (what flows/profile.py does)::

    profile, ref = profile_dataset(frame, meta, cfg.profile, Path("outputs/vic_elec/profile"))
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

from tsalign.components.config import ProfileConfig
from tsalign.components.data.meta import TIMESTAMP, DatasetMeta
from tsalign.components.profiling.characteristic import profile_characteristics
from tsalign.components.profiling.domain import describe_interval, profile_domain
from tsalign.components.profiling.recommend import recommend
from tsalign.components.profiling.report import render_markdown, write_plots
from tsalign.components.profiling.representation import profile_representation, sampling
from tsalign.components.profiling.schema import CharacteristicProfile, Profile, ProfileError
from tsalign.components.refs import ProfileRef

PROFILE_FILE = "profile.json"
REPORT_FILE = "report.md"
PLOT_DIR = "plots"


def profile_dataset(
    frame: pd.DataFrame,
    meta: DatasetMeta,
    cfg: ProfileConfig,
    out_dir: Path,
    train_rows: tuple[int, int] | None = None,
    texts: pd.DataFrame | None = None,
) -> tuple[Profile, ProfileRef]:
    """Profile domain, characteristic and representation; recommend a paradigm; write outputs.

    Statistics run on the LAST ``cfg.max_points`` rows; STL and the tests run on shorter
    views that keep the periods right (see ``tsalign.components.profiling.characteristic``), so
    ~50k rows take about a second and 1M x 8 well under 30 s. The representation
    (missing share, gaps, ranges) covers the whole frame.

    Args:
        frame: canonical frame: a ``timestamp`` column plus one column per ``meta.channels``.
        meta: the dataset's metadata (targets are the forecast targets).
        cfg: profiling settings.
        out_dir: receives profile.json, report.md and plots/*.png (when ``cfg.plots``);
            files appear only when everything succeeded.
        train_rows: [start, end) rows of the training split (``split_borders(...).scaler``).
            Everything is fitted on these rows only: the profile sets the seasonal-naive
            period, the MASE season and the prompt text, so validation and test rows must not
            shape it. None profiles every row of ``frame`` (a frame already cut to training).
        texts: the dataset's time-stamped text (``load_texts``); its coverage of the
            ``cfg.input_len`` input windows goes into the domain primitive.

    Returns:
        (the Profile, a ProfileRef pointing at the written files).

    Raises:
        ProfileError: the frame does not match the metadata (missing timestamp/channel
            column, target not a channel, no rows); nothing is written.
    """
    started = time.perf_counter()
    _check(frame, meta)
    if train_rows is not None:
        frame = _training_part(frame, train_rows)
    channels = list(meta.channels)
    analysed = frame.iloc[-cfg.max_points :].reset_index(drop=True)
    # Single-threaded BLAS: the many small OLS fits (ADF, ARCH) are ~8x faster without
    # thread start-up, and the pipeline may run beside Ray workers.
    with threadpool_limits(limits=1):
        interval, _, _, _ = sampling(frame)
        domain = profile_domain(frame, meta, interval, texts, cfg.input_len)
        characteristic = profile_characteristics(analysed, channels, analysed[TIMESTAMP], cfg)
        period, reason = dataset_period(characteristic, meta.targets)
        if period is not None:
            span = describe_interval(period * interval) if interval else f"{period} steps"
            domain.domain_context += f" Main cycle: {period} steps ({span})."
        representation = profile_representation(frame, meta, cfg, period, domain.domain_context)
        recommendation = recommend(domain, characteristic, representation, list(meta.targets), cfg)
    profile = Profile(
        dataset=meta.name,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        elapsed_s=0.0,
        config=cfg.model_dump(),
        targets=list(meta.targets),
        domain=domain,
        characteristic=characteristic,
        representation=representation,
        recommendation=recommendation,
        period=period,
        period_reason=reason,
        fitted_rows=train_rows,
    )
    profile.elapsed_s = round(time.perf_counter() - started, 3)
    return profile, write_outputs(profile, analysed, cfg, Path(out_dir))


def dataset_period(
    characteristic: CharacteristicProfile, targets: list[str]
) -> tuple[int | None, str]:
    """The dataset's dominant period: the first target that has one, with where it came from."""
    reasons = []
    for name in targets:
        item = characteristic.channels.get(name)
        if item is None:
            continue
        if item.dominant_period is not None:
            return item.dominant_period, f"dominant period of target {name!r}"
        reasons.append(f"{name}: {item.not_computable.get('dominant_period', 'no period')}")
    return None, "; ".join(reasons) or "no target channel"


def write_outputs(
    profile: Profile, analysed: pd.DataFrame, cfg: ProfileConfig, out_dir: Path
) -> ProfileRef:
    """Write plots, report.md and profile.json atomically (staging dir + os.replace).

    profile.json is moved last: its presence means the whole profile is there.

    Returns:
        The ProfileRef.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".profile-staging-", dir=out_dir))
    try:
        plot_names: list[str] = []
        if cfg.plots:
            (staging / PLOT_DIR).mkdir()
            with threadpool_limits(limits=1):
                paths = write_plots(profile, analysed, staging / PLOT_DIR)
            plot_names = [f"{PLOT_DIR}/{p.name}" for p in paths]
        (staging / REPORT_FILE).write_text(render_markdown(profile, plot_names))
        (staging / PROFILE_FILE).write_text(profile.model_dump_json(indent=2))

        # Swap the plot directory whole, so no stale PNG from an earlier run survives.
        final_plots = out_dir / PLOT_DIR
        if final_plots.exists():
            trash = staging / "old-plots"
            os.replace(final_plots, trash)
        if cfg.plots:
            os.replace(staging / PLOT_DIR, final_plots)
        os.replace(staging / REPORT_FILE, out_dir / REPORT_FILE)
        os.replace(staging / PROFILE_FILE, out_dir / PROFILE_FILE)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    return ProfileRef(
        profile_path=str((out_dir / PROFILE_FILE).resolve()),
        report_path=str((out_dir / REPORT_FILE).resolve()),
        plot_paths=[str((out_dir / name).resolve()) for name in plot_names],
        dominant_period=profile.period,
        recommended_paradigm=profile.recommendation.paradigm,
        domain_context=profile.domain.domain_context,
    )


def _training_part(frame: pd.DataFrame, rows: tuple[int, int]) -> pd.DataFrame:
    start, end = rows
    if not 0 <= start < end <= len(frame):
        raise ProfileError(
            f"train_rows {rows} is not a row range of the {len(frame)}-row series; "
            "pass split_borders(len(frame), data_cfg).scaler"
        )
    return frame.iloc[start:end].reset_index(drop=True)


def _check(frame: pd.DataFrame, meta: DatasetMeta) -> None:
    """Refuse a frame that does not match its metadata, naming the column and the fix."""
    where = f"dataset {meta.name!r}"
    if TIMESTAMP not in frame.columns:
        raise ProfileError(
            f"{where}: the frame has no {TIMESTAMP!r} column (columns: {list(frame.columns)}); "
            "pass the canonical frame written by ingest (tsalign.components.data.load_frame)"
        )
    if len(frame) == 0:
        raise ProfileError(f"{where}: the frame has no rows; re-run ingest on a non-empty source")
    missing = [c for c in meta.channels if c not in frame.columns]
    if missing:
        raise ProfileError(
            f"{where}: meta.channels lists {missing} but the frame has no such column "
            f"(columns: {list(frame.columns)}); re-run ingest so data file and meta agree"
        )
    if not meta.channels:
        raise ProfileError(f"{where}: meta.channels is empty; ingest at least one value column")
    stray = [t for t in meta.targets if t not in meta.channels]
    if stray:
        raise ProfileError(
            f"{where}: targets {stray} are not channels {list(meta.channels)}; "
            "fix data.targets in the run config"
        )
