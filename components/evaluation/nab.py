"""The NAB score (Lavin & Ahmad 2015), computed as numenta/NAB's scorer does.

Follows ``nab/sweeper.py``, ``nab/optimizer.py``, ``nab/scorer.py`` and
``Runner.normalize`` of numenta/NAB (commit ea702d7):

* the first ``min(floor(0.15 * rows), 0.15 * 5000)`` rows of each file are probationary:
  they neither earn nor cost anything;
* a row inside a window scores ``scaledSigmoid(-(right - i + 1) / width) * tp / maxTP``
  (earliest is best); a row outside scores ``scaledSigmoid(|i - prev_right| / (prev_width
  - 1)) * fp`` after a window, ``-fp`` before any window;
* at threshold t (detection: anomaly score >= t) each window contributes the best score
  of its detected rows or ``-fn`` when none is detected, and every detected row outside
  windows adds its (negative) score;
* the threshold is tuned once per profile over the whole corpus (every distinct anomaly
  score is a candidate; ties go to the higher threshold, as NAB's stable sort does);
* the corpus total is normalised so that the null detector scores 0 and the perfect one 100:
  ``100 * (raw - null) / (windows * tp - null)``.

Point-wise and point-adjusted F1 are not NAB's score; :func:`point_f1` gives them at a
threshold, over the scored (post-probation) rows, labelled as such.

    profiles = load_profiles(Path("../shared/data/nab/config/profiles.json"))
    result = score_corpus(files, profiles["standard"])       # files: [ScoredFile]
    result.normalised, result.threshold, result.per_file
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

from tsalign.components.data.anomaly import probationary_rows
from tsalign.components.evaluation.metrics import anomaly_scores, point_adjust

NO_DETECTION = 1.1
"""NAB's first sweep threshold: above every score in [0, 1], so nothing is detected."""


@dataclass(frozen=True)
class Profile:
    """One NAB application profile: the weights of a true positive, false positive and miss."""

    name: str
    tp: float
    fp: float
    fn: float


@dataclass(frozen=True)
class ScoredFile:
    """A detector's output on one corpus file.

    Attributes:
        name: the file's relative name; names the windows in messages.
        scores: [rows] anomaly scores in [0, 1], one per row of the series.
        window_rows: [(start_row, end_row)] inclusive, sorted, not overlapping.
    """

    name: str
    scores: np.ndarray
    window_rows: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class FileScore:
    """A file's NAB score at one threshold, with the row counts NAB reports.

    ``total`` counts every row of the file (probationary ones too), as the published
    ``*_scores.csv`` files do; tp/tn/fp/fn count only scored rows.
    """

    name: str
    threshold: float
    score: float
    tp: int
    tn: int
    fp: int
    fn: int
    total: int


@dataclass(frozen=True)
class CorpusScore:
    """The result of one profile over a corpus.

    Attributes:
        profile: the profile's name.
        threshold: the corpus-wide threshold (tuned, unless given).
        raw: the sum of the per-file scores at that threshold.
        null: the null detector's raw score (every scored window missed).
        perfect: the perfect detector's raw score (every window hit at its first row).
        normalised: ``100 * (raw - null) / (perfect - null)``, the figure NAB publishes.
        per_file: one FileScore per file, in input order.
    """

    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float
    normalised: float
    per_file: tuple[FileScore, ...]


