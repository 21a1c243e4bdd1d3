"""Retrieval augmentation (``model.retrieval``): the index holds training windows only, a
training window never retrieves one it overlaps, the index is built once per data version
and backbone, it travels inside the saved model, and the entries learn a real slice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from pydantic import ValidationError

from tsalign.components.config import DataConfig, ModelConfig, RunConfig
from tsalign.components.data.meta import TIMESTAMP, DatasetMeta
from tsalign.components.data.retrieval_index import (
    RetrievalError,
    build_index,
    load_index,
    prepare_index,
)
from tsalign.components.data.splits import prepare_splits, split_borders
from tsalign.components.data.windows import (
    RetrievalWindowDataset,
    WindowDataset,
    capped_indices,
)
from tsalign.components.models import ModelSpec, build_model, load_pretrained, save_pretrained
from tsalign.components.models.catalogue import ablations_of, get_entry
from tsalign.components.models.retrieval import RawEmbedder, RetrievalForecaster
from tsalign.components.models.spec import ModelBuildError

ETTH1 = Path("/work/shared/data/ett/ETTh1.csv")
CHANNELS = ["HUFL", "OT"]


@pytest.fixture(scope="module")
def ett() -> np.ndarray:
    """ETTh1's full length (its train/val/test borders), two channels, raw units."""
    if not ETTH1.is_file():
        pytest.fail(f"{ETTH1} is missing: the shared ETT data set is part of the workspace")
    return pd.read_csv(ETTH1)[CHANNELS].to_numpy(np.float32)


def _data(seq_len: int = 96, horizon: int = 24, stride: int = 24) -> DataConfig:
    return DataConfig(
        split="ett_hour", window={"seq_len": seq_len, "horizon": horizon, "stride": stride}
    )


def _model(name: str = "retrieval_wo_llm", **retrieval: object) -> ModelConfig:
    return ModelConfig.model_validate({"name": name, "retrieval": retrieval})


def _built(index, data: DataConfig, cfg: ModelConfig) -> RetrievalForecaster:
    spec = ModelSpec(
        data.window.seq_len,
        data.window.horizon,
        index.series.shape[1],
        retrieval_rows=len(index.series),
        retrieval_windows=len(index.starts),
    )
    model = build_model(cfg, spec)
    model.set_index(index)
    return model.eval()


def test_the_index_holds_training_rows_only_and_val_test_windows_reach_only_it(ett):
    data = _data()
    splits = prepare_splits(ett, data.protocol())
    borders = split_borders(len(ett), data.protocol())
    cfg = _model(k=3, stride=8)
    index = build_index(splits.train, splits.val, data, cfg.retrieval, (64, 64), RawEmbedder())
    # the index's series is the training split, which ends where the validation targets start
    np.testing.assert_array_equal(index.series, splits.train)
    assert borders.train[1] == 8640 <= borders.val[0] + data.window.seq_len
    # no indexed window's future reaches past the training rows
    span = data.window.seq_len + data.window.horizon
    assert index.starts.max() + span <= len(splits.train)
    # the model searches the same index for any other window: validation and test alike
    model = _built(index, data, cfg)
    for split in (splits.val, splits.test):
        windows = WindowDataset(split, data.window.seq_len, data.window.horizon, 1)
        x = torch.stack([windows[i][0] for i in capped_indices(len(windows), 16)])
        with torch.no_grad():
            ids = model.retrieve(x).numpy()
        assert ids.min() >= 0 and ids.max() < len(index.starts)
        rows = index.starts[ids] + span  # one past each retrieved window's last row
        assert rows.max() <= borders.train[1]


