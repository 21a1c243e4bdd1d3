"""UEA JapaneseVowels: the classic MiniRocket classifier on the archive's train/test split.

    python benchmarks/uea.py                       # 3 seeds, about a minute on 2 cores
    python benchmarks/uea.py --seeds 0 1 2 3 4 --out benchmarks/results

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
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
    summary = {
        k: (float(np.mean([r[k] for r in runs])), float(np.std([r[k] for r in runs], ddof=1)))
        for k in ("accuracy", "f1_macro", "wall_s")
    }
    table = "\n".join(
        [
            "| model | accuracy | macro-F1 | wall s (fit + predict) |",
            "| --- | ---: | ---: | ---: |",
            f"| MiniRocket + ridge (sktime), {len(runs)} seeds | "
            f"{100 * summary['accuracy'][0]:.1f} ± {100 * summary['accuracy'][1]:.1f} % | "
            f"{summary['f1_macro'][0]:.3f} ± {summary['f1_macro'][1]:.3f} | "
            f"{summary['wall_s'][0]:.1f} |",
        ]
    )
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "uea.json").write_text(json.dumps({"runs": runs, "summary": summary}, indent=2))
    (args.out / "uea.md").write_text(
        "# UEA JapaneseVowels, archive split (python benchmarks/uea.py)\n\n"
        f"Settings: MiniRocket + ridge at their defaults; seeds {args.seeds}; no setting "
        "differs from the defaults.\n\n" + table + "\n"
    )


if __name__ == "__main__":
    main()
