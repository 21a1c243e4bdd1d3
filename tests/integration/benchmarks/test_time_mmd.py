"""benchmarks/time_mmd.py runs end to end on a tiny Time-MMD-shaped domain.

A synthetic Energy folder (weekly numbers, report texts that start late in the test split)
keeps the run to one model, two fusions, one seed and one epoch: this checks that the
script works and counts what it claims to count, not how well text helps.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "benchmarks" / "time_mmd.py"
ROWS, FIRST_TEXT_ROW, LAG = 700, 640, pd.Timedelta("14D")  # the script's Energy lag
SEQ_LEN, HORIZON = 24, 12


def write_energy(root: Path) -> pd.DatetimeIndex:
    """Energy.csv (Mondays, OT) and Energy_report.csv (Mon-Fri texts from FIRST_TEXT_ROW)."""
    folder = root / "Energy"
    folder.mkdir(parents=True)
    dates = pd.date_range("2005-01-03", periods=ROWS, freq="7D")
    t = np.arange(ROWS)
    ot = 2 + np.sin(2 * np.pi * t / 52) + 0.05 * np.random.default_rng(0).standard_normal(ROWS)
    pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "OT": ot.round(4),
            "start_date": dates,
            "end_date": dates + pd.Timedelta("6D"),
        }
    ).to_csv(folder / "Energy.csv", index=False)
    starts = dates[FIRST_TEXT_ROW:]
    pd.DataFrame(
        {
            "start_date": starts.strftime("%Y-%m-%d"),
            "end_date": (starts + pd.Timedelta("4D")).strftime("%Y-%m-%d"),
            "fact": [
                f"Prices moved {'up' if v > 2 else 'down'} this week." for v in ot[FIRST_TEXT_ROW:]
            ],
            "preds": "NA",
        }
    ).to_csv(folder / "Energy_report.csv")
    return dates


def test_one_domain_one_model_writes_changes_and_counts_windows_without_text(tmp_path: Path):
    dates = write_energy(tmp_path / "time-mmd")
    out = tmp_path / "results" / "time_mmd"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    args = ["--domains", "Energy", "--models", "dlinear", "--fusions", "none", "add"]
    args += ["--seeds", "0", "--epochs", "1", "--data-root", str(tmp_path / "time-mmd")]
    args += ["--cache-dir", str(tmp_path / "cache"), "--workdir", str(tmp_path / "work")]
    args += ["--out", str(out)]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert done.returncode == 0, done.stderr[-3000:]

    report = json.loads(out.with_suffix(".json").read_text())
    (domain,) = report["domains"]
    assert domain["domain"] == "Energy" and (domain["seq_len"], domain["horizon"]) == (24, 12)
    assert domain["texts"] == ROWS - FIRST_TEXT_ROW  # `preds` is NA: one text per row
    # Test windows: 20% of the rows, each window's forecast origin one step apart.
    n_test = int(ROWS * 0.2)
    assert domain["test_windows"] == n_test - HORIZON + 1
    origins = dates[ROWS - n_test : ROWS - HORIZON + 1]
    first_end = dates[FIRST_TEXT_ROW] + pd.Timedelta("4D")
    assert domain["test_windows_without_text"] == int((origins <= first_end + LAG).sum())
    assert 0 < domain["test_windows_without_text"] < domain["test_windows"]

    (change,) = domain["changes"]
    assert (change["model"], change["fusion"]) == ("dlinear", "add")
    est, low, high = change["relative"]
    assert low <= est <= high
    assert est == pytest.approx(change["mse_text"] / change["mse_none"] - 1, rel=1e-3)
    assert {(r["fusion"], r["seed"]) for r in domain["runs"]} == {("none", 0), ("add", 0)}
    assert report["average"][0]["fusion"] == "add"
    table = out.with_suffix(".md").read_text()
    assert "| Energy | weekly | 24/12 | 14D | 0 |" in table

    # --merge recombines parts run in parallel (here one part): the same figures. It only
    # reads JSON, so it runs in this process (one import of torch, not three).
    script = load_script()
    merged = tmp_path / "merged" / "time_mmd"
    settings = args[args.index("--models") : args.index("--data-root")]
    part = str(out.with_suffix(".json"))
    assert script.main([*settings, "--merge", part, "--out", str(merged)]) == 0
    # the per-window errors are kept to float32's 7 digits: the same tables, near-equal figures
    tables = [path.with_suffix(".md").read_text().split("| domain |")[1] for path in (out, merged)]
    assert tables[0] == tables[1]
    again = json.loads(merged.with_suffix(".json").read_text())
    assert again["average"][0]["relative"] == pytest.approx(
        report["average"][0]["relative"], abs=1e-6
    )
    with pytest.raises(SystemExit, match="other epochs"):
        script.main([*settings, "--epochs", "2", "--merge", part, "--out", str(merged)])
    with pytest.raises(SystemExit, match="seed 0 of Energy is in two merged files"):
        script.main([*settings, "--merge", part, part, "--out", str(merged)])


def load_script() -> ModuleType:
    """benchmarks/time_mmd.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("time_mmd_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