def test_a_training_window_never_retrieves_a_window_it_overlaps(ett):
    data = _data(stride=4)
    splits = prepare_splits(ett[:3000], DataConfig(window=data.window).protocol())
    cfg = _model(k=5, stride=2)
    index = build_index(splits.train, splits.val, data, cfg.retrieval, (None, 8), RawEmbedder())
    span = data.window.seq_len + data.window.horizon
    found = index.neighbours["train"]  # [W, C, k] for every training window (no cap)
    assert (found >= 0).all()
    query_starts = np.arange(len(found)) * data.window.stride
    retrieved = index.starts[found]  # [W, C, k]
    assert (np.abs(retrieved - query_starts[:, None, None]) >= span).all()
    # yet overlapping windows are the nearest ones: without the exclusion they would win
    model = _built(index, data, cfg)
    x = torch.from_numpy(
        np.stack([splits.train[s : s + data.window.seq_len] for s in query_starts])
    )
    with torch.no_grad():
        unfiltered = index.starts[model.retrieve(x).numpy()]
    assert (np.abs(unfiltered - query_starts[:, None, None]) < span).any()


def test_validation_neighbours_are_what_the_model_finds_itself(ett):
    """The recipe's precomputed neighbours and the model's own search agree."""
    data = _data()
    splits = prepare_splits(ett, data.protocol())
    cfg = _model(k=4, stride=16)
    index = build_index(splits.train, splits.val, data, cfg.retrieval, (32, 32), RawEmbedder())
    windows = WindowDataset(splits.val, data.window.seq_len, data.window.horizon, 1)
    kept = capped_indices(len(windows), 32)
    assert (index.neighbours["val"][kept] >= 0).all()
    x = torch.stack([windows[i][0] for i in kept])
    with torch.no_grad():
        live = _built(index, data, cfg).retrieve(x).numpy()
    np.testing.assert_array_equal(live, index.neighbours["val"][kept])
    with pytest.raises(IndexError, match="no neighbours"):
        outside = next(i for i in range(len(windows)) if i not in set(kept))
        RetrievalWindowDataset(windows, index.neighbours["val"])[outside]


def _write_dataset(root: Path, values: np.ndarray) -> str:
    """``values`` as a canonical Parquet file with its metadata (what ingest writes)."""
    stamps = pd.date_range("2016-07-01", periods=len(values), freq="h")
    frame = pd.DataFrame({TIMESTAMP: stamps, **dict(zip(CHANNELS, values.T, strict=True))})
    path = root / "ett.parquet"
    frame.to_parquet(path, index=False)
    meta = DatasetMeta(
        name="ett",
        source="ETTh1.csv",
        channels=CHANNELS,
        targets=CHANNELS,
        freq="h",
        rows=len(values),
        start=str(stamps[0]),
        end=str(stamps[-1]),
    )
    (root / "ett.meta.json").write_text(json.dumps(meta.model_dump()))
    return str(path)


def test_the_index_is_built_once_per_data_version_and_backbone(tmp_path, ett):
    dataset = _write_dataset(tmp_path, ett[:1500])
    data = DataConfig(window={"seq_len": 96, "horizon": 24, "stride": 8})
    retrieval = _model(k=3, stride=8).retrieval
    calls: list[int] = []

    def counting():
        calls.append(1)
        return RawEmbedder()

    def prepare(md5: str, backbone: str = "minilm") -> Path:
        return prepare_index(
            dataset, md5, data, retrieval, backbone, (64, 32), tmp_path / "cache", counting
        )

    first = prepare("a" * 32)
    assert prepare("a" * 32) == first and len(calls) == 1  # cached
    assert prepare("b" * 32) != first and len(calls) == 2  # a new data version
    # raw embeddings do not read the backbone, so another backbone reuses them ...
    assert prepare("b" * 32, "other-lm") != first and len(calls) == 2
    # ... while LM embeddings are rebuilt for it
    lm = _model("retrieval", k=3, stride=8).retrieval
    keys = {
        prepare_index(dataset, "b" * 32, data, lm, b, (64, 32), tmp_path / "cache", counting)
        for b in ("minilm", "other-lm")
    }
    assert len(keys) == 2 and len(calls) == 4
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(
        {first.name, prepare("b" * 32).name, *(p.name for p in keys)}
    )
    assert load_index(first).keys.shape[1:] == (2, 32)


