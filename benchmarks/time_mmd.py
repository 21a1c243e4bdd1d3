"""Time-MMD: does a window's text lower the forecast error? Five domains, leakage-free.

Run (from the project root; Time-MMD is read from ../shared/data/time-mmd/):

    nice -n 10 python benchmarks/time_mmd.py                      # the full grid, ~1 h on 2 cores
    python benchmarks/time_mmd.py --domains Energy --models dlinear --seeds 0   # one slice

Each domain's numbers and report texts are ingested by the platform (``ingest``: messy CSV
settings, canonical Parquet and text Parquet under DVC), each distinct text is embedded
once by the frozen MiniLM encoder (``TextEmbeddingCache``), and each window sees only the
texts whose end date plus the domain's lag is before its forecast origin
(``data.align``). Every (model, seed) is trained without text and with each fusion
(``model.params.text_fusion``) by the platform's training recipe, in this process
(DeepSpeed engine, one CPU rank, no Ray cluster per run); the epoch with the lowest
validation MSE is kept. All runs of a domain are scored on the same test windows; the
change from adding text is ``MSE(fused) - MSE(none)`` of the same model over the same
seeds, with a 95% paired block-bootstrap interval (``evaluation.intervals``).

Results go to benchmarks/results/time_mmd.{md,json} (``--out`` to change) and are
rewritten after every domain, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import socket
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DS_ACCELERATOR", "cpu")  # before deepspeed is imported

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tsalign.components.config import (  # noqa: E402
    DataConfig,
    ModelConfig,
    TrainConfig,
    WindowConfig,
)
from tsalign.components.data import ensure_dvc_project, ingest  # noqa: E402
from tsalign.components.data.protocol import load_protocol  # noqa: E402
from tsalign.components.data.text_features import WindowTexts, prepare_window_texts  # noqa: E402
from tsalign.components.data.windows import with_texts  # noqa: E402
from tsalign.components.evaluation.intervals import (  # noqa: E402
    CONFIDENCE,
    MIN_BLOCKS,
    RESAMPLES,
    block_means,
    paired_interval,
    text_verdict,
)
from tsalign.components.evaluation.runner import (  # noqa: E402
    block_windows,
    targets_of,
    test_windows,
    windows_without_text,
)
from tsalign.components.inference.batch import predict_windows  # noqa: E402
from tsalign.components.models import ModelSpec, model_spec  # noqa: E402
from tsalign.components.models.fusion import FUSIONS  # noqa: E402
from tsalign.components.refs import DatasetRef  # noqa: E402
from tsalign.components.training.deepspeed_config import check_preset  # noqa: E402
from tsalign.components.training.recipe import (  # noqa: E402
    RecipeConfig,
    TrainingRecipe,
    _distributed_env,
)

DATA = REPO.parent / "shared" / "data" / "time-mmd"
RESULTS = REPO / "benchmarks" / "results"
MODELS = ("dlinear", "patchtst", "gpt4ts")
SEEDS = (0, 1, 2)
LEARNING_RATES = {"dlinear": 5e-3}  # the others train at tsalign's 1e-3, as in etth1.py


PerSeed = dict[str, dict[int, dict[tuple[str, str], np.ndarray]]]
"""domain -> finished seed -> (model, fusion) -> per-window test MSE."""


@dataclass(frozen=True)
class Domain:
    """How one Time-MMD domain is read and aligned.

    ``lag``: a text is seen by a window only when ``end + lag`` is before the forecast
    origin. It is the smallest span (weeks for weekly series) that keeps every text whose
    content quotes a later date than its ``end_date`` out of the windows forecasting that
    date (see the README's Time-MMD section for what each domain's texts quote).
    """

    name: str
    weekly: bool
    lag: str
    ingest: dict[str, Any]

    @property
    def window(self) -> WindowConfig:
        """MM-TSFlib's input and the issue's horizon: weekly 24 -> 12, monthly 8 -> 6."""
        return (
            WindowConfig(seq_len=24, horizon=12)
            if self.weekly
            else WindowConfig(seq_len=8, horizon=6)
        )


DOMAINS = {
    d.name: d
    for d in (
        # Weekly/daily market reports with point dates; none quotes a later date.
        Domain("Agriculture", weekly=False, lag="0s", ingest={}),
        # Monthly climate reports; dates after the end are outlooks (forecasts), not facts.
        Domain("Climate", weekly=True, lag="0s", ingest={"sort": True}),
        # Monthly trade reports on that month (a few misprint the year); rows newest-first.
        Domain("Economy", weekly=False, lag="0s", ingest={"sort": True}),
        # Weekly price reports quote the next Monday's price, up to 10 days after end_date.
        Domain("Energy", weekly=True, lag="14D", ingest={}),
        # Weekly flu reports, plus a few season summaries spanning a year that quote the
        # months after their end_date (up to 274 days). The date column repeats a week and
        # skips one at five year ends (as in components/data/README.md).
        Domain(
            "Health_US",
            weekly=True,
            lag="280D",
            ingest={"na_values": ["X"], "duplicates": "last", "missing": "interpolate"},
        ),
    )
}


def data_config(domain: Domain, root: Path, last: int) -> DataConfig:
    """The ``data:`` section of one domain: target OT, its report texts, 70/10/20."""
    key = domain.name
    return DataConfig(
        name=f"time-mmd-{key.lower().replace('_', '-')}",
        source=str(root / key / f"{key}.csv"),
        timestamp_col="date",
        targets=["OT"],
        split_ratios=(0.7, 0.1, 0.2),
        window=domain.window,
        text={
            "sources": [
                {
                    "source": str(root / key / f"{key}_report.csv"),
                    "na_values": ["NA"],
                    "empty": "drop",
                }
            ],
            "lag": domain.lag,
            "last": last,
        },
        **domain.ingest,
    )


def model_config(name: str, fusion: str, domain: Domain, n_layers: int) -> ModelConfig:
    """The model section: patches and trend kernel fitted to the short inputs."""
    patch = (
        {"patch_len": 8, "patch_stride": 4}
        if domain.weekly
        else {
            "patch_len": 4,
            "patch_stride": 2,
        }
    )
    params: dict[str, Any] = {"text_fusion": fusion}
    if name == "dlinear":
        params["moving_avg"] = 13 if domain.weekly else 5
    else:
        params.update(patch)
    return ModelConfig(name=name, n_layers=n_layers, params=params)


def train_config(name: str, seed: int, args: argparse.Namespace) -> TrainConfig:
    """The train section: one CPU rank, selection on every validation window."""
    return TrainConfig(
        num_workers=1,
        device="cpu",
        precision="fp32",
        deepspeed_preset="zero0",
        epochs=args.epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        lr=LEARNING_RATES.get(name, 1e-3),
        max_train_windows=args.max_train_windows,
        max_val_windows=None,
        seed=seed,
    )


def train_one(
    dataset_path: str,
    data: DataConfig,
    model: ModelConfig,
    train: TrainConfig,
    spec: dict[str, Any],
    text_path: str | None,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train with the platform's recipe; keep the weights of the best validation epoch."""
    recipe = TrainingRecipe(
        RecipeConfig(
            dataset_path=dataset_path,
            protocol=data.protocol(),
            model=model,
            spec=spec,
            train=train,
            ds_preset=check_preset(train.deepspeed_preset, "cpu"),
            text_path=text_path,
        ),
        rank=0,
        world=1,
    )
    recipe.setup(node_id=socket.gethostname())
    module = recipe.engine.module
    best, best_epoch, started = None, 0, time.perf_counter()
    while not recipe.finished:
        result = recipe.train_epoch()
        if result.diverged is not None:
            break
        val = recipe.validate()
        if best is None or val < recipe.state.best_val:
            best = {k: v.detach().clone() for k, v in module.state_dict().items()}
            best_epoch = recipe.state.epoch + 1
        recipe.end_epoch(result, val)
    if best is not None:
        module.load_state_dict(best)
    curves = recipe.state.curves
    return module, {
        "epochs": recipe.state.epoch,
        "best_epoch": best_epoch,
        "val_mse": min(curves.val_loss) if curves.val_loss else float("nan"),
        "train_s": time.perf_counter() - started,
    }


