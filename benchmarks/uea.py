"""UEA JapaneseVowels: MiniRocket and the aligned-LM classifiers on the archive's split.

    python benchmarks/uea.py                       # MiniRocket, 3 seeds, about a minute on 2 cores
    python benchmarks/uea.py --seeds 0 1 2 3 4 --out benchmarks/results
    python benchmarks/uea.py --lm --epochs 20      # + gpt4ts, gpt4ts_wo_llm, patchtst, 3 seeds

``--lm`` trains the classifiers of configs/classify_japanese_vowels.yaml (its panel, model
and train settings) with the pipeline's own pieces — the classification task's data,
scaling, cross-entropy and model builders (``components/tasks/classify.py``) — in a plain
AdamW loop in this process (no Ray, no DeepSpeed: the benchmark measures the models, not
the launcher); the weights of the epoch with the lowest validation cross-entropy are scored
on the test split. Validation is the config's stratified 20% of the archive's train split,
so the LM classifiers train on 216 utterances where MiniRocket fits all 270.

Data: sktime's bundled loader (offline), the archive's own split (270 train / 370 test
instances, 12 channels, 9 speakers, unequal lengths taken as they are). Reports accuracy
and macro-F1 per seed with mean and sample standard deviation, and the wall time of fit +
predict per seed. MiniRocket (Dempster et al. 2021) is the classic baseline that aligned
models are compared with.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tsalign.components.evaluation.metrics import classification_scores
from tsalign.components.models.classic_classifiers import MiniRocketClassifier


def load_japanese_vowels():
    """(X_train, y_train, X_test, y_test) from sktime's bundled copy, archive split."""
    from sktime.datasets import load_japanese_vowels as load

    X_train, y_train = load(split="train", return_X_y=True)
    X_test, y_test = load(split="test", return_X_y=True)
    return X_train, y_train, X_test, y_test


LM_MODELS = ("gpt4ts", "gpt4ts_wo_llm", "patchtst")
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "classify_japanese_vowels.yaml"


def canonical_panel_file(folder: Path) -> str:
    """The config's panel written as the ingest stage writes it (Parquet + meta.json)."""
    import pyarrow.parquet as pq

    from tsalign.components.config import load_config
    from tsalign.components.data.panel import canonical_panel, read_panel

    data = load_config(CONFIG).data
    table, meta = canonical_panel(read_panel(data, folder), data)
    path = folder / f"{data.name}.parquet"
    pq.write_table(table, path)
    (folder / f"{data.name}.meta.json").write_text(meta.model_dump_json())
    return str(path)


def train_lm(path: str, name: str, seed: int, epochs: int) -> dict:
    """Train one classifier (plain loop, best validation epoch) and score it on test."""
    import torch

    from tsalign.components.config import load_config
    from tsalign.components.data.panel import load_panel, load_panel_meta
    from tsalign.components.data.panel_inputs import PanelScaler, split_arrays
    from tsalign.components.evaluation.classification import cross_entropy, predict_proba
    from tsalign.components.models import ModelSpec, build_model
    from tsalign.components.tasks import get_task
    from tsalign.components.tasks.base import TrainingInputs
    from tsalign.components.tasks.classify import meta_path

    cfg = load_config(CONFIG, [f"model.name={name}", f"train.seed={seed}"])
    task = get_task("classify")
    data = task.training_data(TrainingInputs(path, cfg.data.protocol(), cfg.train))
    meta = load_panel_meta(meta_path(path))
    spec = ModelSpec(
        seq_len=meta.steps,
        horizon=1,
        n_channels=len(meta.channels),
        task="classify",
        n_classes=len(meta.classes),
    )
    torch.manual_seed(seed)
    model = build_model(cfg.model, spec)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    loader = torch.utils.data.DataLoader(data.train, batch_size=cfg.train.batch_size, shuffle=True)
    panel = load_panel(path)
    scaler = PanelScaler.fit(panel, meta.classes)
    x_val, y_val = split_arrays(panel, scaler, "val")
    x_test, y_test = split_arrays(panel, scaler, "test")
    cpu = torch.device("cpu")
    best, best_state, stale, start = float("inf"), None, 0, time.perf_counter()
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            loss = data.loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        val = cross_entropy(predict_proba(model, x_val, 256, cpu), y_val)
        if val < best:
            best, stale = val, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= cfg.train.patience:
                break
    model.load_state_dict(best_state)
    pred = predict_proba(model, x_test, 256, cpu).argmax(axis=1)
    wall = time.perf_counter() - start
    return classification_scores(pred, y_test) | {"seed": seed, "val_ce": best, "wall_s": wall}


