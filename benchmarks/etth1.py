"""ETTh1 on the published long-horizon protocol, beside the papers' figures.

Run (from the project root; ETTh1 is read from ../shared/data/ett/ETTh1.csv):

    python benchmarks/etth1.py --setting fewshot              # 10% train, H=96 (CPU: tens of minutes)
    python benchmarks/etth1.py --setting full --horizons 96 192 336 720   # GPU machine
    python benchmarks/etth1.py --setting full --horizons 96 --epochs 1 --max-train-windows 2048  # CPU, reduced

Every model is trained through the platform itself (Ray Train + DeepSpeed,
the same launcher as ``tsalign train``) on the canonical, DVC-versioned ETTh1,
and all of them are scored by the evaluation stage on the same test windows
(2785 at H=96, none dropped). Results go to benchmarks/results/etth1_<setting>.{md,json}
and are written after every model, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tsalign.components.config import (  # noqa: E402
    DataConfig,
    EvalConfig,
    ModelConfig,
    ProfileConfig,
    TrainConfig,
    WindowConfig,
)
from tsalign.components.data import ensure_dvc_project, ingest, load_frame, load_meta  # noqa: E402
from tsalign.components.data.splits import split_borders  # noqa: E402
from tsalign.components.evaluation.runner import evaluate  # noqa: E402
from tsalign.components.models import model_spec  # noqa: E402
from tsalign.components.profiling import profile_dataset  # noqa: E402
from tsalign.components.training.job import TrainJob  # noqa: E402
from tsalign.components.training.launcher import launch_training, new_run_name  # noqa: E402

ETTH1 = REPO.parent / "shared" / "data" / "ett" / "ETTh1.csv"
RESULTS = REPO / "benchmarks" / "results"

# Published MSE / MAE on this protocol (input 336 for GPT4TS/PatchTST/DLinear as compared in the
# GPT4TS paper; Time-LLM used input 512). Figures as listed in ../shared/data/ett/README.md.
CITATIONS = {
    "Time-LLM": "Jin et al., Time-LLM, ICLR 2024 — long-term forecasting table (full data) and "
    "few-shot 10% table; LLaMA-7B backbone, input 512",
    "GPT4TS": "Zhou et al., One Fits All (GPT4TS), NeurIPS 2023 — long-term forecasting table and "
    "few-shot 10% table; GPT-2 (6 layers), input 336",
    "PatchTST": "Nie et al., PatchTST, ICLR 2023 — multivariate long-term table (PatchTST/42 row "
    "as compared by GPT4TS); few-shot figure from the GPT4TS few-shot table",
    "DLinear": "Zeng et al., DLinear, AAAI 2023 — multivariate long-term table; few-shot figure "
    "from the GPT4TS few-shot table",
}
PUBLISHED = {
    "full": {
        "Time-LLM": {
            96: (0.362, 0.392),
            192: (0.398, 0.418),
            336: (0.430, 0.427),
            720: (0.442, 0.457),
        },
        "GPT4TS": {
            96: (0.376, 0.397),
            192: (0.416, 0.418),
            336: (0.442, 0.433),
            720: (0.477, 0.456),
        },
        "PatchTST": {
            96: (0.370, 0.399),
            192: (0.413, 0.421),
            336: (0.422, 0.436),
            720: (0.447, 0.466),
        },
        "DLinear": {
            96: (0.375, 0.399),
            192: (0.405, 0.416),
            336: (0.439, 0.448),
            720: (0.472, 0.490),
        },
    },
    "fewshot": {
        "Time-LLM": {
            96: (0.448, 0.460),
            192: (0.484, 0.483),
            336: (0.589, 0.540),
            720: (0.700, 0.604),
        },
        "GPT4TS": {
            96: (0.458, 0.456),
            192: (0.570, 0.516),
            336: (0.608, 0.535),
            720: (0.725, 0.591),
        },
        "PatchTST": {
            96: (0.516, 0.485),
            192: (0.598, 0.524),
            336: (0.657, 0.550),
            720: (0.762, 0.610),
        },
        "DLinear": {
            96: (0.492, 0.495),
            192: (0.565, 0.538),
            336: (0.721, 0.622),
            720: (0.986, 0.743),
        },
    },
}
# Which published row each of our models is compared with.
COUNTERPART = {
    "gpt4ts": "GPT4TS",
    "timellm": "Time-LLM",
    "patchtst": "PatchTST",
    "dlinear": "DLinear",
}
DEFAULT_MODELS = ["dlinear", "patchtst", "gpt4ts_wo_llm", "gpt4ts", "timellm"]
LEARNING_RATES = {"dlinear": 5e-3, "patchtst": 1e-3, "patchtst_compact": 1e-3}
PATIENCE = 2  # epochs without validation improvement (tsalign's default is 3)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--setting", choices=["fewshot", "full"], default="fewshot")
    parser.add_argument("--horizons", type=int, nargs="+", default=[96])
    parser.add_argument("--seq-len", type=int, default=336)
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n-layers", type=int, default=3, help="MiniLM blocks kept (of 6).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train-windows", type=int, default=None)
    parser.add_argument("--max-val-windows", type=int, default=512)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--use-gpu", action="store_true")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="Scratch project (default: a temp dir)."
    )
    return parser.parse_args()


def model_config(args: argparse.Namespace, name: str) -> ModelConfig:
    """The model section each benchmark candidate trains with."""
    return ModelConfig(name=name, n_layers=args.n_layers)


def train_config(args: argparse.Namespace, name: str, storage: Path) -> TrainConfig:
    """The train section each benchmark candidate trains with."""
    return TrainConfig(
        num_workers=args.workers,
        device="cuda" if args.use_gpu else "cpu",
        cpus_per_worker=max(1, (os.cpu_count() or 2) // args.workers),
        deepspeed_preset="zero2" if args.workers > 1 else "zero0",
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=LEARNING_RATES.get(name, 1e-3),
        max_train_windows=args.max_train_windows,
        max_val_windows=args.max_val_windows,
        storage_path=str(storage),
        patience=PATIENCE,
    )


def differing_settings(args: argparse.Namespace) -> str:
    """Every model/train setting that differs from tsalign's defaults, shared ones first."""
    per_model: dict[str, set[str]] = {}
    for name in args.models:
        ours = {
            **_prefixed("model", model_config(args, name), ModelConfig(name=name)),
            **_prefixed("train", train_config(args, name, Path("runs")), TrainConfig()),
        }
        per_model[name] = {f"{k}={v}" for k, v in ours.items()}
    shared = set.intersection(*per_model.values()) if per_model else set()
    parts = [f"all models: {', '.join(sorted(shared)) or 'none'}"]
    parts += [f"{n}: {', '.join(sorted(d - shared))}" for n, d in per_model.items() if d - shared]
    return "; ".join(parts)


