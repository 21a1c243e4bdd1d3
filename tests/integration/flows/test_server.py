"""A real Prefect server: `tsalign serve` registers the deployments, and a run created
through the REST API exactly as the UI does (POST /api/deployments/{id}/create_flow_run
with parameters) executes and completes; bad parameters are refused with the field path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from _flow_helpers import (
    create_flow_run,
    fast_config,
    make_project,
    prefect_env,
    prefect_server,
    serving,
    wait_for_flow_run,
    write_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    base = tmp_path_factory.mktemp("served")
    project = make_project(base / "project")
    config = fast_config(base / "work")
    config_path = write_config(base / "run.yaml", config)
    (base / "serve-home").mkdir()
    with (
        prefect_server(base / "server") as api,
        serving(project, config_path, api, base / "serve-home", only=["ingest", "pipeline"]) as ids,
    ):
        yield {"api": api, "ids": ids, "config": config, "project": project, "base": base}


def test_served_deployments_carry_schedule_and_config_form(served):
    api, ids = served["api"], served["ids"]
    dep = httpx.get(f"{api}/deployments/{ids['pipeline']}", timeout=10).json()
    assert [s["schedule"]["cron"] for s in dep["schedules"]] == ["0 2 * * *"]
    assert [s["active"] for s in dep["schedules"]] == [False]  # schedule.active=false in tests
    schema = dep["parameter_openapi_schema"]
    assert {"config", "project_root"} <= set(schema["properties"])
    assert "RunConfig" in schema["definitions"]  # the UI renders its form from this
    assert dep["parameters"]["config"]["data"]["max_rows"] == served["config"].data.max_rows


def test_run_created_like_the_ui_completes(served):
    api, ids = served["api"], served["ids"]
    params = {
        "config": served["config"].model_dump(mode="json"),
        "project_root": str(served["project"]),
    }
    params["config"]["data"]["max_rows"] = 2016  # the one changed parameter
    resp = create_flow_run(api, ids["ingest"], params)
    assert resp.status_code == 201, resp.text
    run = wait_for_flow_run(api, resp.json()["id"], timeout_s=300)
    assert run["state"]["type"] == "COMPLETED", (
        served["base"] / "serve-home" / "serve.log"
    ).read_text()[-4000:]
    assert run["parameters"]["config"]["data"]["max_rows"] == 2016
    meta = json.loads((served["project"] / "data" / "vic_elec.meta.json").read_text())
    assert meta["rows"] == 2016  # the override reached the flow


def test_bad_parameter_is_refused_with_the_field_path(served):
    api, ids = served["api"], served["ids"]
    config = served["config"].model_dump(mode="json")
    config["train"]["epochs"] = 0
    resp = create_flow_run(api, ids["pipeline"], {"config": config})
    assert resp.status_code in (409, 422), resp.text
    assert "epochs" in resp.text


def test_run_deployment_with_a_bad_override_fails_fast(served, monkeypatch):
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    config = served["config"].model_dump(mode="json")
    config["eval"]["max_windows"] = 3  # misspelt key
    env = prefect_env(served["api"], served["base"] / "serve-home")
    monkeypatch.setenv("PREFECT_HOME", env["PREFECT_HOME"])
    with (
        temporary_settings({PREFECT_API_URL: served["api"]}),
        pytest.raises(Exception, match="max_windows"),
    ):
        run_deployment("pipeline/tsalign", parameters={"config": config}, timeout=0)


def test_ui_run_cannot_read_data_outside_the_served_roots(served):
    """A run submitted through the API/UI that widens data.allowed_roots and points
    data.source outside the project is refused inside the flow; nothing is ingested."""
    api, ids, project = served["api"], served["ids"], served["project"]
    secret = served["base"] / "private" / "secret.csv"
    secret.parent.mkdir(exist_ok=True)
    secret.write_text("timestamp,v\n" + "".join(f"2024-01-{d:02d},1\n" for d in range(1, 29)))
    before = sorted((project / "data").iterdir()) if (project / "data").exists() else []
    config = served["config"].model_dump(mode="json")
    config["data"].update(
        name="stolen", source=f"../{secret.relative_to(served['base'])}", allowed_roots=["/"]
    )
    resp = create_flow_run(api, ids["ingest"], {"config": config, "project_root": str(project)})
    assert resp.status_code == 201, resp.text
    run = wait_for_flow_run(api, resp.json()["id"], timeout_s=300)
    assert run["state"]["type"] == "FAILED", run["state"]
    log = (served["base"] / "serve-home" / "serve.log").read_text()
    assert "outside data.allowed_roots" in log
    after = sorted((project / "data").iterdir()) if (project / "data").exists() else []
    assert after == before and not list(project.rglob("stolen*"))