@pytest.mark.parametrize("fusion", ["concat", "attention"])
@pytest.mark.parametrize("name", ["retrieval", "retrieval_wo_llm"])
def test_shape_and_save_load_round_trip_with_the_index_inside(tmp_path, ett, name, fusion):
    data = _data(seq_len=48, horizon=12, stride=12)
    splits = prepare_splits(ett[:2000], DataConfig(window=data.window).protocol())
    cfg = _model(name, k=2, stride=64, fusion=fusion)
    # the LM embeds every window summary: keep the index small on 2 CPU cores
    embedder = build_model(cfg, ModelSpec(48, 12, 2)).embedder
    index = build_index(splits.train, splits.val, data, cfg.retrieval, (4, 4), embedder)
    model = _built(index, data, cfg)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    x = torch.from_numpy(np.stack([splits.val[i : i + 48] for i in (0, 50, 100)]))
    with torch.no_grad():
        expected = model(x)
    assert expected.shape == (3, 12, 2) and torch.isfinite(expected).all()
    save_pretrained(model, cfg, model_spec := _spec_of(model), tmp_path / "m")
    loaded, loaded_cfg, loaded_spec = load_pretrained(tmp_path / "m")
    assert loaded_cfg.retrieval == cfg.retrieval and loaded_spec == model_spec
    np.testing.assert_array_equal(loaded.keys.numpy(), index.keys)  # the index travelled
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), expected)


def _spec_of(model: RetrievalForecaster) -> ModelSpec:
    return ModelSpec(
        model.seq_len,
        model.horizon,
        model.series.shape[1],
        retrieval_rows=model.series.shape[0],
        retrieval_windows=model.starts.shape[0],
    )