def _prefixed(
    section: str, ours: ModelConfig | TrainConfig, default: ModelConfig | TrainConfig
) -> dict:
    base = default.model_dump()
    return {
        f"{section}.{k}": v
        for k, v in ours.model_dump().items()
        if k not in {"storage_path", "name"} and v != base[k]
    }


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="tsalign-etth1-"))
    ensure_dvc_project(work)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"etth1_{args.setting}"
    rows: list[dict] = []
    for horizon in args.horizons:
        data_cfg = DataConfig(
            name="etth1",
            source="etth1",
            local_copy=str(ETTH1),
            split="ett_hour",
            train_fraction=0.1 if args.setting == "fewshot" else 1.0,
            window=WindowConfig(seq_len=args.seq_len, horizon=horizon),
        )
        dataset = ingest(data_cfg, work)
        frame = load_frame(dataset.path)
        profile, profile_ref = profile_dataset(
            frame,
            load_meta(dataset.path),
            ProfileConfig(plots=False),
            work / "profile",
            split_borders(len(frame), data_cfg).scaler,
        )
        protocol = data_cfg.protocol()
        spec = model_spec(dataset, protocol.window, profile_ref)
        for index, name in enumerate(args.models):
            model_cfg = model_config(args, name)
            train_cfg = train_config(args, name, work / "runs")
            t0 = time.perf_counter()
            job = TrainJob(dataset, protocol, model_cfg, train_cfg, spec, new_run_name(name))
            result = launch_training(job)
            train_s = time.perf_counter() - t0
            report = evaluate(
                dataset.path,
                protocol,
                EvalConfig(baselines=["seasonal_naive"] if index == 0 else []),
                {name: result.checkpoint_uri},
                spec,
                work / "eval" / str(horizon) / name,
                recommended_paradigm=profile.recommendation.paradigm,
                curves={name: result.curves},
                context={
                    "data_md5": dataset.md5,
                    "benchmark": {k: str(v) for k, v in vars(args).items()},
                },
            )
            rows += [
                {
                    "horizon": horizon,
                    "model": m,
                    **v,
                    "train_s": train_s if m == name else None,
                    "test_windows": report.test_windows,
                }
                for m, v in report.metrics.items()
            ]
            write_results(stem, args, rows, time.perf_counter() - started)
            print(
                f"H={horizon} {name}: mse {report.metrics[name]['mse']:.4f} "
                f"mae {report.metrics[name]['mae']:.4f} (train {train_s:.0f}s)",
                flush=True,
            )
    print(f"wrote {stem}.md in {time.perf_counter() - started:.0f}s", flush=True)