NAB_PROFILES = {
    "standard": Profile("standard", tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP_rate": Profile("reward_low_FP_rate", tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN_rate": Profile("reward_low_FN_rate", tp=1.0, fp=0.11, fn=2.0),
}
"""NAB's three application profiles (its config/profiles.json), so that scoring needs no
corpus checkout; a test checks them against the file."""


def load_profiles(path: Path) -> dict[str, Profile]:
    """Read NAB's ``config/profiles.json`` ({name: {"CostMatrix": {tpWeight, fpWeight, fnWeight}}}).

    Raises:
        ValueError: a missing file or weight, naming the file and profile.
    """
    if not path.is_file():
        raise ValueError(f"{path}: no such profiles file. Fix: pass NAB's config/profiles.json")
    profiles = {}
    for name, body in json.loads(path.read_text()).items():
        try:
            costs = body["CostMatrix"]
            profiles[name] = Profile(
                name, float(costs["tpWeight"]), float(costs["fpWeight"]), float(costs["fnWeight"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{path} [{name}]: bad cost matrix ({exc!r}). Fix: give "
                "CostMatrix with numeric tpWeight, fpWeight and fnWeight"
            ) from None
    return profiles


def scaled_sigmoid(position: np.ndarray) -> np.ndarray:
    """NAB's ``scaledSigmoid``: 2*sigmoid(-5x) - 1, and -1 beyond x = 3.

    ``x`` is the relative position: -1 at a window's left edge, 0 at its right edge,
    positive past it.
    """
    position = np.asarray(position, dtype=float)
    return np.where(position > 3.0, -1.0, 2.0 * expit(-5.0 * position) - 1.0)


def sweep_scores(
    rows: int, window_rows: tuple[tuple[int, int], ...], profile: Profile
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's weighted score were it detected, and the window it lies in.

    Returns:
        ([rows] float score, [rows] int window index, -1 outside every window).
    """
    max_tp = float(scaled_sigmoid(-1.0))
    sweep = np.full(rows, -1.0 * profile.fp)  # before any window: "really far away"
    window = np.full(rows, -1, dtype=np.int64)
    for k, (start, end) in enumerate(window_rows):
        width = end - start + 1
        inside = np.arange(start, end + 1)
        sweep[start : end + 1] = scaled_sigmoid(-(end - inside + 1) / width) * profile.tp / max_tp
        window[start : end + 1] = k
        stop = window_rows[k + 1][0] if k + 1 < len(window_rows) else rows
        after = np.arange(end + 1, stop)
        # A one-row window divides by zero in NAB; here the position is +inf (score -1).
        with np.errstate(divide="ignore"):
            past = np.abs(end - after) / float(width - 1)
        sweep[end + 1 : stop] = scaled_sigmoid(past) * profile.fp
    return sweep, window


def _check(file: ScoredFile) -> None:
    scores = np.asarray(file.scores, dtype=float)
    if scores.ndim != 1 or not np.all(np.isfinite(scores)):
        raise ValueError(f"{file.name}: anomaly scores must be a 1-D array of finite numbers")
    if scores.size and (scores.min() < 0.0 or scores.max() > 1.0):
        raise ValueError(
            f"{file.name}: anomaly scores must lie in [0, 1] (got {scores.min()} "
            f"..{scores.max()}). Fix: map the detector's output into [0, 1]"
        )
    for start, end in file.window_rows:
        if not 0 <= start <= end < scores.size:
            raise ValueError(
                f"{file.name}: window rows ({start}, {end}) outside the "
                f"{scores.size} rows scored. Fix: score every row of the series"
            )


def score_file(file: ScoredFile, profile: Profile, threshold: float) -> FileScore:
    """Score one file at a threshold (a detection is a scored row with score >= threshold)."""
    _check(file)
    scores = np.asarray(file.scores, dtype=float)
    sweep, window = sweep_scores(scores.size, file.window_rows, profile)
    scored = np.arange(scores.size) >= probationary_rows(scores.size)
    detected = scored & (scores >= threshold)
    inside = window >= 0
    fp_part = float(sweep[detected & ~inside].sum())
    scored_windows = np.unique(window[scored & inside])
    hit = detected & inside
    best = pd.Series(sweep[hit]).groupby(window[hit]).max()
    window_part = float(np.maximum(best, -profile.fn).sum()) - profile.fn * (
        scored_windows.size - best.size
    )
    return FileScore(
        name=file.name,
        threshold=threshold,
        score=fp_part + window_part,
        tp=int(hit.sum()),
        tn=int((scored & ~detected & ~inside).sum()),
        fp=int((detected & ~inside).sum()),
        fn=int((scored & ~detected & inside).sum()),
        total=int(scores.size),
    )


def sweep_thresholds(files: list[ScoredFile], profile: Profile) -> pd.DataFrame:
    """The corpus score at every candidate threshold, highest threshold first (NAB's sweep).

    Returns:
        A frame with columns threshold, score, tp, tn, fp, fn; the first row is the
        no-detection threshold 1.1, then one row per distinct anomaly score.
    """
    scores, sweeps, windows = [], [], []
    offset = 0
    for file in files:
        _check(file)
        s = np.asarray(file.scores, dtype=float)
        sweep, window = sweep_scores(s.size, file.window_rows, profile)
        keep = slice(probationary_rows(s.size), None)
        scores.append(s[keep])
        sweeps.append(sweep[keep])
        # Window indices made unique across files.
        windows.append(np.where(window[keep] >= 0, window[keep] + offset, -1))
        offset += len(file.window_rows)
    score, sweep, window = (np.concatenate(a) for a in (scores, sweeps, windows))

    order = np.argsort(-score, kind="stable")  # [scored rows], highest score first
    score, sweep, window = score[order], sweep[order], window[order]
    inside = window >= 0
    fp_running = np.cumsum(np.where(inside, 0.0, sweep))
    # Each window counts the best score among its detected rows, -fn while none is:
    # the running total gains a window's improvement each time its best rises.
    best = pd.Series(sweep[inside]).groupby(window[inside]).cummax().clip(lower=-profile.fn)
    previous = best.groupby(window[inside]).shift(fill_value=-profile.fn)
    gain = np.zeros(score.size)
    gain[inside] = (best - previous).to_numpy()
    n_windows = np.unique(window[inside]).size
    total = -profile.fn * n_windows + fp_running + np.cumsum(gain)
    tp = np.cumsum(inside)
    fp = np.cumsum(~inside)

    # A threshold's figures are those after the last row carrying that score.
    last = np.flatnonzero(np.append(score[1:] != score[:-1], True))
    n_in, n_out = int(inside.sum()), int((~inside).sum())
    return pd.DataFrame(
        {
            "threshold": np.append(NO_DETECTION, score[last]),
            "score": np.append(-profile.fn * n_windows, total[last]),
            "tp": np.append(0, tp[last]),
            "tn": np.append(n_out, n_out - fp[last]),
            "fp": np.append(0, fp[last]),
            "fn": np.append(n_in, n_in - tp[last]),
        }
    )


def optimise_threshold(files: list[ScoredFile], profile: Profile) -> tuple[float, float]:
    """NAB's optimizer: the threshold with the best corpus score (ties: the higher one).

    Returns:
        (threshold, raw corpus score at it).
    """
    sweep = sweep_thresholds(files, profile)
    best = int(sweep["score"].to_numpy().argmax())  # first maximum = highest threshold
    return float(sweep["threshold"].iloc[best]), float(sweep["score"].iloc[best])


def score_corpus(
    files: list[ScoredFile], profile: Profile, threshold: float | None = None
) -> CorpusScore:
    """Tune the threshold over the corpus (unless given), score each file and normalise.

    Raises:
        ValueError: no files, bad scores, or windows outside a file's rows.
    """
    if not files:
        raise ValueError("no files to score. Fix: pass at least one ScoredFile")
    if threshold is None:
        threshold, _ = optimise_threshold(files, profile)
    per_file = tuple(score_file(f, profile, threshold) for f in files)
    raw = sum(f.score for f in per_file)
    # The null detector misses every window that has a scored row; the perfect one
    # hits every labelled window at its first row (NAB counts all windows here).
    null = sum(score_file(f, profile, NO_DETECTION).score for f in files)
    perfect = profile.tp * sum(len(f.window_rows) for f in files)
    return CorpusScore(
        profile=profile.name,
        threshold=threshold,
        raw=raw,
        null=null,
        perfect=perfect,
        normalised=100.0 * (raw - null) / (perfect - null),
        per_file=per_file,
    )


def point_f1(files: list[ScoredFile], threshold: float) -> dict[str, float]:
    """Point-wise and point-adjusted precision/recall/F1 (not NAB's score) at a threshold.

    Rows inside windows are the positives; only scored (post-probation) rows count.
    Point adjustment (Xu et al. 2018) marks a whole window detected when any of its
    rows is, which inflates recall; both are reported so that neither is mistaken
    for the other.

    Returns:
        {"pointwise_precision", "pointwise_recall", "pointwise_f1", "point_adjusted_precision",
        "point_adjusted_recall", "point_adjusted_f1"}.
    """
    flags, adjusted_flags, truths = [], [], []
    for file in files:
        _check(file)
        s = np.asarray(file.scores, dtype=float)
        truth = np.zeros(s.size, dtype=bool)
        for start, end in file.window_rows:
            truth[start : end + 1] = True
        keep = slice(probationary_rows(s.size), None)
        flag = (s >= threshold)[keep]
        flags.append(flag)
        # Adjusted per file, so that no window runs across two files.
        adjusted_flags.append(point_adjust(flag, truth[keep]))
        truths.append(truth[keep])
    truth = np.concatenate(truths)
    pointwise = anomaly_scores(np.concatenate(flags), truth)
    adjusted = anomaly_scores(np.concatenate(adjusted_flags), truth)
    return {f"pointwise_{k}": v for k, v in pointwise.items()} | {
        f"point_adjusted_{k}": v for k, v in adjusted.items()
    }
