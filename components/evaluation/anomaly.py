"""Anomaly evaluation: every detector scored on every row of the corpus, NAB's way.

Each trained detector (``components.inference.detector``) and each classic baseline
(windowed Gaussian, isolation forest: ``components.models.anomaly_baselines``) scores
every row of every series online; nothing reads a label. The NAB scorer
(``components.evaluation.nab``) then tunes one threshold per profile over the corpus, as
NAB's optimizer does, and normalises the score (null detector 0, perfect 100).
Point-wise and point-adjusted F1 at the standard threshold go beside it, labelled: they
are not NAB's score.

Choosing the candidate to publish (``publish.select: best_val``) reads no label: it is
the forecast MSE on the last ``VAL_SHARE`` of each series' probationary rows
(``components.data.anomaly_windows``), the same windows training validated on. The
promotion gate compares ``nab_standard_gap`` (100 minus the standard NAB score: lower
is better, like every gated metric) with the windowed Gaussian's.

    result = evaluate_detectors(dataset_path, {"gpt4ts": [run_dir]}, spec, out_dir, ...)
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from tsalign.components.data.anomaly import AnomalySeries, probationary_rows
from tsalign.components.data.anomaly_ingest import load_ingested
from tsalign.components.data.anomaly_windows import probation_windows
from tsalign.components.device import resolve_device
from tsalign.components.evaluation.nab import NAB_PROFILES, ScoredFile, point_f1, score_corpus
from tsalign.components.inference.detector import DETECTOR_FILE, DetectorSettings, score_series
from tsalign.components.models.anomaly_baselines import get_detector
from tsalign.components.models.persistence import load_pretrained
from tsalign.components.models.spec import ModelSpec
from tsalign.components.storage import local_path, write_json_atomic, write_text_atomic

if TYPE_CHECKING:
    from tsalign.components.refs import EvalReport
    from tsalign.components.registry.registry import Registry
    from tsalign.components.tasks.base import EvalRequest

VAL_SHARE = 0.2
"""Share of each series' probationary rows whose forecasts validate (label-free)."""
BASELINES = ("windowed_gaussian", "isolation_forest")
"""The classic detectors every evaluation scores beside the trained ones."""
GATE_BASELINE = "windowed_gaussian"
"""The baseline a promoted detector must beat on the standard NAB score."""
GATE_METRIC = "nab_standard_gap"
"""100 minus the standard NAB score: the gated metric (lower is better)."""
METRICS_FILE = "metrics.json"
REPORT_FILE = "nab.md"


@dataclass(frozen=True)
class DetectorScores:
    """One scored detector: its corpus metrics and the thresholds it was tuned to."""

    metrics: dict[str, float]
    thresholds: dict[str, float]
    seconds: float


def nab_metrics(files: list[ScoredFile]) -> tuple[dict[str, float], dict[str, float]]:
    """NAB score per profile (thresholds tuned over ``files``) and F1 at the standard threshold.

    Returns:
        (metrics, thresholds): metrics ``nab_<profile>``, ``nab_standard_gap``,
        ``pointwise_*`` and ``point_adjusted_*``; thresholds profile -> tuned threshold.
    """
    metrics, thresholds = {}, {}
    for name, profile in NAB_PROFILES.items():
        result = score_corpus(files, profile)
        metrics[f"nab_{name}"] = result.normalised
        thresholds[name] = result.threshold
    metrics[GATE_METRIC] = 100.0 - metrics["nab_standard"]
    metrics.update(point_f1(files, thresholds["standard"]))
    return metrics, thresholds


def baseline_files(corpus: list[AnomalySeries], name: str, seed: int) -> list[ScoredFile]:
    """Every series scored by the classic detector ``name`` (fit on probation rows at most)."""
    detector = get_detector(name)
    return [
        ScoredFile(
            s.name, detector(s.values, probationary_rows(len(s.values)), seed), s.window_rows
        )
        for s in corpus
    ]


def detector_files(
    model: torch.nn.Module,
    spec: ModelSpec,
    corpus: list[AnomalySeries],
    settings: DetectorSettings,
    batch_size: int,
    device: torch.device,
) -> list[ScoredFile]:
    """Every series scored by a trained forecast-error detector."""
    return [
        ScoredFile(
            s.name, score_series(model, spec, s.values, settings, batch_size, device), s.window_rows
        )
        for s in corpus
    ]


