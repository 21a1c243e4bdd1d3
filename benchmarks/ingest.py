"""Ingest throughput and peak memory on a generated 10-million-row, 8-channel CSV.

    python benchmarks/ingest.py                 # 10M rows (about 1 GB of CSV, ~1 min)
    python benchmarks/ingest.py --rows 1000000  # quicker look
    python benchmarks/ingest.py --with-dvc      # also time `dvc add` + push into a temp project

Measures parse + validate + canonical Parquet write (``ingest.stage_canonical``,
which streams large clean files block by block) in a fresh child process, so the peak resident set
size (ru_maxrss) belongs to that work alone, and prints rows/s, peak RSS and the
ratio of peak RSS to the Parquet size. Targets (issue 3): >= 1M rows/s and peak
memory < 3x the Parquet size.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

CHANNELS = 8


def generate(path: Path, rows: int, seed: int = 0, block: int = 1_000_000) -> None:
    """Write a minutely CSV: ISO timestamp + 8 random-walk channels with 3 decimals."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2000-01-01T00:00:00", "s")
    level = np.zeros(CHANNELS)
    with open(path, "wb") as sink:
        for offset in range(0, rows, block):
            n = min(block, rows - offset)
            ts = start + np.arange(offset, offset + n).astype("timedelta64[m]")
            steps = rng.normal(0.0, 1.0, size=(n, CHANNELS))
            walk = np.round(level + np.cumsum(steps, axis=0), 3)
            level = walk[-1]
            table = pa.table(
                {"timestamp": pa.array(ts), **{f"ch{i}": walk[:, i] for i in range(CHANNELS)}}
            )
            pacsv.write_csv(
                table, sink, write_options=pacsv.WriteOptions(include_header=offset == 0)
            )


def measure(csv: Path, out_dir: Path, with_dvc: bool) -> dict:
    """Runs in the child process: ingest the CSV and report timings and peak RSS."""
    from tsalign.components.config import DataConfig
    from tsalign.components.data.ingest import stage_canonical
    from tsalign.components.data.sources import resolve_source

    cfg = DataConfig(name="bench", source=str(csv), freq="min")
    t0 = time.perf_counter()
    with resolve_source(cfg, out_dir) as src:
        canon, staged = stage_canonical(src, cfg, out_dir)  # parse + validate + write
    t1 = time.perf_counter()
    parquet = staged.rename(out_dir / "bench.parquet")
    result = {
        "rows": canon.rows,
        "channels": len(canon.channels),
        "streamed": canon.streamed,
        "total_s": t1 - t0,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "parquet_bytes": parquet.stat().st_size,
    }
    if with_dvc:
        from tsalign.components.data import ensure_dvc_project
        from tsalign.components.data.versioning import add_and_push

        root = out_dir / "proj"
        ensure_dvc_project(root, git=False)
        (root / "data").mkdir()
        parquet.rename(root / "data" / "bench.parquet")
        t3 = time.perf_counter()
        add_and_push(root)
        result["dvc_add_push_s"] = time.perf_counter() - t3
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--with-dvc", action="store_true")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="Where the CSV goes (temp dir by default)."
    )
    parser.add_argument("--child", nargs=2, metavar=("CSV", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), Path(args.child[1]), args.with_dvc)))
        return

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        csv = work / "bench.csv"
        t = time.perf_counter()
        generate(csv, args.rows)
        print(
            f"generated {args.rows:,} rows x {CHANNELS} channels: {csv.stat().st_size / 1e9:.2f} GB CSV in {time.perf_counter() - t:.1f} s"
        )
        cmd = [sys.executable, __file__, "--child", str(csv), str(work)] + (
            ["--with-dvc"] if args.with_dvc else []
        )
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(done.stderr)
        r = json.loads(done.stdout.strip().splitlines()[-1])
    rate = r["rows"] / r["total_s"]
    ratio = r["peak_rss_bytes"] / r["parquet_bytes"]
    print(f"rows                 {r['rows']:,} x {r['channels']} channels")
    print(
        f"parse+validate+write {r['total_s']:.2f} s ({'streamed' if r['streamed'] else 'in memory'})"
    )
    print(
        f"throughput           {rate / 1e6:.2f} M rows/s (parse + validate + write; target >= 1.0)"
    )
    print(f"peak RSS             {r['peak_rss_bytes'] / 2**20:,.0f} MiB")
    print(f"parquet size         {r['parquet_bytes'] / 2**20:,.0f} MiB")
    print(f"peak RSS / parquet   {ratio:.2f}x (target < 3)")
    if "dvc_add_push_s" in r:
        print(f"dvc add + push       {r['dvc_add_push_s']:.2f} s")


if __name__ == "__main__":
    main()