def relative_interval(
    fused: np.ndarray, none: np.ndarray, block: int, seed: int = 0
) -> tuple[float, float, float] | None:
    """Relative MSE change ``mean(fused) / mean(none) - 1`` with a paired block-bootstrap
    percentile interval (same blocks as :func:`paired_interval`); None with too few blocks."""
    a, b = block_means(fused, block), block_means(none, block)
    if len(a) < MIN_BLOCKS:
        return None
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(a), size=(RESAMPLES, len(a)))
    ratios = a[draws].mean(1) / b[draws].mean(1) - 1
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(fused.mean() / none.mean() - 1), float(low), float(high)


def average_interval(
    pairs: list[tuple[np.ndarray, np.ndarray, int]], seed: int = 0
) -> tuple[float, float, float]:
    """Mean over (domain, model) cells of the relative MSE change, each cell's blocks
    resampled on their own (a stratified paired block bootstrap, percentile interval)."""
    rng = np.random.default_rng(seed)
    estimates, draws = [], []
    for fused, none, block in pairs:
        a, b = block_means(fused, block), block_means(none, block)
        estimates.append(fused.mean() / none.mean() - 1)
        pick = rng.integers(0, len(a), size=(RESAMPLES, len(a)))
        draws.append(a[pick].mean(1) / b[pick].mean(1) - 1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(np.mean(draws, axis=0), [tail, 100 - tail])
    return float(np.mean(estimates)), float(low), float(high)


@dataclass
class Prepared:
    """One domain ingested, its window texts computed and its test windows cut."""

    domain: Domain
    data: DataConfig
    dataset: DatasetRef
    texts: WindowTexts
    text_file: Path
    windows: Any
    text_windows: Any
    true: np.ndarray
    block: int
    spec: ModelSpec

    def meta(self) -> dict[str, Any]:
        """What the results say about the domain whatever was trained on it."""
        return {
            "domain": self.domain.name,
            "frequency": "weekly" if self.domain.weekly else "monthly",
            "seq_len": self.domain.window.seq_len,
            "horizon": self.domain.window.horizon,
            "lag": self.domain.lag,
            "data_md5": self.dataset.md5,
            "texts": int(self.texts.vectors.shape[0]),
            "test_windows": len(self.windows),
            "test_windows_without_text": windows_without_text(self.windows, self.texts),
            "block_windows": self.block,
        }


def prepare(domain: Domain, args: argparse.Namespace, work: Path) -> Prepared:
    """Ingest a domain (numbers and texts), embed its texts once, cut its test windows."""
    data = data_config(domain, args.data_root, args.last)
    dataset = ingest(data, work)
    found = prepare_window_texts(
        dataset.path, dataset.md5, data, args.cache_dir, backbone=args.encoder
    )
    assert found is not None, "a data.text section was given"
    texts, text_file = found
    proto = load_protocol(dataset.path, data.protocol())
    windows, _ = test_windows(proto, data.protocol(), None)
    return Prepared(
        domain=domain,
        data=data,
        dataset=dataset,
        texts=texts,
        text_file=text_file,
        windows=windows,
        text_windows=with_texts(windows, texts.vectors, texts.index["test"]),
        true=targets_of(windows, 256),
        block=block_windows(windows, domain.window.horizon),
        spec=model_spec(dataset, domain.window, None),
    )


def run_seed(
    p: Prepared, seed: int, args: argparse.Namespace, runs: list[dict[str, Any]]
) -> dict[tuple[str, str], np.ndarray]:
    """Every model x fusion of one domain and seed: per-window test MSE of each."""
    errors = {}
    for name in args.models:
        for fusion in args.fusions:
            fused = fusion != "none"
            spec = p.spec
            if fused:
                spec = replace(spec, text_dim=p.texts.text_dim, text_tokens=p.texts.tokens)
            model, info = train_one(
                p.dataset.path,
                p.data,
                model_config(name, fusion, p.domain, args.n_layers),
                train_config(name, seed, args),
                asdict(spec),
                str(p.text_file) if fused else None,
            )
            pred = predict_windows(model, p.text_windows if fused else p.windows, 256)
            # float64, as the JSON holds them, so --merge recomputes the same figures
            errors[(name, fusion)] = ((pred - p.true) ** 2).mean(axis=(1, 2), dtype=np.float64)
            mse = float(errors[(name, fusion)].mean())
            runs.append(
                {
                    "domain": p.domain.name,
                    "model": name,
                    "fusion": fusion,
                    "seed": seed,
                    **info,
                    "test_mse": mse,
                }
            )
            print(
                f"{p.domain.name} {name} {fusion} seed {seed}: test mse {mse:.4f} (best epoch "
                f"{info['best_epoch']}/{info['epochs']}, {info['train_s']:.1f}s)",
                flush=True,
            )
    return errors


def summarise(
    meta: dict[str, Any],
    errors: dict[tuple[str, str], np.ndarray],
    seeds: list[int],
    runs: list[dict[str, Any]],
) -> dict[str, Any]:
    """One domain's figures: MSE per model and fusion, and each fusion's change vs none.

    ``errors``: per-window MSE averaged over ``seeds``, the seeds every run of the domain
    has finished."""
    block = meta["block_windows"]
    mse = {f"{m}/{f}": float(e.mean()) for (m, f), e in errors.items()}
    changes = []
    for (name, fusion), err in errors.items():
        if fusion == "none" or (name, "none") not in errors:
            continue
        none = errors[(name, "none")]
        row: dict[str, Any] = {
            "model": name,
            "fusion": fusion,
            "mse_none": float(none.mean()),
            "mse_text": float(err.mean()),
        }
        if len(err) // block >= MIN_BLOCKS:
            diff = paired_interval(err, none, block=block)
            row["diff"] = [diff.estimate, diff.low, diff.high]
            row["verdict"] = text_verdict(diff)
        rel = relative_interval(err, none, block)
        if rel is not None:
            row["relative"] = list(rel)
        changes.append(row)
    return {
        **meta,
        "seeds": seeds,
        "mse": mse,
        "changes": changes,
        "runs": [r for r in runs if r["domain"] == meta["domain"]],
    }


def averages(
    all_errors: dict[str, dict[tuple[str, str], np.ndarray]],
    blocks: dict[str, int],
    models: list[str],
    fusions: list[str],
) -> list[dict[str, Any]]:
    """Mean relative change per fusion, over domains, per model and over all models."""
    out = []
    for fusion in (f for f in fusions if f != "none"):
        for scope in [*models, "all"]:
            pairs = [
                (errs[(m, fusion)], errs[(m, "none")], blocks[d])
                for d, errs in all_errors.items()
                for m in (models if scope == "all" else [scope])
                if (m, fusion) in errs
                and (m, "none") in errs
                and len(errs[(m, "none")]) // blocks[d] >= 2
            ]
            if pairs:
                est, low, high = average_interval(pairs)
                out.append(
                    {
                        "fusion": fusion,
                        "model": scope,
                        "cells": len(pairs),
                        "relative": [est, low, high],
                    }
                )
    return out


def pct(values: list[float] | None) -> str:
    """``-12.3% [-20.1, -4.0]``."""
    if not values:
        return "—"
    est, low, high = values
    return f"{100 * est:+.1f}% [{100 * low:+.1f}, {100 * high:+.1f}]"


def write_results(
    stem: Path,
    args: argparse.Namespace,
    domains: list[dict[str, Any]],
    mean: list[dict[str, Any]],
    wall_s: float,
    commands: list[str],
    per_window: dict[str, list[dict[str, list[float]]]],
) -> None:
    """Markdown tables (per domain, on average) and a JSON of every figure."""
    lines = [
        "## Time-MMD: MSE change from adding text (leakage-free alignment)",
        "",
        "Measured by " + " and ".join(f"`{c}`" for c in commands) + f" on "
        f"{platform.machine()}, {os.cpu_count()} cores, CPU only (shared, niced); wall time "
        f"{wall_s / 60:.1f} min (the longest part). Trained in-process by the "
        "platform's training recipe (DeepSpeed engine, one CPU rank; no Ray cluster per "
        f"run). Models {', '.join(args.models)}; fusions {', '.join(args.fusions)}; seeds "
        f"{', '.join(map(str, args.seeds))}; at most {args.epochs} epochs, patience "
        f"{args.patience}, the best validation epoch kept; batch {args.batch_size}; gpt4ts "
        f"on MiniLM ({args.n_layers} blocks); texts: each domain's report file (fact, "
        f"preds), the last {args.last} a window may see, embedded by {args.encoder}.",
        "",
        "Change = MSE(fused) / MSE(none) − 1 of the same model, seeds and test windows "
        "(per-window MSE averaged over seeds), standardised scale; brackets: 95% paired "
        "block-bootstrap interval (blocks of `horizon` windows; average: each cell's "
        "blocks resampled on their own). Negative = text helps.",
        "",
        "| domain | freq | input/H | lag | seeds | test windows | without text | model | MSE none "
        "| " + " | ".join(f"{f} change" for f in args.fusions if f != "none") + " |",
        "| --- | --- | --- | --- | --- | ---: | ---: | --- | ---: | "
        + " | ".join("---:" for f in args.fusions if f != "none")
        + " |",
    ]
    for d in domains:
        by = {(c["model"], c["fusion"]): c for c in d["changes"]}
        for name in args.models:
            cells = [
                pct(by.get((name, f), {}).get("relative")) for f in args.fusions if f != "none"
            ]
            lines.append(
                f"| {d['domain']} | {d['frequency']} | {d['seq_len']}/{d['horizon']} | "
                f"{d['lag']} | {','.join(map(str, d['seeds']))} | {d['test_windows']} | {d['test_windows_without_text']} | "
                f"{name} | {d['mse'].get(f'{name}/none', float('nan')):.4f} | "
                + " | ".join(cells)
                + " |"
            )
    verdicts = [c.get("verdict", "not tested") for d in domains for c in d["changes"]]
    lines += [
        "",
        "Verdicts of the per-cell paired intervals (MSE difference, fused − none): "
        + ", ".join(f"{v}: {verdicts.count(v)}" for v in sorted(set(verdicts)))
        + f" (of {len(verdicts)} domain × model × fusion cells).",
    ]
    if mean:
        lines += [
            "",
            f"### Average over {len(domains)} domain(s)",
            "",
            "| fusion | model | cells | mean MSE change |",
            "| --- | --- | ---: | ---: |",
        ]
        lines += [
            f"| {m['fusion']} | {m['model']} | {m['cells']} | {pct(m['relative'])} |" for m in mean
        ]
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    summary = json.dumps(
        {
            "args": {k: str(v) for k, v in vars(args).items()},
            "commands": commands,
            "wall_s": wall_s,
            "domains": domains,
            "average": mean,
        },
        indent=2,
    )
    # The per-window errors (what --merge recombines) go on one line each domain: readable
    # figures above, no file of one number per line.
    windows = ",\n".join(
        f"    {json.dumps(key)}: {json.dumps(seeds, separators=(',', ':'))}"
        for key, seeds in per_window.items()
    )
    stem.with_suffix(".json").write_text(
        summary[:-2] + ',\n  "per_window": {\n' + windows + "\n  }\n}\n"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--domains", nargs="+", default=list(DOMAINS), choices=list(DOMAINS))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--fusions", nargs="+", default=list(FUSIONS), choices=list(FUSIONS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-layers", type=int, default=2, help="MiniLM blocks of gpt4ts.")
    parser.add_argument("--last", type=int, default=8, help="Texts a window keeps (latest).")
    parser.add_argument("--encoder", default="minilm", help="Frozen sentence encoder.")
    parser.add_argument("--data-root", type=Path, default=DATA)
    parser.add_argument("--max-train-windows", type=int, default=None)
    parser.add_argument(
        "--deadline", default=None, help="HH:MM UTC: no domain/seed pass starts after it."
    )
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "text")
    parser.add_argument("--workdir", type=Path, default=None, help="Scratch project.")
    parser.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        default=None,
        help="Combine the JSON results of runs over disjoint --domains (same settings).",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "time_mmd", help="Output stem.")
    args = parser.parse_args(argv)
    if "none" not in args.fusions:
        parser.error("--fusions must include none: every change is measured against it")
    return args


def command() -> str:
    """This invocation, as typed from the project root."""
    return " ".join(["python", "benchmarks/time_mmd.py", *sys.argv[1:]])


def past(deadline: str | None) -> bool:
    """Whether the UTC clock has passed ``deadline`` (HH:MM); never when None."""
    if deadline is None:
        return False
    return time.strftime("%H:%M", time.gmtime()) >= deadline


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.merge:
        merge(args)
        print(f"wrote {args.out}.md", flush=True)
        return 0
    logging.getLogger("DeepSpeed").setLevel(logging.WARNING)
    # One thread: the models are small, and on a loaded machine a second thread mostly waits.
    torch.set_num_threads(1)
    started = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="tsalign-time-mmd-"))
    ensure_dvc_project(work)
    args.cache_dir = args.cache_dir.resolve()
    _distributed_env()
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("gloo")
    prepared: dict[str, Prepared] = {}
    per_seed: PerSeed = {key: {} for key in args.domains}
    runs: list[dict[str, Any]] = []
    # Seeds outermost: after the first pass every domain has a full comparison; later
    # seeds narrow it, and a deadline stops before a pass that would not finish in time.
    for seed in args.seeds:
        for key in args.domains:
            if past(args.deadline):
                print(f"deadline {args.deadline} UTC passed: seed {seed} of {key} not run")
                continue
            if key not in prepared:  # when first needed: the first pass starts sooner
                prepared[key] = prepare(DOMAINS[key], args, work)
            per_seed[key][seed] = run_seed(prepared[key], seed, args, runs)
            metas = {k: q.meta() for k, q in prepared.items()}
            write_all(args, metas, per_seed, runs, time.perf_counter() - started, [command()])
    torch.distributed.destroy_process_group()
    print(f"wrote {args.out}.md in {time.perf_counter() - started:.0f}s", flush=True)
    return 0


