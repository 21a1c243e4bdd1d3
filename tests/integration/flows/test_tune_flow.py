"""The pipeline with the tune stage on (real Prefect, DVC, Ray Tune over Ray Train + DeepSpeed).

configs/tiny.yaml with ``tune.enabled=true``: 4 trials of gpt4ts, each a Ray Train run; the
chosen trial is evaluated and published, and the registry version carries the search
(space, every trial, the chosen settings) in its lineage, its ``tuning.json`` and its
stored config; a Prefect table artifact lists the trials.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _flow_helpers import fast_config, make_project

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def published(prefect_home: Path, tmp_path_factory: pytest.TempPathFactory):
    import ray

    from tsalign.flows.pipeline import pipeline

    project = make_project(tmp_path_factory.mktemp("project"))
    work = tmp_path_factory.mktemp("work")
    # One worker per trial, so two trials train at once on 2 cores.
    config = fast_config(work, "tune.enabled=true", "train.num_workers=1")
    try:
        version = pipeline(config=config, project_root=str(project))
    finally:
        ray.shutdown()
    return config, version


def test_the_chosen_trial_is_published_with_the_search_in_its_lineage(published, tmp_path):
    from tsalign.components.config import build_config
    from tsalign.components.registry import open_registry

    config, version = published
    manifest = open_registry(config.registry).show(str(version))
    tuning = manifest.lineage["tuning"]
    assert tuning["model"] == "gpt4ts"
    assert len(tuning["trials"]) == config.tune.num_samples >= 4
    assert tuning["space"]["train.lr"] == "loguniform(1e-05, 0.01)"
    chosen = next(t for t in tuning["trials"] if t["trial_id"] == tuning["chosen"])
    assert chosen["val_loss"] == min(t["val_loss"] for t in tuning["trials"] if t["val_loss"])
    assert tuning["chosen_settings"] == chosen["overrides"]
    # The stored config is the configuration the published weights were trained with.
    stored = build_config(manifest.config)
    assert stored.train.lr == chosen["overrides"]["train.lr"]
    assert stored.model.n_layers == chosen["overrides"]["model.n_layers"]
    assert stored.train.epochs == config.tune.max_epochs
    assert manifest.lineage["ray_run"] == f"{tuning['experiment']}-{tuning['chosen']}"
    assert "tuning.json" in manifest.files
    out = open_registry(config.registry).download(str(version), tmp_path / "v")
    assert json.loads((out / "tuning.json").read_text())["chosen"] == tuning["chosen"]
    # Only the chosen configuration was scored on the test split.
    assert set(manifest.metrics["test"]) == {"gpt4ts", *config.eval.baselines}


def test_the_trials_are_a_prefect_artifact(published):
    from prefect.artifacts import Artifact

    from tsalign.flows.artifacts import artifact_key

    config, _ = published
    artifact = Artifact.get(artifact_key(config.data.name, "tune-gpt4ts"))
    assert artifact is not None
    rows = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    assert len(rows) == config.tune.num_samples
    assert sum("(chosen)" in row["trial"] for row in rows) == 1
