"""The Prefect UI in a real browser: start a custom run of the pipeline deployment.

A Prefect server on 127.0.0.1 (infra/local scripts) and `tsalign serve` in a subprocess;
headless Debian Chromium driven by Playwright opens the UI, finds the pipeline
deployment, opens Run -> Custom run, changes one parameter in the form rendered from
the RunConfig schema (data.max_rows), submits, and watches the run reach Completed.
The screenshots stay under the test's tmp directory.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "flows"))
from _flow_helpers import (
    fast_config,
    make_project,
    prefect_server,
    serving,
    wait_for_flow_run,
    write_config,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = os.environ.get("TSALIGN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NEW_MAX_ROWS = 3024  # tiny.yaml keeps 4032 rows; the one parameter changed in the form


def _only_run_of(api: str, deployment_id: str, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = httpx.post(
            f"{api}/flow_runs/filter",
            json={"flow_runs": {"deployment_id": {"any_": [deployment_id]}}},
            timeout=10,
        ).json()
        if runs:
            assert len(runs) == 1, [r["name"] for r in runs]
            return runs[0]["id"]
        time.sleep(1)
    raise AssertionError("the UI's Submit created no flow run")


def test_custom_run_from_the_ui_completes(tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} missing: run `bash scripts/install.sh` as root"
    shots = tmp_path / "screenshots"
    shots.mkdir()
    project = make_project(tmp_path / "project")
    config = fast_config(tmp_path / "work")
    assert config.data.max_rows != NEW_MAX_ROWS
    config_path = write_config(tmp_path / "run.yaml", config)
    (tmp_path / "serve-home").mkdir()
    with (
        prefect_server(tmp_path / "server") as api,
        serving(project, config_path, api, tmp_path / "serve-home", only=["pipeline"]) as ids,
        sync_playwright() as pw,
    ):
        ui = api.removesuffix("/api")
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"{ui}/deployments", wait_until="networkidle")
            # The deployments list shows the pipeline flow's `tsalign` deployment.
            expect(page.get_by_text("pipeline").first).to_be_visible(timeout=60_000)
            page.get_by_role("link", name="tsalign").first.click()
            page.wait_for_url(f"**/deployments/deployment/{ids['pipeline']}**")
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("Custom run").click()
            page.wait_for_url("**/run**")
            expect(page.get_by_text("Parameters").first).to_be_visible(timeout=60_000)
            # The form field of config.data.max_rows: an int-or-None property whose number
            # input (a spinbutton) sits under its "Max Rows (Optional)" header.
            max_rows = (
                page.locator(".schema-form-property")
                .filter(has=page.get_by_text("Max Rows (Optional)", exact=True))
                .last.get_by_role("spinbutton")
                .first
            )
            expect(max_rows).to_have_value(str(config.data.max_rows), timeout=60_000)
            max_rows.fill(str(NEW_MAX_ROWS))
            page.screenshot(path=str(shots / "custom-run-form.png"))
            page.get_by_role("button", name="Submit").click()
            # The UI goes back to the deployment page; the new run is the deployment's only one.
            page.wait_for_url(f"**/deployments/deployment/{ids['pipeline']}**")
            run_id = _only_run_of(api, ids["pipeline"])
            run = wait_for_flow_run(api, run_id, timeout_s=840)
            page.goto(f"{ui}/runs/flow-run/{run_id}", wait_until="networkidle")
            log = (tmp_path / "serve-home" / "serve.log").read_text()[-4000:]
            assert run["state"]["type"] == "COMPLETED", log
            assert run["deployment_id"] == ids["pipeline"]
            assert run["parameters"]["config"]["data"]["max_rows"] == NEW_MAX_ROWS
            # ... and the UI shows it: reload until the state badge reads Completed.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                page.reload(wait_until="networkidle")
                if page.get_by_text("Completed").first.is_visible():
                    break
            expect(page.get_by_text("Completed").first).to_be_visible(timeout=30_000)
            page.screenshot(path=str(shots / "flow-run-completed.png"), full_page=True)
        finally:
            browser.close()
    # The run used the changed parameter: the dataset holds NEW_MAX_ROWS rows.
    meta = (project / "data" / "vic_elec.meta.json").read_text()
    assert f'"rows": {NEW_MAX_ROWS}' in meta
    assert (shots / "flow-run-completed.png").stat().st_size > 0
