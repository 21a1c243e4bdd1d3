"""Run every trained candidate and every baseline on the same test windows.

Every model sees exactly the same windows of the test split (all of them, no
drop_last; the count is checked against the protocol), inputs and targets on
the standardised scale. Metrics are reported on that scale (the papers'
convention) and in original units (what operators read), overall, per
horizon-step bucket and per channel. A candidate trained under several seeds
(``eval.seeds``) is scored once per seed and reported as mean and standard
deviation; each LLM model gets paired bootstrap intervals against its LLM-free
ablation and the best classic baseline, and every candidate a row of the
paradigm scorecard (cost against accuracy).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from tsalign.components.config import EvalConfig, ModelConfig, ProtocolConfig, SelectMode
from tsalign.components.data import window_count
from tsalign.components.data.protocol import Protocol, load_protocol
from tsalign.components.data.text_features import WindowTexts
from tsalign.components.data.windows import WindowDataset, with_texts
from tsalign.components.device import resolve_device, torch_device
from tsalign.components.evaluation import metrics as M
from tsalign.components.evaluation.intervals import compare_llm_models, compare_text_twins
from tsalign.components.evaluation.leaderboard import (
    paradigm_of,
    recommended_won,
    render_leaderboard,
)
from tsalign.components.evaluation.plots import write_plots
from tsalign.components.evaluation.provenance import provenance
from tsalign.components.evaluation.scorecard import (
    Scorecard,
    ScorecardRow,
    training_cost,
    write_scorecard,
)
from tsalign.components.evaluation.validation import ValidationScorer
from tsalign.components.inference import predict_windows
from tsalign.components.models import (
    ModelSpec,
    ablations_of,
    baseline_problem,
    build_model,
    count_parameters,
    load_pretrained,
)
from tsalign.components.models.fusion import TextFusion
from tsalign.components.refs import EvalReport
from tsalign.components.registry.gates import GATE_BASELINE, select_candidate
from tsalign.components.storage import write_json_atomic, write_text_atomic

HORIZON_BUCKETS = 4
"""Horizon steps are reported in this many equal buckets (e.g. 1-24, 25-48, ... for H=96)."""


class EvaluationError(RuntimeError):
    """The evaluation cannot be run as configured; the message says what to change."""


def targets_of(windows: Dataset, batch_size: int) -> np.ndarray:
    """The true futures of every window: [windows, horizon, channels]."""
    return np.concatenate(
        [batch[1].numpy() for batch in DataLoader(windows, batch_size=batch_size)], axis=0
    )


def score(
    pred: np.ndarray, true: np.ndarray, proto: Protocol, scale: np.ndarray
) -> dict[str, float]:
    """Standardised MSE/MAE plus original-scale MAE, sMAPE and MASE (``scale`` per channel)."""
    pred_orig, true_orig = proto.inverse(pred), proto.inverse(true)
    return {
        "mse": M.mse(pred, true),
        "mae": M.mae(pred, true),
        "mae_orig": M.mae(pred_orig, true_orig),
        "smape": M.smape(pred_orig, true_orig),
        "mase": M.mase(pred_orig, true_orig, scale),
    }


def breakdown(pred: np.ndarray, true: np.ndarray, channels: list[str]) -> dict[str, Any]:
    """Standardised MSE/MAE per horizon-step bucket and per channel."""
    horizon = pred.shape[1]
    edges = np.linspace(0, horizon, min(HORIZON_BUCKETS, horizon) + 1).round().astype(int)
    buckets = {
        f"{lo + 1}-{hi}": {
            "mse": M.mse(pred[:, lo:hi], true[:, lo:hi]),
            "mae": M.mae(pred[:, lo:hi], true[:, lo:hi]),
        }
        for lo, hi in pairwise(edges)
    }
    per_channel = {
        name: {"mse": M.mse(pred[..., c], true[..., c]), "mae": M.mae(pred[..., c], true[..., c])}
        for c, name in enumerate(channels)
    }
    return {"horizon": buckets, "channel": per_channel}


def test_windows(proto: Protocol, cfg: ProtocolConfig, cap: int | None) -> tuple[Dataset, int]:
    """All test windows of the protocol (or ``cap`` evenly spaced ones) and the protocol count.

    Raises:
        EvaluationError: the test split holds no complete window.
    """
    win = cfg.window
    expected = window_count(len(proto.test), win.seq_len, win.horizon, 1)
    if expected <= 0:
        raise EvaluationError(
            f"test split has {len(proto.test)} rows, too few for seq_len {win.seq_len} + "
            f"horizon {win.horizon}; lower data.window.seq_len or data.window.horizon"
        )
    windows: Dataset = WindowDataset(proto.test, win.seq_len, win.horizon, 1)
    if len(windows) != expected:
        raise EvaluationError(
            f"window dataset holds {len(windows)} windows, protocol says {expected}"
        )
    if cap is not None and cap < expected:
        keep = np.linspace(0, expected - 1, cap).round().astype(int)
        windows = Subset(windows, keep.tolist())
    return windows, expected


def windows_without_text(windows: Dataset, texts: WindowTexts) -> int:
    """How many of the evaluated test windows see no text (a fused model forecasts those
    as its no-text twin)."""
    seen = texts.index["test"] >= 0
    keep = windows.indices if isinstance(windows, Subset) else slice(None)
    return int((~seen[keep].any(1)).sum())


def check_baselines(names: list[str]) -> None:
    """Baselines are scored as built, so they must have nothing to train.

    Raises:
        EvaluationError: an unknown name, or a trainable model listed as a baseline
            (it belongs in ``compare``, which trains it beside the candidate).
    """
    for i, name in enumerate(names):
        problem = baseline_problem(name)
        if problem is not None:
            raise EvaluationError(f"eval.baselines[{i}]: {problem}")


def _check_spec(what: str, spec: ModelSpec, cfg: ProtocolConfig, n_channels: int) -> None:
    """Refuse a spec made for another window or channel layout than ``cfg``'s."""
    win = cfg.window
    if (spec.seq_len, spec.horizon, spec.n_channels) != (win.seq_len, win.horizon, n_channels):
        raise EvaluationError(
            f"{what} for seq_len={spec.seq_len}, horizon={spec.horizon}, "
            f"{spec.n_channels} channels but data.window/targets give {win.seq_len}, {win.horizon}, "
            f"{n_channels}; evaluate with the config it was trained with"
        )