def write_all(
    args: argparse.Namespace,
    metas: dict[str, dict[str, Any]],
    per_seed: PerSeed,
    runs: list[dict[str, Any]],
    wall_s: float,
    commands: list[str],
) -> None:
    """Summaries over each domain's finished seeds, the averages over domains, and the
    per-window errors (what ``--merge`` recombines)."""
    domains, all_errors, blocks = [], {}, {}
    for key, by_seed in per_seed.items():
        if not by_seed:
            continue
        seeds = sorted(by_seed)
        cells = by_seed[seeds[0]]
        errors = {c: np.mean([by_seed[s][c] for s in seeds], axis=0) for c in cells}
        domains.append(summarise(metas[key], errors, seeds, runs))
        all_errors[key], blocks[key] = errors, metas[key]["block_windows"]
    mean = averages(all_errors, blocks, args.models, args.fusions)
    # one entry per seed, in the order of the domain's "seeds"
    per_window = {
        key: [
            # 7 significant digits: the forecasts are float32, so nothing is lost
            {f"{m}/{f}": [float(f"{v:.7g}") for v in e] for (m, f), e in by_seed[s].items()}
            for s in sorted(by_seed)
        ]
        for key, by_seed in per_seed.items()
        if by_seed
    }
    write_results(args.out, args, domains, mean, wall_s, commands, per_window)


