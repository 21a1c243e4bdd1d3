"""One model spec per run: shapes from the window, period and context from the profile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsalign.components.config import WindowConfig
from tsalign.components.data.meta import TIMESTAMP, DatasetMeta
from tsalign.components.models import model_spec
from tsalign.components.refs import DatasetRef, ProfileRef

ROWS, PERIOD = 480, 12


def write_dataset(root: Path, description: str = "Two synthetic sensors.") -> DatasetRef:
    """A canonical dataset (Parquet + meta JSON) of two noisy sines with period 12."""
    stamps = pd.date_range("2024-01-01", periods=ROWS, freq="h")
    rng = np.random.default_rng(0)
    wave = np.sin(2 * np.pi * np.arange(ROWS) / PERIOD)
    frame = pd.DataFrame(
        {TIMESTAMP: stamps, "a": wave + rng.normal(0, 0.1, ROWS), "b": 2 * wave + 1.0}
    )
    path = root / "syn.parquet"
    frame.to_parquet(path, index=False)
    meta = DatasetMeta(
        name="syn",
        source="synthetic",
        description=description,
        channels=["a", "b"],
        targets=["a", "b"],
        freq="h",
        rows=ROWS,
        start=str(stamps[0]),
        end=str(stamps[-1]),
    )
    meta_path = root / "syn.meta.json"
    meta_path.write_text(meta.model_dump_json())
    return DatasetRef(
        name="syn",
        path=str(path),
        meta_path=str(meta_path),
        md5="m" * 32 + ".dir",
        remote="/r",
        rows=ROWS,
        channels=["a", "b"],
        timestamp_col=TIMESTAMP,
        freq="h",
    )


@pytest.fixture
def dataset(tmp_path: Path) -> DatasetRef:
    return write_dataset(tmp_path)


WINDOW = WindowConfig(seq_len=48, horizon=12)


def _profile(period: int | None, context: str = "") -> ProfileRef:
    return ProfileRef(
        profile_path="/p.json", report_path="/r.md", dominant_period=period, domain_context=context
    )


def test_shapes_come_from_the_window_and_the_targets(dataset):
    spec = model_spec(dataset, WINDOW, None)
    assert (spec.seq_len, spec.horizon, spec.n_channels) == (48, 12, 2)


def test_the_profile_gives_period_and_context(dataset):
    spec = model_spec(dataset, WINDOW, _profile(24, "Profiled context."))
    assert (spec.season, spec.domain_context) == (24, "Profiled context.")


def test_a_set_season_wins_over_the_profiles(dataset):
    assert model_spec(dataset, WINDOW, _profile(24), season=12).season == 12
    assert model_spec(dataset, WINDOW, _profile(None), season=12).season == 12


def test_without_a_profile_there_is_no_period_and_the_description_is_the_context(dataset):
    spec = model_spec(dataset, WINDOW, None)
    assert (spec.season, spec.domain_context) == (None, "Two synthetic sensors.")


def test_training_and_evaluation_get_the_same_spec(tmp_path: Path):
    import json

    from tsalign.components.config import build_config
    from tsalign.components.models import ModelSpec, load_pretrained
    from tsalign.components.refs import TrainedCandidates
    from tsalign.flows.evaluate import evaluate_models
    from tsalign.flows.train import train_model

    dataset = write_dataset(tmp_path)
    # No period in the profile and eval.season set: the stages used to disagree here.
    profile = _profile(None, "Two profiled sensors.")
    config = build_config(
        {
            "data": {"name": "syn", "window": {"seq_len": 48, "horizon": 12}},
            "model": {"name": "seasonal_naive"},  # nothing to fit: exported as built, no Ray
            "compare": [],
            "eval": {"season": 12, "baselines": ["naive", "seasonal_naive"]},
            "train": {"storage_path": str(tmp_path / "runs")},
            "workdir": str(tmp_path / "outputs"),
        }
    )
    # The stage tasks with the inputs their flows give them (flows/train.py, flows/evaluate.py).
    protocol, season = config.data.protocol(), config.eval.season
    trained = train_model.fn(
        config.task,
        protocol,
        config.model,
        config.train,
        season,
        "seasonal_naive",
        dataset,
        profile,
    )
    _, _, train_spec = load_pretrained(Path(trained.checkpoint_uri))
    report = evaluate_models.fn(
        config.task,
        protocol,
        config.eval,
        config.publish.select,
        config.train.max_val_windows,
        config.registry.test_metric,
        config.workdir,
        dataset,
        profile,
        TrainedCandidates(runs=[trained]),
        {},
    )
    eval_spec = ModelSpec.from_dict(json.loads(Path(report.report_path).read_text())["spec"])
    assert eval_spec == train_spec
    assert (train_spec.season, train_spec.domain_context) == (12, "Two profiled sensors.")