def _load_candidate(
    name: str, directory: str, cfg: ProtocolConfig, n_channels: int
) -> tuple[torch.nn.Module, ModelSpec, str]:
    """The model saved in ``directory``, its spec and its catalogue name."""
    model, model_cfg, spec = load_pretrained(Path(directory))
    _check_spec(f"{name} ({directory}) was trained", spec, cfg, n_channels)
    return model, spec, model_cfg.name


def ablation_labels(
    catalogue: Mapping[str, str], fused: Mapping[str, bool]
) -> dict[str, list[str]]:
    """Per evaluated model, the evaluated models that are its LLM-free ablations.

    An ablation is matched by catalogue name; where one is evaluated both with and without
    text, the one that fuses text as the model does is its ablation.

    Args:
        catalogue: label -> catalogue name.
        fused: label -> whether it fuses text.

    Returns:
        label -> its ablations' labels; the catalogue's ablation names when none is evaluated.
    """
    out = {}
    for label, name in catalogue.items():
        wanted = ablations_of(name)
        matches = [other for other, n in catalogue.items() if n in wanted]
        alike = [other for other in matches if fused[other] == fused[label]]
        names = {catalogue[other] for other in alike}
        # none evaluated: the catalogue's names, which the comparison's note asks for
        out[label] = alike + [m for m in matches if catalogue[m] not in names] or wanted
    return out


Runs = str | Sequence[str]
"""One exported model directory, or one per training seed."""
Curves = Mapping[str, list[float]]