@pytest.mark.parametrize(
    ("name", "fusion"),
    [("retrieval", "concat"), ("retrieval_wo_llm", "concat"), ("retrieval_wo_llm", "attention")],
)
def test_overfits_a_real_slice(ett, name, fusion):
    """First 1000 hourly ETTh1 rows (OT and HUFL), 8 training windows, their neighbours."""
    data = _data(seq_len=96, horizon=24, stride=100)
    values = (ett[:1000] - ett[:1000].mean(0)) / ett[:1000].std(0)
    cfg = _model(name, k=3, stride=48, fusion=fusion)
    embedder = build_model(cfg, ModelSpec(96, 24, 2)).embedder
    index = build_index(values, values[:200], data, cfg.retrieval, (8, 1), embedder)
    kept = capped_indices(len(index.neighbours["train"]), 8)
    x = torch.from_numpy(np.stack([values[i * 100 : i * 100 + 96] for i in kept]))
    y = torch.from_numpy(np.stack([values[i * 100 + 96 : i * 100 + 120] for i in kept]))
    ids = torch.from_numpy(index.neighbours["train"][kept])
    torch.manual_seed(0)
    model = _built(index, data, cfg).train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(300):
        loss = torch.nn.functional.mse_loss(model(x, ids), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if losses[-1] < losses[0] / 10:
            break
    assert min(losses) < losses[0] / 10, f"{name}: loss {losses[0]:.3f} -> {min(losses):.4f}"


def test_the_ablation_pairing_and_what_the_config_refuses():
    assert ablations_of("retrieval") == ["retrieval_wo_llm"]
    assert get_entry("retrieval_wo_llm").ablation == "wo_llm"
    assert ModelConfig(name="retrieval").retrieval.embed == "lm"
    assert ModelConfig(name="retrieval_wo_llm").retrieval.embed == "raw"
    # the pair shares every setting but the embedding; other compare entries get none
    run = RunConfig.model_validate(
        {
            "model": {"name": "retrieval", "retrieval": {"k": 7, "fusion": "attention"}},
            "compare": ["retrieval_wo_llm", "dlinear"],
        }
    )
    models = {c.model.name: c.model.retrieval for c in run.candidates()}
    assert models["retrieval_wo_llm"].model_dump() == {
        "k": 7,
        "embed": "raw",
        "fusion": "attention",
        "stride": 4,
    }
    assert models["dlinear"] is None
    with pytest.raises(ValidationError, match=r"use model\.name=retrieval"):
        _model("retrieval_wo_llm", embed="lm")
    with pytest.raises(ValidationError, match="'naive' has nothing to train"):
        _model("naive", k=3)
    with pytest.raises(ValidationError, match="cannot be combined"):
        ModelConfig.model_validate(
            {"name": "dlinear", "retrieval": {}, "params": {"text_fusion": "add"}}
        )


def test_any_forecaster_takes_retrieval_and_too_large_k_is_named(ett):
    data = _data(seq_len=48, horizon=12, stride=12)
    splits = prepare_splits(ett[:2000], DataConfig(window=data.window).protocol())
    cfg = ModelConfig.model_validate(
        {"name": "patchtst", "retrieval": {"k": 2, "embed": "raw", "stride": 16}}
    )
    index = build_index(splits.train, splits.val, data, cfg.retrieval, (8, 8), RawEmbedder())
    model = _built(index, data, cfg)
    plain = build_model(ModelConfig(name="patchtst"), ModelSpec(48, 12, 2))
    assert type(model.base) is type(plain)
    with torch.no_grad():
        assert model(torch.randn(2, 48, 2)).shape == (2, 12, 2)
    too_many = _model(k=200, stride=16).retrieval
    with pytest.raises(RetrievalError, match=r"model.retrieval.k=200"):
        build_index(splits.train, splits.val, data, too_many, (8, 8), RawEmbedder())


def test_a_training_split_too_short_to_exclude_overlaps_is_refused_before_embedding(ett):
    """ETTh1's few-shot 10% split (1166 rows) cannot give a middle window of 432 steps five
    windows it does not overlap: refused naming the fix, before the LM would run."""
    data = _data(seq_len=336, horizon=96, stride=1)
    few = DataConfig(split="ett_hour", train_fraction=0.1, window=data.window)
    splits = prepare_splits(ett, few.protocol())
    assert len(splits.train) == 1166
    embedded: list[int] = []

    def embed(histories: np.ndarray) -> np.ndarray:
        embedded.append(len(histories))
        return RawEmbedder()(histories)

    cfg = _model(k=5, stride=8)
    with pytest.raises(RetrievalError, match=r"too short.*data\.train_fraction"):
        build_index(splits.train, splits.val, few, cfg.retrieval, (256, 64), embed)
    assert embedded == []


def test_an_index_for_a_larger_k_serves_a_smaller_one(ett):
    """A tune search builds one index for its largest k; a trial with a smaller k reads the
    first k neighbours, which are those an index for its own k holds."""
    data = _data(stride=4)
    splits = prepare_splits(ett[:3000], DataConfig(window=data.window).protocol())
    small, large = _model(k=3, stride=2), _model(k=10, stride=2)
    caps = (32, 16)
    own = build_index(splits.train, splits.val, data, small.retrieval, caps, RawEmbedder())
    wide = build_index(splits.train, splits.val, data, large.retrieval, caps, RawEmbedder())
    for split in ("train", "val"):
        np.testing.assert_array_equal(wide.neighbours[split][..., :3], own.neighbours[split])
    model = _built(own, data, small)  # concat: its mix reads exactly k futures
    windows = WindowDataset(splits.val, data.window.seq_len, data.window.horizon, 1)
    kept = capped_indices(len(windows), 16)
    x = torch.stack([windows[i][0] for i in kept])
    with torch.no_grad():
        expected = model(x, torch.from_numpy(own.neighbours["val"][kept]))
        served = model(x, torch.from_numpy(wide.neighbours["val"][kept]))
    torch.testing.assert_close(served, expected)
    with pytest.raises(ModelBuildError, match=r"3 neighbours per window, fewer than .*k=10"):
        _built(wide, data, large)(x, torch.from_numpy(own.neighbours["val"][kept]))