SETTINGS = (
    "models",
    "fusions",
    "epochs",
    "patience",
    "batch_size",
    "n_layers",
    "last",
    "encoder",
    "max_train_windows",
)
"""The arguments every part of a merged run must share (parts may hold other seeds)."""


def merge(args: argparse.Namespace) -> None:
    """Recombine the results of runs run in parallel (other domains, or other seeds of a
    domain on the same data version) into one."""
    metas, per_seed, runs, commands, wall = {}, {}, [], [], 0.0
    for path in args.merge:
        part = json.loads(Path(path).read_text())
        differs = [k for k in SETTINGS if part["args"][k] != str(getattr(args, k))]
        if differs:
            raise SystemExit(f"error: {path} was run with other {', '.join(differs)}")
        for d in part["domains"]:
            key = d["domain"]
            meta = {k: d[k] for k in META_KEYS}
            # data_md5 is the md5 of the scratch project's whole data/ folder, so parts run
            # in other workdirs differ there while the domain's windows are the same
            first = metas.setdefault(key, meta)
            if {k: v for k, v in first.items() if k != "data_md5"} != {
                k: v for k, v in meta.items() if k != "data_md5"
            }:
                raise SystemExit(f"error: {path} holds {key} on other windows or texts")
            for seed, cells in zip(d["seeds"], part["per_window"][key], strict=True):
                if seed in per_seed.setdefault(key, {}):
                    raise SystemExit(f"error: seed {seed} of {key} is in two merged files")
                per_seed[key][seed] = {tuple(c.split("/")): np.asarray(e) for c, e in cells.items()}
            runs += d["runs"]
        commands += part["commands"]
        wall = max(wall, part["wall_s"])
    args.domains = list(metas)
    write_all(args, metas, per_seed, runs, wall, commands)


META_KEYS = (
    "domain",
    "frequency",
    "seq_len",
    "horizon",
    "lag",
    "data_md5",
    "texts",
    "test_windows",
    "test_windows_without_text",
    "block_windows",
)


if __name__ == "__main__":
    raise SystemExit(main())
