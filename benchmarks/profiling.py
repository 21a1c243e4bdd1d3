"""Profiling speed: tsalign's profile_dataset beside tsfresh's extract_features.

    python benchmarks/profiling.py                    # ETTh1 + 1M x 8 (a few minutes)
    python benchmarks/profiling.py --rows 200000      # quicker look at the large case
    python benchmarks/profiling.py --skip-efficient   # leave out tsfresh Efficient on 1M

Targets (issue 4): ETTh1 (17,420 x 7) under 2 s; 1,000,000 x 8 under 30 s.

Each case times, on the same frame and single-threaded (threadpoolctl limits BLAS to
one thread; tsfresh runs with n_jobs=0, i.e. in-process, so neither side gets more
cores than the other):

* tsalign core: ``profile_dataset`` with plots and token pricing off (the statistics);
* tsalign full: plots on (4 PNGs) and prompt pricing with the MiniLM tokenizer (loaded
  once beforehand, so the torch/transformers import is not counted);
* tsalign all points: core with ``max_points`` = all rows (the default caps the
  analysis at the last 200k points per channel);
* tsfresh ``extract_features`` with MinimalFCParameters and EfficientFCParameters.

It prints wall and CPU seconds and the tsfresh / tsalign CPU ratio (> 1: tsalign faster);
both sides are single-threaded, so CPU seconds stay fair on a shared, loaded machine.
tsfresh Efficient on 1M x 8 can take very long; the script then runs it on the last
``--efficient-cap`` rows per channel and says so instead of guessing a figure.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from tsalign.components.config import ProfileConfig
from tsalign.components.data.meta import TIMESTAMP, DatasetMeta
from tsalign.components.profiling import profile_dataset

ETTH1 = Path("/work/shared/data/ett/ETTh1.csv")


def etth1() -> tuple[pd.DataFrame, DatasetMeta]:
    frame = pd.read_csv(ETTH1).rename(columns={"date": TIMESTAMP})
    frame[TIMESTAMP] = pd.to_datetime(frame[TIMESTAMP])
    return frame, _meta(frame, "etth1", "h", ["OT"])


def synthetic(rows: int, channels: int = 8, seed: int = 0) -> tuple[pd.DataFrame, DatasetMeta]:
    """10-minute series: daily (144) and weekly (1008) cycles, trend, AR(1) noise, outliers."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows, dtype=float)
    data = {TIMESTAMP: pd.date_range("2000-01-01", periods=rows, freq="10min")}
    for c in range(channels):
        noise = rng.standard_normal(rows)
        # AR(1) noise via a cumulative filter: x_t = 0.7 x_{t-1} + e_t.
        ar = pd.Series(noise).ewm(alpha=0.3, adjust=False).mean().to_numpy() * 3
        x = (
            10 * np.sin(2 * np.pi * t / 144 + c)
            + 4 * np.sin(2 * np.pi * t / 1008)
            + 1e-5 * (c + 1) * t
            + ar
        )
        spikes = rng.choice(rows, size=rows // 1000, replace=False)
        x[spikes] += rng.choice([-1, 1], size=len(spikes)) * 40
        data[f"ch{c}"] = x.astype(np.float32).astype(float)
    frame = pd.DataFrame(data)
    return frame, _meta(frame, f"synthetic_{rows}x{channels}", "10min", ["ch0"])


def _meta(frame: pd.DataFrame, name: str, freq: str, targets: list[str]) -> DatasetMeta:
    return DatasetMeta(
        name=name,
        source=name,
        channels=[c for c in frame.columns if c != TIMESTAMP],
        targets=targets,
        freq=freq,
        rows=len(frame),
        start=str(frame[TIMESTAMP].iloc[0]),
        end=str(frame[TIMESTAMP].iloc[-1]),
    )


class Timing:
    """Wall and CPU seconds of one run. Both sides are single-threaded, so on a shared,
    loaded machine CPU seconds are the fair figure; wall seconds are what a user waits."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Timing:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu

    def __str__(self) -> str:
        return f"{self.wall:7.2f} {self.cpu:7.2f}"


def time_tsalign(frame: pd.DataFrame, meta: DatasetMeta, cfg: ProfileConfig) -> Timing:
    with tempfile.TemporaryDirectory() as out, Timing() as timing:
        profile_dataset(frame, meta, cfg, Path(out))
    return timing


def time_tsfresh(frame: pd.DataFrame, params: str) -> Timing:
    from tsfresh import extract_features
    from tsfresh.feature_extraction import EfficientFCParameters, MinimalFCParameters

    settings = MinimalFCParameters() if params == "minimal" else EfficientFCParameters()
    wide = frame.drop(columns=[TIMESTAMP]).assign(id=0, time=np.arange(len(frame)))
    with warnings.catch_warnings(), Timing() as timing:
        warnings.simplefilter("ignore")  # tsfresh's own RuntimeWarnings on degenerate features
        extract_features(
            wide,
            column_id="id",
            column_sort="time",
            default_fc_parameters=settings,
            n_jobs=0,
            disable_progressbar=True,
        )
    return timing


def run_case(
    name: str,
    frame: pd.DataFrame,
    meta: DatasetMeta,
    target_s: float,
    efficient_cap: int | None,
    skip_efficient: bool,
) -> list[tuple[str, Timing | str, str]]:
    core_cfg = ProfileConfig(tokenizer=None, plots=False)
    core = time_tsalign(frame, meta, core_cfg)
    full = time_tsalign(frame, meta, ProfileConfig())
    all_cfg = ProfileConfig(tokenizer=None, plots=False, max_points=max(100, len(frame)))
    all_points = time_tsalign(frame, meta, all_cfg)
    met = "met" if core.cpu < target_s else "MISSED"
    rows: list[tuple[str, Timing | str, str]] = [
        (f"{name}: tsalign core", core, f"target < {target_s:g} s (cpu): {met}"),
        (f"{name}: tsalign full (plots+tokens)", full, ""),
        (f"{name}: tsalign core, all {len(frame)} points", all_points, ""),
    ]
    minimal = time_tsfresh(frame, "minimal")
    rows.append(
        (f"{name}: tsfresh Minimal", minimal, f"tsfresh/tsalign cpu {minimal.cpu / core.cpu:.2f}")
    )
    if skip_efficient:
        rows.append((f"{name}: tsfresh Efficient", "skipped", "--skip-efficient"))
    elif efficient_cap is not None and len(frame) > efficient_cap:
        sub = frame.iloc[-efficient_cap:].reset_index(drop=True)
        eff = time_tsfresh(sub, "efficient")
        core_sub = time_tsalign(sub, meta.model_copy(update={"rows": len(sub)}), core_cfg)
        rows.append((f"{name}: tsalign core, last {efficient_cap} rows", core_sub, ""))
        rows.append(
            (
                f"{name}: tsfresh Efficient, last {efficient_cap} rows",
                eff,
                f"tsfresh/tsalign cpu on the same rows {eff.cpu / core_sub.cpu:.1f}",
            )
        )
    else:
        eff = time_tsfresh(frame, "efficient")
        rows.append(
            (f"{name}: tsfresh Efficient", eff, f"tsfresh/tsalign cpu {eff.cpu / core.cpu:.1f}")
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the large case")
    parser.add_argument(
        "--efficient-cap",
        type=int,
        default=100_000,
        help="tsfresh Efficient on the large case runs on this many last rows",
    )
    parser.add_argument("--skip-efficient", action="store_true")
    args = parser.parse_args()

    # Warm-up: imports (statsmodels, matplotlib, transformers for the tokenizer) are not timed.
    frame, meta = synthetic(5000, 2)
    time_tsalign(frame, meta, ProfileConfig())

    results = run_case(
        "ETTh1 17420x7", *etth1(), target_s=2.0, efficient_cap=None, skip_efficient=False
    )
    big, big_meta = synthetic(args.rows)
    results += run_case(
        f"synthetic {args.rows}x8",
        big,
        big_meta,
        target_s=30.0,
        efficient_cap=args.efficient_cap,
        skip_efficient=args.skip_efficient,
    )
    width = max(len(r[0]) for r in results)
    print(f"{'case':<{width}}     wall     cpu  note")
    for case, timing, note in results:
        print(f"{case:<{width}}  {timing!s:>15}  {note}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
