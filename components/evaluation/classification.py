"""Classification protocol: every classifier on the panel's test instances, beside MiniRocket.

Each trained candidate (one exported model per seed) and the classic classifier
(MiniRocket + ridge, fit on the train split) classify the same test instances. Reported:
accuracy, macro-F1 and error rate (1 - accuracy, the gate's lower-is-better metric), mean
and standard deviation over seeds, a confusion matrix plot per model, and paired bootstrap
intervals over test instances of the accuracy difference of each LM model against its
LLM-free ablation and against MiniRocket (``intervals.compare_llm_models`` on per-instance
errors, blocks of one instance: instances are independent). The candidate to publish is
chosen on validation cross-entropy (``publish.select``), with MiniRocket's test error rate
as the floor.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from tsalign.components.data.panel import Panel, load_panel, load_panel_meta
from tsalign.components.data.panel_inputs import PanelScaler, split_arrays
from tsalign.components.device import resolve_device, torch_device
from tsalign.components.evaluation import metrics as M
from tsalign.components.evaluation.intervals import Comparison, compare_llm_models
from tsalign.components.evaluation.leaderboard import paradigm_of
from tsalign.components.evaluation.provenance import provenance
from tsalign.components.models import ablations_of, load_pretrained
from tsalign.components.models.spec import ModelSpec
from tsalign.components.refs import EvalReport
from tsalign.components.registry.gates import ChampionNotComparable, select_candidate
from tsalign.components.registry.registry import Registry
from tsalign.components.storage import write_json_atomic, write_text_atomic
from tsalign.components.tasks.base import EvalRequest
from tsalign.components.tasks.classify import CLASSIC_CLASSIFIER, GATE_METRIC, meta_path

CLASSIC_LABEL = "MiniRocket"


class ClassificationError(ValueError):
    """A classifier that cannot be scored on this panel; the message says why."""


def nested_frame(panel: Panel, split: str) -> pd.DataFrame:
    """sktime's nested-univariate frame of one split: [instances, channels] of pd.Series,
    observed steps only (MiniRocket takes unequal lengths as they are)."""
    keep = np.flatnonzero(panel.splits == split)
    rows = [
        {c: pd.Series(panel.values[i, panel.observed[i], j]) for j, c in enumerate(panel.channels)}
        for i in keep
    ]
    return pd.DataFrame(rows)


def predict_proba(
    model: torch.nn.Module, x: np.ndarray, batch_size: int, device: torch.device
) -> np.ndarray:
    """Class probabilities [N, K] of inputs x [N, steps, C] (softmax of the logits)."""
    model.to(device).eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            batch = torch.from_numpy(x[start : start + batch_size]).to(device)
            out.append(torch.softmax(model(batch).float(), dim=-1).cpu().numpy())
    return np.concatenate(out, axis=0)


def scores(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Accuracy, macro-F1 and error rate (1 - accuracy) of predicted class indices."""
    out = M.classification_scores(pred, true)
    return out | {"error_rate": 1.0 - out["accuracy"]}


