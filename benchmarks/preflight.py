"""How fast a config naming an unknown model is refused.

Run: python benchmarks/preflight.py [--repeats 3] [--name gpt4tz]

Times (1) ``tsalign run model.name=<typo>`` end to end as a subprocess in an empty temporary
directory (interpreter start, CLI import, config load, catalogue check, exit 1) and (2) the
catalogue check alone, :func:`tsalign.components.preflight.catalogue_problems` on a loaded config,
in a fresh interpreter so the first call's imports are counted. Prints the median of
``--repeats`` runs of each and whether the check imported torch.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK_ONLY = """
import sys, time
from tsalign.components.config import load_config
cfg = load_config(None, ["model.name={name}"])
start = time.perf_counter()
from tsalign.components.preflight import catalogue_problems
problems = catalogue_problems(cfg)
print(time.perf_counter() - start, "torch" in sys.modules, len(problems))
"""


def time_cli(name: str, workdir: Path) -> float:
    """Seconds for ``tsalign run model.name=<name>``; it must exit 1 and write nothing."""
    tsalign = shutil.which("tsalign") or "tsalign"
    env = {**os.environ, "TSALIGN_LOG_FILE": str(workdir / "tsalign.log")}
    start = time.perf_counter()
    done = subprocess.run(
        [tsalign, "run", f"model.name={name}"], cwd=workdir, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 1 or "not in the catalogue" not in done.stdout + done.stderr:
        raise SystemExit(f"unexpected result (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    written = [p.name for p in workdir.iterdir() if p.name != "tsalign.log"]
    if written:
        raise SystemExit(f"the refused run wrote {written}")
    return elapsed


def time_check(name: str) -> tuple[float, bool]:
    """Seconds for the first catalogue check in a fresh interpreter, and whether torch loaded."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CHECK_ONLY.format(name=name)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, torch_loaded, n_problems = done.stdout.split()
    if int(n_problems) != 1:
        raise SystemExit(f"expected one problem for {name!r}, got {n_problems}")
    return float(seconds), torch_loaded == "True"


def main() -> None:
    """Print the median wall time of the CLI refusal and of the check alone."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--name", default="gpt4tz", help="the misspelt model.name")
    args = parser.parse_args()

    cli, check, torch_loaded = [], [], set()
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            cli.append(time_cli(args.name, Path(tmp)))
        seconds, loaded = time_check(args.name)
        check.append(seconds)
        torch_loaded.add(loaded)
    print(
        f"tsalign run model.name={args.name}: median {statistics.median(cli):.2f} s "
        f"over {args.repeats} runs (min {min(cli):.2f}, max {max(cli):.2f})"
    )
    print(
        f"catalogue_problems alone (first call): median {statistics.median(check) * 1000:.1f} ms; "
        f"torch imported: {sorted(torch_loaded)}"
    )


if __name__ == "__main__":
    main()