def summarise(runs: list[dict]) -> dict:
    return {
        k: (float(np.mean([r[k] for r in runs])), float(np.std([r[k] for r in runs], ddof=1)))
        for k in ("accuracy", "f1_macro", "wall_s")
    }


def row(label: str, summary: dict, runs: list[dict]) -> str:
    each = " / ".join(f"{100 * r['accuracy']:.1f}" for r in runs)
    return (
        f"| {label} | {100 * summary['accuracy'][0]:.1f} ± {100 * summary['accuracy'][1]:.1f} % "
        f"({each}) | {summary['f1_macro'][0]:.3f} ± {summary['f1_macro'][1]:.3f} | "
        f"{summary['wall_s'][0]:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument(
        "--lm", action="store_true", help="also train gpt4ts, its ablation, patchtst"
    )
    parser.add_argument("--epochs", type=int, default=20, help="--lm: epochs at most")
    parser.add_argument("--models", nargs="+", default=list(LM_MODELS), help="--lm: which")
    args = parser.parse_args()

    X_train, y_train, X_test, y_test = load_japanese_vowels()
    lengths = [len(X_train.iloc[i, 0]) for i in range(len(X_train))]
    print(
        f"JapaneseVowels: {len(X_train)} train / {len(X_test)} test, {X_train.shape[1]} "
        f"channels, lengths {min(lengths)}..{max(lengths)}, {len(set(y_train))} classes"
    )
    runs = []
    for seed in args.seeds:
        start = time.perf_counter()
        pred = MiniRocketClassifier(seed=seed).fit(X_train, y_train).predict(X_test)
        wall = time.perf_counter() - start
        runs.append(
            classification_scores(pred, np.asarray(y_test)) | {"seed": seed, "wall_s": wall}
        )
        print(runs[-1])
    summary = summarise(runs)
    lines = [
        "| model | accuracy (per seed) | macro-F1 | wall s per seed |",
        "| --- | ---: | ---: | ---: |",
        row(f"MiniRocket + ridge (sktime), {len(runs)} seeds", summary, runs),
    ]
    results: dict = {"minirocket": {"runs": runs, "summary": summary}}
    if args.lm:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = canonical_panel_file(Path(tmp))
            for name in args.models:
                lm_runs = []
                for seed in args.seeds:
                    lm_runs.append(train_lm(path, name, seed, args.epochs))
                    print(name, lm_runs[-1], flush=True)
                results[name] = {"runs": lm_runs, "summary": summarise(lm_runs)}
                lines.append(
                    row(f"{name}, {len(lm_runs)} seeds", results[name]["summary"], lm_runs)
                )
    table = "\n".join(lines)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "uea.json").write_text(json.dumps(results, indent=2))
    settings = f"seeds {args.seeds}" + (
        f"; LM classifiers: at most {args.epochs} epochs" if args.lm else ""
    )
    (args.out / "uea.md").write_text(
        "# UEA JapaneseVowels, archive split (python benchmarks/uea.py)\n\n"
        f"Settings: MiniRocket + ridge at their defaults; {settings}; LM classifiers as in "
        "configs/classify_japanese_vowels.yaml.\n\n" + table + "\n"
    )


if __name__ == "__main__":
    main()