def _as_list(value: Runs | Curves | Sequence[Curves]) -> list:
    return [value] if isinstance(value, str | Mapping) else list(value)


def _timed_predict(
    model: torch.nn.Module, windows: Dataset, batch_size: int, device: torch.device
) -> tuple[np.ndarray, float]:
    """Forecasts of every window and the milliseconds per window they took."""
    started = time.perf_counter()
    pred = predict_windows(model, windows, batch_size, device)
    return pred, 1000 * (time.perf_counter() - started) / max(len(pred), 1)


def _mean_and_std(per_seed: list[dict[str, float]]) -> tuple[dict[str, float], dict[str, float]]:
    """Metric means over seeds and their sample standard deviations (empty with one seed)."""
    means = {k: statistics.fmean(m[k] for m in per_seed) for k in per_seed[0]}
    if len(per_seed) < 2:
        return means, {}
    return means, {k: statistics.stdev(m[k] for m in per_seed) for k in per_seed[0]}


def _mean_nested(trees: list[Any]) -> Any:
    """Element-wise mean of equally shaped nested dicts of floats (per-seed breakdowns)."""
    if isinstance(trees[0], dict):
        return {k: _mean_nested([t[k] for t in trees]) for k in trees[0]}
    return statistics.fmean(trees)


def block_windows(windows: Dataset, horizon: int) -> int:
    """Test windows per bootstrap block: enough that blocks' forecast targets do not overlap.

    Windows start one step apart (``horizon`` of them share target steps); a window cap
    keeps evenly spaced ones, which overlap less.
    """
    starts = windows.indices if isinstance(windows, Subset) else range(len(windows))
    gap = (starts[-1] - starts[0]) / max(len(starts) - 1, 1) if len(starts) > 1 else 1
    return max(1, int(np.ceil(horizon / max(gap, 1))))