def cross_entropy(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of probabilities [N, K] against class indices [N]."""
    picked = np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)
    return float(-np.log(picked).mean())


def check_classifier(label: str, spec: ModelSpec, scaler: PanelScaler) -> None:
    """Refuse a model built for another task, channel count, length or class count.

    Raises:
        ClassificationError: naming what differs.
    """
    if spec.task != "classify":
        raise ClassificationError(f"{label} is a {spec.task!r} model, not a classifier")
    expected = (spec.n_channels, spec.seq_len, spec.n_classes)
    have = (len(scaler.channels), scaler.steps, len(scaler.classes))
    if expected != have:
        raise ClassificationError(
            f"{label} takes {spec.n_channels} channels x {spec.seq_len} steps into "
            f"{spec.n_classes} classes; this panel has {have[0]} x {have[1]} and {have[2]} classes"
        )


def _load(name: str, directory: str, scaler: PanelScaler) -> torch.nn.Module:
    model, _, spec = load_pretrained(Path(directory))
    check_classifier(f"{name} ({directory})", spec, scaler)
    return model


def _runs(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _mean_std(per_seed: list[dict[str, float]]) -> tuple[dict[str, float], dict[str, float]]:
    means = {k: statistics.fmean(m[k] for m in per_seed) for k in per_seed[0]}
    if len(per_seed) < 2:
        return means, {}
    return means, {k: statistics.stdev(m[k] for m in per_seed) for k in per_seed[0]}


def classic_predictions(panel: Panel, scaler: PanelScaler, seed: int) -> np.ndarray:
    """MiniRocket + ridge fit on the train split: predicted class indices of the test split."""
    from tsalign.components.models.classic_classifiers import MiniRocketClassifier

    y_train = scaler.targets(panel.labels[panel.splits == "train"], "train split")
    clf = MiniRocketClassifier(seed=seed).fit(nested_frame(panel, "train"), y_train)
    return np.asarray(clf.predict(nested_frame(panel, "test")), dtype=np.int64)


def evaluate_classifiers(request: EvalRequest) -> EvalReport:
    """Score the trained classifiers and MiniRocket on the test instances (module docstring).

    Raises:
        ClassificationError: no candidate, or a model trained on another panel layout.
    """
    if not request.candidates:
        raise ClassificationError("no trained candidate to evaluate; run the train stage first")
    eval_cfg = request.eval_cfg
    torch.manual_seed(eval_cfg.seed)
    meta = load_panel_meta(meta_path(request.dataset_path))
    panel = load_panel(request.dataset_path)
    scaler = PanelScaler.fit(panel, meta.classes)
    check_classifier("the model spec", request.spec, scaler)
    x_test, y_test = split_arrays(panel, scaler, "test")
    x_val, y_val = split_arrays(panel, scaler, "val")
    device = torch_device(resolve_device(eval_cfg.device, "eval.device"))
    k = len(meta.classes)

    models = {
        name: [_load(name, d, scaler) for d in _runs(dirs)]
        for name, dirs in request.candidates.items()
    }
    probs = {
        name: [predict_proba(m, x_test, eval_cfg.batch_size, device) for m in runs]
        for name, runs in models.items()
    }
    preds = {name: [p.argmax(axis=1) for p in ps] for name, ps in probs.items()}
    preds[CLASSIC_CLASSIFIER] = [classic_predictions(panel, scaler, eval_cfg.seed)]
    spread = {name: _mean_std([scores(p, y_test) for p in ps]) for name, ps in preds.items()}
    results = {name: means for name, (means, _) in spread.items()}
    std = {name: s for name, (_, s) in spread.items()}

    validation = {
        name: cross_entropy(predict_proba(runs[0], x_val, eval_cfg.batch_size, device), y_val)
        for name, runs in models.items()
    }
    selection = select_candidate(
        validation,
        results,
        results[CLASSIC_CLASSIFIER],
        mode=request.select,
        primary=next(iter(request.candidates)),
        test_metric=GATE_METRIC,
        baseline_label=CLASSIC_LABEL,
    )
    paradigms = {name: paradigm_of(name) for name in models} | {CLASSIC_CLASSIFIER: "baseline"}
    # Per-instance error (1 - correct), averaged over seeds: what the paired bootstrap resamples.
    errors = {
        name: np.mean([(p != y_test).astype(float) for p in ps], axis=0)
        for name, ps in preds.items()
    }
    comparisons = compare_llm_models(
        errors,
        {name: m[GATE_METRIC] for name, m in results.items()},
        paradigms,
        {name: ablations_of(name) for name in models},
        block=1,
        seed=eval_cfg.seed,
    )

    out_dir = request.out_dir
    plots = write_confusion_matrices(
        {name: ps[0] for name, ps in preds.items()}, y_test, meta.classes, out_dir / "plots"
    )
    leaderboard = out_dir / "leaderboard.md"
    write_text_atomic(
        leaderboard,
        render_classification_leaderboard(
            results, std, validation, selection.name, selection.reason, comparisons, len(y_test)
        ),
    )
    report_path = out_dir / "metrics.json"
    payload: dict[str, Any] = {
        "task": "classify",
        "test_instances": len(y_test),
        "validation_instances": len(y_val),
        "classes": meta.classes,
        "spec": request.spec.to_dict(),
        "candidate": selection.name,
        "selection_reason": selection.reason,
        "validation": validation,
        "recommended_paradigm": request.recommended_paradigm,
        "not_trained": dict(request.skipped or {}),
        "metrics": results,
        "metrics_std": std,
        "seeds": {name: len(ps) for name, ps in preds.items()},
        "paradigms": paradigms,
        "comparisons": [accuracy_view(c) for c in comparisons],
        "confusion": {name: confusion(ps[0], y_test, k).tolist() for name, ps in preds.items()},
        "provenance": provenance(eval_cfg.seed, request.context or {}),
    }
    write_json_atomic(report_path, payload, indent=2)
    return EvalReport(
        report_path=str(report_path),
        test_windows=len(y_test),
        metrics=results,
        candidate=selection.name,
        validation=validation,
        selection_reason=selection.reason,
        leaderboard_path=str(leaderboard),
        plot_paths=[str(p) for p in plots],
    )


def confusion(pred: np.ndarray, true: np.ndarray, n_classes: int) -> np.ndarray:
    """[true class, predicted class] counts."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(true, pred, labels=list(range(n_classes)))


def write_confusion_matrices(
    preds: Mapping[str, np.ndarray], true: np.ndarray, classes: list[str], out_dir: Path
) -> list[Path]:
    """One ``confusion_<model>.png`` per model (true classes down, predicted across)."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on servers
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, pred in preds.items():
        fig, ax = plt.subplots(figsize=(1 + 0.55 * len(classes), 0.8 + 0.55 * len(classes)))
        display = ConfusionMatrixDisplay(
            confusion(pred, true, len(classes)), display_labels=classes
        )
        display.plot(ax=ax, colorbar=False, cmap="Blues")
        ax.set_title(f"{name}: accuracy {np.mean(pred == true):.3f}")
        fig.tight_layout()
        path = out_dir / f"confusion_{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def accuracy_view(c: Comparison) -> dict[str, Any]:
    """A comparison as an accuracy difference (model - reference; positive: model better).

    The intervals are computed on per-instance errors; accuracy = 1 - error, so the
    difference and its bounds change sign."""
    out: dict[str, Any] = {
        "model": c.model,
        "reference": c.reference,
        "kind": c.kind,
        "verdict": c.verdict,
        "note": c.note,
        "accuracy_difference": None,
    }
    if c.interval is not None:
        i = c.interval
        out["accuracy_difference"] = {
            "estimate": -i.estimate,
            "low": -i.high,
            "high": -i.low,
            "confidence": i.confidence,
            "instances": i.blocks,
        }
    return out


def render_classification_leaderboard(
    results: Mapping[str, Mapping[str, float]],
    std: Mapping[str, Mapping[str, float]],
    validation: Mapping[str, float],
    candidate: str,
    reason: str,
    comparisons: Sequence[Comparison],
    instances: int,
) -> str:
    """Markdown: models ranked by test accuracy (mean ± std over seeds), then the intervals."""

    def cell(name: str, key: str) -> str:
        s = std.get(name, {}).get(key)
        return f"{results[name][key]:.4f}" + (f" ± {s:.4f}" if s is not None else "")

    lines = [
        f"# Classification on {instances} test instances",
        "",
        "| model | accuracy | macro-F1 | validation cross-entropy |",
        "| --- | --- | --- | --- |",
    ]
    for name in sorted(results, key=lambda n: -results[n]["accuracy"]):
        val = f"{validation[name]:.4f}" if name in validation else "-"
        mark = " (published)" if name == candidate else ""
        lines.append(
            f"| {name}{mark} | {cell(name, 'accuracy')} | {cell(name, 'f1_macro')} | {val} |"
        )
    lines += ["", f"Selection: {reason}", ""]
    if comparisons:
        lines += ["Paired bootstrap over test instances (accuracy difference, model - reference):"]
        for c in comparisons:
            view = accuracy_view(c)
            d = view["accuracy_difference"]
            if d is None:
                lines.append(f"- {c.model} vs {c.reference}: {c.verdict} ({c.note})")
            else:
                lines.append(
                    f"- {c.model} - {c.reference} ({c.kind}): {d['estimate']:+.4f} "
                    f"[{d['confidence']:.0%} CI {d['low']:+.4f}, {d['high']:+.4f}]: {c.verdict}"
                )
    return "\n".join(lines) + "\n"


class ClassifierValidation:
    """Scores classifiers on the validation instances of one panel version (the champion gate).

    Args:
        dataset_path: the canonical panel being published.
        batch_size: instances per forward pass.
        device: where loaded models run.
    """

    def __init__(self, dataset_path: str, batch_size: int = 256, device: str = "auto") -> None:
        self.meta = load_panel_meta(meta_path(dataset_path))
        self.panel = load_panel(dataset_path)
        self.batch_size = batch_size
        self.device = device

    def score_published(self, registry: Registry, name: str, version: int) -> float:
        """Validation cross-entropy of a published classifier on this panel.

        The version is scored with its own scaler and class order; the validation labels are
        mapped into that order.

        Raises:
            ChampionNotComparable: not a classifier of these channels, length and classes.
        """
        from tsalign.components.inference import PredictError
        from tsalign.components.inference.classifier import load_published_classifier

        try:
            clf = load_published_classifier(registry, f"{name}:{version}", device=self.device)
            if clf.scaler.channels != self.panel.channels or sorted(clf.scaler.classes) != sorted(
                self.meta.classes
            ):
                raise ClassificationError(
                    f"it classifies channels {clf.scaler.channels} into {clf.scaler.classes}, "
                    f"this panel has {self.panel.channels} and {self.meta.classes}"
                )
            x, y = split_arrays(self.panel, clf.scaler, "val")
            if x.shape[1] != clf.scaler.steps:
                raise ClassificationError(
                    f"it takes {clf.scaler.steps} steps, this panel {x.shape[1]}"
                )
            return cross_entropy(predict_proba(clf.model, x, self.batch_size, clf.device), y)
        except (ClassificationError, PredictError) as err:
            raise ChampionNotComparable(str(err)) from None
