"""Served runs write only under the served project and the served config's own locations."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsalign.components.config import ConfigError, RunConfig, load_config
from tsalign.flows.confinement import DATA_ROOTS_ENV, WRITE_ROOTS_ENV, confine, export_roots


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    for name in (DATA_ROOTS_ENV, WRITE_ROOTS_ENV):
        monkeypatch.setenv(name, "")  # removed again after the test
    operator = load_config(
        None,
        [
            f"workdir={tmp_path / 'work' / 'outputs'}",
            "registry.uri=registry",  # relative: under the project (the serve cwd)
            "train.storage_path=s3://team-runs/ray",
        ],
    )
    export_roots(operator, project)
    return {"project": project, "operator": operator, "tmp": tmp_path}


def test_the_served_config_and_paths_under_its_locations_pass(served: dict) -> None:
    project = served["project"]
    confine(served["operator"], project)
    inside = served["operator"].model_copy(
        update={"workdir": str(served["tmp"] / "work" / "outputs" / "run2")}
    )
    confine(inside, project)
    confine(load_config(None, ["registry.uri=s3://team-models/reg"]), project)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("workdir=/etc/cron.d", "workdir"),
        ("registry.uri=../../elsewhere", "registry.uri"),
        ("train.storage_path=file:///root/.ssh", "train.storage_path"),
        ("data.cache_dir=/tmp/../etc", "data.cache_dir"),
        ("data.data_dir=../../x", "data.data_dir"),
    ],
)
def test_other_local_locations_are_refused(served: dict, override: str, field: str) -> None:
    submitted = load_config(None, [f"workdir={served['tmp'] / 'work' / 'outputs'}", override])
    with pytest.raises(ConfigError, match=rf"^{field} resolves to .*outside the locations"):
        confine(submitted, served["project"])


def test_project_root_is_pinned_too(served: dict) -> None:
    with pytest.raises(ConfigError, match="project_root resolves to"):
        confine(served["operator"], served["tmp"] / "other-project")


def test_unserved_processes_are_not_confined(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (DATA_ROOTS_ENV, WRITE_ROOTS_ENV):
        monkeypatch.delenv(name, raising=False)
    config = load_config(None, ["workdir=/etc/cron.d"])
    assert confine(config, "/") == config
    assert isinstance(config, RunConfig)
