"""Deployments: schedules from config, typed parameters, and prefect.yaml generated from them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prefect import Flow
from prefect.exceptions import ParameterTypeError
from prefect.flows import load_flow_from_entrypoint

from tsalign.components.config import ConfigError, RunConfig, build_config
from tsalign.flows.deployments import DEPLOYMENT_NAME, FLOWS, build_deployments, prefect_yaml

REPO = Path(__file__).resolve().parents[3]
PREFECT_YAML = REPO / "infra" / "prefect" / "prefect.yaml"


def _load_entrypoint(entrypoint: str) -> Flow:
    """The flow behind a module-path entrypoint, loaded as `prefect deploy` loads it."""
    assert ":" not in entrypoint, f"{entrypoint}: expected a module path (tsalign.flows.x.f)"
    return load_flow_from_entrypoint(entrypoint, use_placeholder_flow=False)


def test_one_deployment_per_flow_with_the_config_as_default_parameter(tmp_path: Path):
    cfg = build_config({"train": {"epochs": 3}})
    deps = build_deployments(cfg, tmp_path)
    assert sorted(d.flow_name for d in deps) == sorted(FLOWS)
    for dep in deps:
        assert dep.name == DEPLOYMENT_NAME
        assert dep.enforce_parameter_schema
        assert RunConfig.model_validate(dep.parameters["config"]) == cfg
        # Module entrypoints import wherever the served process starts.
        assert (
            dep.entrypoint
            == f"{FLOWS[dep.flow_name].fn.__module__}.{FLOWS[dep.flow_name].fn.__name__}"
        )
    pipeline = next(d for d in deps if d.flow_name == "pipeline")
    assert pipeline.parameters["project_root"] == str(tmp_path.resolve())


def test_cron_schedules_come_from_the_schedule_section():
    cfg = build_config(
        {"schedule": {"pipeline": "30 3 * * 1", "train": "0 */6 * * *", "timezone": "Europe/Paris"}}
    )
    crons = {
        d.flow_name: [(s.schedule.cron, s.schedule.timezone) for s in d.schedules]
        for d in build_deployments(cfg)
    }
    assert crons["pipeline"] == [("30 3 * * 1", "Europe/Paris")]
    assert crons["train"] == [("0 */6 * * *", "Europe/Paris")]
    assert crons["ingest"] == crons["evaluate"] == []


def test_bad_schedule_names_the_field():
    with pytest.raises(ConfigError, match=r"schedule\.pipeline"):
        build_config({"schedule": {"pipeline": "nightly"}})
    cfg = build_config({"schedule": {"pipeline": "99 2 * * *"}})  # 5 fields, bad minute
    with pytest.raises(ConfigError, match=r"schedule\.pipeline"):
        build_deployments(cfg)
    with pytest.raises(ConfigError, match="unknown flow"):
        build_deployments(RunConfig(), only=["nope"])


def test_pipeline_parameters_are_a_pydantic_form_and_bad_values_name_the_field():
    schema = FLOWS["pipeline"].parameters.model_dump()
    assert "config" in schema["properties"] and "RunConfig" in schema["definitions"]
    with pytest.raises(ParameterTypeError, match=r"config\.train\.epochs"):
        FLOWS["pipeline"].validate_parameters({"config": {"train": {"epochs": 0}}})
    with pytest.raises(ParameterTypeError, match=r"config\.eval\.max_windows"):
        FLOWS["pipeline"].validate_parameters({"config": {"eval": {"max_windows": 3}}})


def test_prefect_yaml_matches_the_served_deployments():
    spec = yaml.safe_load(PREFECT_YAML.read_text())
    entries = spec["deployments"]
    served = {d.flow_name: d for d in build_deployments(RunConfig())}
    seen = set()
    for entry in entries:
        flow = _load_entrypoint(entry["entrypoint"])
        assert isinstance(flow, Flow)
        assert flow.name in served, entry["entrypoint"]
        seen.add(flow.name)
        assert entry["name"] == DEPLOYMENT_NAME
        assert entry["work_pool"]["name"] == "tsalign"
        # Every parameter exists on the flow and validates (config {} = embedded defaults).
        assert set(entry["parameters"]) <= set(flow.parameters.properties)
        validated = flow.validate_parameters(entry["parameters"])
        assert validated["config"] == RunConfig()
        assert set(entry["parameters"]) == set(served[flow.name].parameters)
        crons = [(s["cron"], s["timezone"]) for s in entry["schedules"]]
        assert crons == [
            (s.schedule.cron, s.schedule.timezone) for s in served[flow.name].schedules
        ]
    assert seen == set(FLOWS)


def test_prefect_yaml_is_generated_from_the_definitions():
    assert PREFECT_YAML.read_text() == prefect_yaml(), (
        "infra/prefect/prefect.yaml differs from flows/deployments.py; regenerate it with "
        "`python -m tsalign.flows.deployments > infra/prefect/prefect.yaml`"
    )


def test_a_config_schedule_reaches_the_generated_file():
    cfg = build_config({"schedule": {"train": "30 4 * * 1"}})
    spec = yaml.safe_load(prefect_yaml(cfg))
    train = next(
        d for d in spec["deployments"] if d["entrypoint"] == "tsalign.flows.train.train_flow"
    )
    assert train["schedules"] == [{"cron": "30 4 * * 1", "timezone": "UTC", "active": True}]


def test_default_yaml_schedule_is_the_schema_default():
    raw = yaml.safe_load((REPO / "configs" / "default.yaml").read_text())
    assert raw["schedule"]["pipeline"] == RunConfig().schedule.pipeline
