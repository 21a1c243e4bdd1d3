"""Publishing a tuned run: the search goes into the lineage and tuning.json, the chosen settings
into the stored config."""

from __future__ import annotations

import json
from pathlib import Path

from tsalign.components.config import ModelConfig, RegistryConfig, RunConfig
from tsalign.components.refs import (
    DatasetRef,
    EvalReport,
    TrainResult,
    TrialRecord,
    TuneResult,
)
from tsalign.components.registry import open_registry
from tsalign.components.registry.release import PublishSettings, publish_run

SETTINGS = {"train.lr": 2e-5, "model.params.dropout": 0.25, "model.n_layers": 3}


def _tuned_run(root: Path) -> TrainResult:
    model = root / "ckpt" / "model"
    model.mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"weights" * 10)
    (root / "ckpt" / "scaler.json").write_text(json.dumps({"mean": [0.0], "std": [1.0]}))
    trials = [
        TrialRecord(trial_id="t0", overrides=SETTINGS, val_loss=0.4, epochs=4, status="finished"),
        TrialRecord(
            trial_id="t1",
            overrides={**SETTINGS, "train.lr": 9e-3},
            val_loss=0.9,
            epochs=1,
            status="stopped_early",
        ),
    ]
    search = TuneResult(
        model="gpt4ts",
        experiment="tune-gpt4ts-abc",
        space={"train.lr": "loguniform(1e-05, 0.01)"},
        num_samples=2,
        max_epochs=4,
        trials=trials,
        chosen="t0",
        report_path=str(root / "search.json"),
    )
    Path(search.report_path).write_text(search.model_dump_json())
    return TrainResult(
        model="gpt4ts",
        run_name="tune-gpt4ts-abc-t0",
        checkpoint_uri=str(model),
        curves={"val_loss": [0.5, 0.4]},
        overrides=SETTINGS,
        tuning=search,
    )


def test_tuned_version_carries_the_search_and_its_chosen_config(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.json"
    metrics.write_text("{}")
    report = EvalReport(
        report_path=str(metrics),
        test_windows=10,
        metrics={"gpt4ts": {"mse": 0.5}, "seasonal_naive": {"mse": 0.9}},
        candidate="gpt4ts",
        validation={"gpt4ts": 0.4},
    )
    dataset = DatasetRef(
        name="d",
        path=str(tmp_path / "d.parquet"),
        meta_path=str(tmp_path / "d.meta.json"),
        md5="a" * 32,
        remote="none",
        rows=10,
        channels=["x"],
        timestamp_col="ts",
        freq="h",
    )
    config = RunConfig(registry=RegistryConfig(uri=str(tmp_path / "registry")))
    run = _tuned_run(tmp_path)
    version = publish_run(
        PublishSettings.from_run(config, ModelConfig(name="gpt4ts"), run),
        dataset,
        None,
        run,
        report,
        tmp_path,
        {"prefect_flow_run_id": "x"},
        champion_scorer=lambda registry, name, number: 1.0,  # no champion yet: never called
    )
    manifest = open_registry(config.registry).show(str(version))
    tuning = manifest.lineage["tuning"]
    assert tuning["chosen"] == "t0" and tuning["chosen_settings"] == SETTINGS
    assert [t["status"] for t in tuning["trials"]] == ["finished", "stopped_early"]
    assert tuning["space"] == {"train.lr": "loguniform(1e-05, 0.01)"}
    assert "report_path" not in tuning  # a path on the publishing machine
    assert "tuning.json" in manifest.files
    stored = manifest.config
    assert stored["train"]["lr"] == 2e-5
    assert (stored["model"]["params"]["dropout"], stored["model"]["n_layers"]) == (0.25, 3)