def evaluate(
    dataset_path: str,
    data_cfg: ProtocolConfig,
    eval_cfg: EvalConfig,
    candidates: Mapping[str, Runs],
    spec: ModelSpec,
    out_dir: Path,
    *,
    recommended_paradigm: str | None = None,
    curves: Mapping[str, Curves | Sequence[Curves]] | None = None,
    context: Mapping[str, Any] | None = None,
    select: SelectMode = "model",
    max_val_windows: int | None = None,
    gate_metric: str = "mse",
    skipped: Mapping[str, str] | None = None,
    window_texts: WindowTexts | None = None,
    text_twins: Mapping[str, str] | None = None,
) -> EvalReport:
    """Score trained candidates and ``eval_cfg.baselines`` on the same test windows.

    The trained candidates are also scored on the same validation windows, and the one to
    publish is chosen from those scores (:func:`~tsalign.components.registry.gates.select_candidate`).

    Args:
        dataset_path: canonical Parquet file of the dataset version.
        data_cfg: the data protocol: split and windows (must match training).
        eval_cfg: baselines, batch size, optional window cap, seed.
        candidates: candidate label (its catalogue name unless a compare entry names it)
            -> exported model directory, or one directory per training seed; the first is the published candidate, the rest (ablations,
            trained baselines) sit beside it. Validation scores (and so the choice of the
            published candidate) use each candidate's first seed, the run that is published.
        spec: the run's model spec (:func:`~tsalign.components.models.model_spec`, the one the
            candidates were trained with): baselines are built from it, and its season is
            the MASE period (1 when there is none).
        out_dir: where metrics.json, leaderboard.md, scorecard.{json,md,png} and plots/
            are written.
        recommended_paradigm: the profile's advice, audited against the results.
        curves: per candidate, its training curves (losses, epoch seconds, samples/s,
            peak memory), one mapping or one per seed, for the plots and the scorecard.
        context: provenance to record (data md5, config hash, seeds...).
        select: ``publish.select``: ``model`` keeps the first candidate, ``best_val`` takes
            the lowest validation loss among those that beat seasonal naive on test.
        max_val_windows: ``train.max_val_windows``: the validation windows scored.
        gate_metric: ``registry.test_metric``, the metric of the seasonal-naive floor.
        skipped: models ``compare: auto`` chose but could not build or train -> why (the leaderboard
            says why the recommendation was not evaluated).
        window_texts: the window texts of this data version; models that fuse text are
            scored on the same test and validation windows, each with the texts it may see.
        text_twins: label of a text-fused candidate -> label of its no-text twin: each
            pair gets a paired bootstrap interval of its MSE difference.

    Raises:
        EvaluationError: no candidate, no complete test window, or a model trained for
            another window/channel layout.
        DeviceError: eval.device=cuda where there is no CUDA device.
    """
    if not candidates:
        raise EvaluationError("no trained candidate to evaluate; run the train stage first")
    check_baselines(eval_cfg.baselines)
    torch.manual_seed(eval_cfg.seed)
    proto = load_protocol(dataset_path, data_cfg)
    windows, expected = test_windows(proto, data_cfg, eval_cfg.max_test_windows)
    season = spec.season or 1
    n_channels = len(proto.targets)
    _check_spec("the model spec is", spec, data_cfg, n_channels)

    seeds = {
        name: [_load_candidate(name, d, data_cfg, n_channels) for d in _as_list(dirs)]
        for name, dirs in candidates.items()
    }
    trained = {name: runs[0][:2] for name, runs in seeds.items()}  # the run that is published
    models = {name: [model for model, *_ in runs] for name, runs in seeds.items()}
    catalogue = {name: runs[0][2] for name, runs in seeds.items()}
    for name in eval_cfg.baselines:
        models.setdefault(name, [build_model(ModelConfig(name=name), spec)])
        catalogue.setdefault(name, name)

    device = torch_device(resolve_device(eval_cfg.device, "eval.device"))
    true = targets_of(windows, eval_cfg.batch_size)
    scale = M.mase_scale(proto.inverse(proto.train), season if len(proto.train) > season else 1)
    text_windows = (
        None
        if window_texts is None
        else with_texts(windows, window_texts.vectors, window_texts.index["test"])
    )

    def windows_of(model: torch.nn.Module) -> Dataset:
        if isinstance(model, TextFusion):
            if text_windows is None:
                raise EvaluationError(
                    "a model fuses text but no window texts were given; evaluate a dataset "
                    "with a data.text section"
                )
            return text_windows
        return windows

    timed = {
        name: [_timed_predict(m, windows_of(m), eval_cfg.batch_size, device) for m in runs]
        for name, runs in models.items()
    }
    preds = {name: [p for p, _ in runs] for name, runs in timed.items()}
    spread = {
        name: _mean_and_std([score(p, true, proto, scale) for p in ps])
        for name, ps in preds.items()
    }
    results = {name: means for name, (means, _) in spread.items()}
    std = {name: s for name, (_, s) in spread.items()}
    paradigms = {name: paradigm_of(catalogue[name]) for name in models}
    won = recommended_won(results, paradigms, recommended_paradigm)
    scorer = ValidationScorer(
        proto, data_cfg.window, max_val_windows, eval_cfg.batch_size, texts=window_texts
    )
    validation = {
        name: scorer.score_trained(model, own_spec, device, name)
        for name, (model, own_spec) in trained.items()
    }
    selection = select_candidate(
        validation,
        results,
        results.get(GATE_BASELINE),
        mode=select,
        primary=next(iter(candidates)),
        test_metric=gate_metric,
    )

    # Per-window MSE, averaged over seeds: what the paired bootstrap resamples.
    errors = {
        name: np.mean([((p - true) ** 2).mean(axis=(1, 2)) for p in ps], axis=0)
        for name, ps in preds.items()
    }
    block = block_windows(windows, spec.horizon)
    fused = {name: isinstance(runs[0], TextFusion) for name, runs in models.items()}
    comparisons = compare_llm_models(
        errors,
        {name: m["mse"] for name, m in results.items()},
        paradigms,
        ablation_labels(catalogue, fused),
        block=block,
        seed=eval_cfg.seed,
    ) + compare_text_twins(errors, text_twins or {}, block=block, seed=eval_cfg.seed)
    no_text = None if window_texts is None else windows_without_text(windows, window_texts)
    curve_lists = {name: _as_list(c) for name, c in (curves or {}).items()}
    card = Scorecard(
        test_windows=len(true),
        rows=[
            _scorecard_row(
                name,
                paradigms[name],
                runs,
                timed[name],
                results[name],
                std[name],
                curve_lists.get(name, []),
            )
            for name, runs in models.items()
        ],
        comparisons=comparisons,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    plots = write_plots(
        {name: ps[0] for name, ps in preds.items()},
        true,
        proto.targets,
        {name: c[0] for name, c in curve_lists.items() if c},
        out_dir / "plots",
    )
    scorecard_paths = write_scorecard(card, out_dir, header=_scorecard_header(models, block))
    leaderboard = out_dir / "leaderboard.md"
    write_text_atomic(
        leaderboard,
        render_leaderboard(
            results,
            paradigms,
            selection.name,
            recommended_paradigm,
            won,
            len(true),
            validation=validation,
            selection_reason=selection.reason,
            std=std,
            comparisons=comparisons,
            skipped=skipped,
            windows_without_text=no_text,
        ),
    )
    report_path = out_dir / "metrics.json"
    payload = {
        "test_windows": len(true),
        "protocol_windows": expected,
        "season": season,
        "spec": spec.to_dict(),
        "targets": proto.targets,
        "candidate": selection.name,
        "selection_reason": selection.reason,
        "validation": validation,
        "validation_windows": scorer.n_windows,
        "recommended_paradigm": recommended_paradigm,
        "recommended_won": won,
        "not_trained": dict(skipped or {}),
        "metrics": results,
        "metrics_std": std,
        "seeds": {name: len(runs) for name, runs in models.items()},
        "paradigms": paradigms,
        "comparisons": [c.model_dump(mode="json") for c in comparisons],
        "breakdown": {
            name: _mean_nested([breakdown(p, true, proto.targets) for p in ps])
            for name, ps in preds.items()
        },
        "provenance": provenance(eval_cfg.seed, context or {}),
    }
    if no_text is not None:
        payload["test_windows_without_text"] = no_text
        payload["text_twins"] = dict(text_twins or {})
    write_json_atomic(report_path, payload, indent=2)
    return EvalReport(
        report_path=str(report_path),
        test_windows=len(true),
        metrics=results,
        candidate=selection.name,
        validation=validation,
        selection_reason=selection.reason,
        leaderboard_path=str(leaderboard),
        plot_paths=[str(p) for p in plots],
        recommended_won=won,
        scorecard_paths=[str(p) for p in scorecard_paths],
    )


def _scorecard_row(
    name: str,
    paradigm: str,
    runs: list[torch.nn.Module],
    timed: list[tuple[np.ndarray, float]],
    means: Mapping[str, float],
    std: Mapping[str, float],
    curves: list[Curves],
) -> ScorecardRow:
    trainable, total = count_parameters(runs[0])
    return ScorecardRow(
        model=name,
        paradigm=paradigm,
        seeds=len(runs),
        trainable_params=trainable,
        total_params=total,
        training=training_cost(curves),
        inference_ms_per_window=statistics.fmean(ms for _, ms in timed),
        mse=means["mse"],
        mse_std=std.get("mse"),
        mae=means["mae"],
        mae_std=std.get("mae"),
    )


def _scorecard_header(models: Mapping[str, list[torch.nn.Module]], block: int) -> str:
    seeds = max(len(runs) for runs in models.values())
    return (
        f"Trained candidates: {seeds} seed(s) each (eval.seeds); bootstrap blocks of "
        f"{block} consecutive test windows."
    )