def write_results(stem: Path, args: argparse.Namespace, rows: list[dict], wall_s: float) -> None:
    """Markdown table (ours beside published) + JSON of every figure."""
    setting = "few-shot 10%" if args.setting == "fewshot" else "full data"
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, {'GPU' if args.use_gpu else 'CPU only'}"
    )
    lines = [
        f"## ETTh1, {setting}, input {args.seq_len} (MSE / MAE, standardised)",
        "",
        f"Measured by `{' '.join(['python', 'benchmarks/etth1.py', *sys.argv[1:]])}` on {machine}; "
        f"wall time {wall_s / 60:.1f} min; test windows per horizon: "
        f"{sorted({(r['horizon'], r['test_windows']) for r in rows})} (none dropped). "
        f"Backbone: all-MiniLM-L6-v2 (22M parameters) truncated to {args.n_layers} blocks, "
        f"{args.epochs} epoch(s), batch {args.batch_size}"
        + (f", at most {args.max_train_windows} training windows" if args.max_train_windows else "")
        + ".",
        "",
        f"Validation: at most {args.max_val_windows} evenly spaced windows per epoch "
        "(`train.max_val_windows`; the papers validate on every window). Settings that differ "
        f"from tsalign's defaults: {differing_settings(args)}.",
        "",
        "| H | model | ours MSE | ours MAE | published MSE | published MAE | published by |",
        "| ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in sorted(rows, key=lambda r: (r["horizon"], r["mse"])):
        paper = COUNTERPART.get(row["model"])
        pub = PUBLISHED[args.setting].get(paper, {}).get(row["horizon"]) if paper else None
        pub_cells = f"{pub[0]:.3f} | {pub[1]:.3f} | {paper}" if pub else "— | — | —"
        lines.append(
            f"| {row['horizon']} | {row['model']} | {row['mse']:.3f} | {row['mae']:.3f} | {pub_cells} |"
        )
    lines += ["", "Published figures:"] + [f"- {k}: {v}" for k, v in CITATIONS.items()]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    stem.with_suffix(".json").write_text(
        json.dumps(
            {"args": {k: str(v) for k, v in vars(args).items()}, "wall_s": wall_s, "rows": rows},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