def probation_loss(
    model: torch.nn.Module,
    spec: ModelSpec,
    corpus: list[AnomalySeries],
    batch_size: int,
    device: torch.device,
) -> float:
    """Forecast MSE over the validation windows of the probationary rows (no labels)."""
    _, val = probation_windows(corpus, spec.seq_len, spec.horizon, VAL_SHARE)
    total, count = 0.0, 0
    model.to(device).eval()
    with torch.no_grad():
        for x, y in DataLoader(val, batch_size=batch_size):
            pred = model(x.to(device)).float().cpu()
            total += float(torch.sum((pred - y) ** 2))
            count += y.numel()
    return total / max(count, 1)


def _mean_sd(runs: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each metric over seeds, plus ``<metric>_sd`` when there are several."""
    out = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
    if len(runs) > 1:
        out |= {f"{k}_sd": statistics.stdev(r[k] for r in runs) for k in runs[0]}
    return out


def evaluate_detectors(
    dataset_path: str,
    candidates: Mapping[str, str | Sequence[str]],
    out_dir: Path,
    *,
    batch_size: int = 512,
    device: str = "cpu",
    baseline_seeds: Sequence[int] = (0,),
) -> dict[str, Any]:
    """Score every candidate run and baseline over the corpus; write the results.

    Args:
        dataset_path: the ingested anomaly corpus (``data/<name>.parquet``).
        candidates: candidate name -> its exported model directory (a run's
            ``checkpoint_uri``), or one per training seed (metrics are then the mean, with ``_sd``).
        out_dir: where ``metrics.json``, ``nab.md`` and each candidate's
            ``<name>/detector.json`` (its first seed's tuned thresholds) are written.
        batch_size: windows per forward pass.
        device: ``cpu`` or ``cuda``.
        baseline_seeds: seeds of the isolation forest (mean over them).

    Returns:
        {"metrics": name -> metrics, "validation": candidate -> probation loss,
        "detectors": candidate -> detector.json path, "series": count, "rows": count}.
    """
    corpus = load_ingested(dataset_path)
    target = torch.device(device)
    metrics: dict[str, dict[str, float]] = {}
    validation: dict[str, float] = {}
    detectors: dict[str, str] = {}
    for name, runs in candidates.items():
        runs = [runs] if isinstance(runs, str) else list(runs)
        seeds, losses = [], []
        for k, run in enumerate(runs):
            model, _, spec = load_pretrained(local_path(run))
            started = time.perf_counter()
            files = detector_files(model, spec, corpus, DetectorSettings(), batch_size, target)
            scores, thresholds = nab_metrics(files)
            seeds.append(scores | {"score_seconds": time.perf_counter() - started})
            losses.append(probation_loss(model, spec, corpus, batch_size, target))
            if k == 0:  # the run publish takes
                path = out_dir / name / DETECTOR_FILE
                path.parent.mkdir(parents=True, exist_ok=True)
                settings = DetectorSettings(thresholds=thresholds)
                write_text_atomic(path, settings.model_dump_json(indent=2) + "\n")
                detectors[name] = str(path)
        metrics[name] = _mean_sd(seeds) | {"probation_val_loss": float(np.mean(losses))}
        validation[name] = float(np.mean(losses))
    for name in BASELINES:
        seeds = baseline_seeds if name == "isolation_forest" else (0,)
        runs = []
        for seed in seeds:
            started = time.perf_counter()
            files = baseline_files(corpus, name, seed)
            wall = time.perf_counter() - started
            runs.append(nab_metrics(files)[0] | {"score_seconds": wall})
        metrics[name] = _mean_sd(runs)
    result = {
        "metrics": metrics,
        "validation": validation,
        "detectors": detectors,
        "series": len(corpus),
        "rows": int(sum(len(s.values) for s in corpus)),
        "windows": int(sum(len(s.window_rows) for s in corpus)),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / METRICS_FILE, result)
    write_text_atomic(out_dir / REPORT_FILE, report_markdown(result))
    return result


SCOREBOARD = (
    ("Numenta HTM (published)", "70.1–70.5", "63.1", "74.3"),
    ("Random Cut Forest (published)", "51.7", "38.4", "59.7"),
    ("Windowed Gaussian (published)", "39.6", "20.9", "47.4"),
    ("Random (published, NAB README)", "11.0", "1.2", "19.5"),
)
"""NAB's published scoreboard (numenta/NAB README): standard, low FP, low FN."""


def report_markdown(result: Mapping[str, Any]) -> str:
    """The NAB table of an evaluation beside the published scoreboard."""
    lines = [
        f"# NAB: {result['series']} series, {result['rows']} rows, {result['windows']} windows",
        "",
        "Thresholds tuned once per profile over the corpus (NAB's optimizer). F1 columns are "
        "at the standard threshold and are not NAB's score.",
        "",
        "| detector | standard | low FP | low FN | point-wise F1 | point-adjusted F1 | "
        "probation val MSE |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = sorted(result["metrics"].items(), key=lambda kv: -kv[1]["nab_standard"])
    for name, m in rows:
        val = f"{m['probation_val_loss']:.4f}" if "probation_val_loss" in m else "—"
        lines.append(
            f"| {name} | {m['nab_standard']:.1f} | {m['nab_reward_low_FP_rate']:.1f} | "
            f"{m['nab_reward_low_FN_rate']:.1f} | {m['pointwise_f1']:.3f} | "
            f"{m['point_adjusted_f1']:.3f} | {val} |"
        )
    lines += [f"| {n} | {s} | {fp} | {fn} | — | — | — |" for n, s, fp, fn in SCOREBOARD]
    return "\n".join(lines) + "\n"


def read_metrics(out_dir: Path) -> dict[str, Any]:
    """The ``metrics.json`` an evaluation wrote."""
    return json.loads((out_dir / METRICS_FILE).read_text())


def evaluate_request(request: EvalRequest) -> EvalReport:
    """The evaluate stage for ``task: anomaly``: score, select by probation loss, report.

    ``publish.select: best_val`` picks the candidate with the lowest probation-period
    forecast MSE among those that beat the windowed Gaussian's standard NAB score (that
    floor reads the labels; the ranking never does); ``model`` publishes ``model.name``.
    The selected candidate's tuned ``detector.json`` is handed to publish.
    """
    from tsalign.components.refs import EvalReport
    from tsalign.components.registry.gates import select_candidate

    result = evaluate_detectors(
        request.dataset_path,
        request.candidates,
        request.out_dir,
        batch_size=request.eval_cfg.batch_size,
        device=resolve_device(request.eval_cfg.device, "eval.device"),
    )
    metrics = result["metrics"]
    primary = next(iter(request.candidates))
    selection = select_candidate(
        result["validation"],
        metrics,
        metrics[GATE_BASELINE],
        mode=request.select,
        primary=primary,
        test_metric=GATE_METRIC,
        baseline_label="windowed Gaussian",
    )
    return EvalReport(
        report_path=str(request.out_dir / METRICS_FILE),
        test_windows=result["rows"],
        metrics=metrics,
        candidate=selection.name,
        validation=result["validation"],
        selection_reason=selection.reason,
        leaderboard_path=str(request.out_dir / REPORT_FILE),
        files={DETECTOR_FILE: result["detectors"][selection.name]},
    )


class ProbationValidation:
    """The champion gate's label-free score: a published detector's probation forecast MSE
    on this run's corpus (the loss ``publish.select: best_val`` ranks candidates by)."""

    def __init__(self, dataset_path: str, batch_size: int, device: str) -> None:
        self.corpus = load_ingested(dataset_path)
        self.batch_size = batch_size
        self.device = torch.device(resolve_device(device, "eval.device"))

    def score_published(self, registry: Registry, name: str, version: int) -> float:
        """Probation MSE of registry version ``name:version``.

        Raises:
            ChampionNotComparable: the version is not an anomaly detector.
        """
        from tsalign.components.inference.detector import Detector
        from tsalign.components.inference.errors import PredictError
        from tsalign.components.inference.published import downloaded
        from tsalign.components.registry.gates import ChampionNotComparable

        try:
            with downloaded(registry, f"{name}:{version}") as (exact, local):
                detector = Detector.load(local, device=str(self.device.type), label=exact)
        except PredictError as err:
            raise ChampionNotComparable(str(err)) from None
        return probation_loss(
            detector.model, detector.spec, self.corpus, self.batch_size, self.device
        )
