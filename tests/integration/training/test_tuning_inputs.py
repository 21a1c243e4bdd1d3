"""A real Ray Tune search of a text-fused and of a retrieval candidate (Ray Train + DeepSpeed
trials on CPU): every trial trains with the search's window texts or retrieval index, and
the chosen run's exported model holds its text width or the index itself.

The catalogue refuses retrieval combined with text fusion, so the two are two candidates,
searched one after the other in the module's one local Ray instance.
"""

from __future__ import annotations

import math
from pathlib import Path

import _tiny
import numpy as np
import pandas as pd
import pytest

from tsalign.components.config import RunConfig, TuneConfig
from tsalign.components.data.retrieval_index import load_index
from tsalign.components.data.text import text_path
from tsalign.components.data.text_features import load_window_texts
from tsalign.components.models import ModelSpec, load_pretrained
from tsalign.components.models.fusion import TextFusion
from tsalign.components.training.candidates import (
    retrieval_index_file,
    window_texts_file,
    with_retrieval_dims,
    with_text_dims,
)
from tsalign.components.training.tuning import index_model, tune_candidate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A 48-step window, so that every DLinear kernel of the search space (13, 25) fits.
WINDOW = {"seq_len": 48, "horizon": 6}
TUNE = TuneConfig(num_samples=2, max_epochs=1, grace_period=1, max_concurrent_trials=1)


def _config(root: Path, model: dict) -> RunConfig:
    return RunConfig.model_validate(
        {
            "workdir": str(root / "work"),
            "data": {
                "name": "tiny",
                "source": "synthetic",
                "window": WINDOW,
                "text": {"sources": [{"source": "notes.csv"}], "last": 2, "lag": "1D"},
            },
            "model": model,
            "compare": [],
        }
    )


def _write_notes(series: str) -> None:
    """A note every two days over the tiny series, beside it (what ingest writes)."""
    ends = pd.date_range("2024-01-03", periods=60, freq="2D")
    pd.DataFrame(
        {"source": "notes.csv", "start": ends - pd.Timedelta("2D"), "end": ends,
         "field": "fact", "text": [f"load peaked at {i % 7} pm" for i in range(len(ends))]}
    ).to_parquet(text_path(series), index=False)  # fmt: skip


def _search(config: RunConfig, dataset, train, text: str | None, index: str | None):
    """One candidate's search; every trial must finish. -> chosen export, spec, the search."""
    spec = ModelSpec(seq_len=48, horizon=6, n_channels=1, season=24, domain_context="")
    spec = with_retrieval_dims(with_text_dims(spec, config.model, text), index)
    result = tune_candidate(
        dataset,
        config.data.protocol(),
        config.model,
        train,
        TUNE,
        spec,
        Path(config.workdir) / "out",
        text,
        index,
    )
    search = result.tuning
    assert search is not None and len(search.trials) == TUNE.num_samples
    for trial in search.trials:
        assert trial.status == "finished", f"{trial.trial_id}: {trial.error}"
        assert trial.val_loss is not None and math.isfinite(trial.val_loss)
    return load_pretrained(Path(result.checkpoint_uri)), spec, search


def test_fused_and_retrieval_candidates_are_searched_with_their_inputs(ray_local, tmp_path):
    dataset = _tiny.write_dataset(tmp_path / "data")
    _write_notes(dataset.path)
    train = _tiny.train_cfg(tmp_path / "runs", num_workers=1)

    fused = _config(tmp_path, {"name": "dlinear", "params": {"text_fusion": "add"}})
    texts = window_texts_file(fused, dataset, None)
    assert texts is not None
    (model, cfg, spec), searched, _ = _search(fused, dataset, train, texts, None)
    window_texts = load_window_texts(texts)
    assert cfg.fuses_text and spec == searched
    assert (spec.text_dim, spec.text_tokens) == (window_texts.text_dim, 2)
    assert isinstance(model, TextFusion) and model.text_head.in_features == spec.text_dim

    # RETRIEVAL_SPACE samples k in (3, 5, 10): the one index holds 10 neighbours per window
    retrieving = _config(tmp_path, {"name": "retrieval_wo_llm", "retrieval": {"k": 3, "stride": 8}})
    wide = index_model(retrieving.model)
    index = retrieval_index_file(retrieving.data, retrieving.workdir, dataset, wide, train)
    assert load_index(index).neighbours["train"].shape[-1] == 10
    (model, cfg, spec), searched, search = _search(retrieving, dataset, train, None, index)
    # the seeded sampling tries a k below the index's: it trains on the nearest k of the 10
    assert {t.overrides["model.retrieval.k"] for t in search.trials} == {3, 10}
    assert cfg.retrieval.k in (3, 10) and spec == searched
    np.testing.assert_array_equal(model.keys.numpy(), load_index(index).keys)
