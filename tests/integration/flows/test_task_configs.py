"""The shipped classify and anomaly configs ingest and profile through the real flows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _flow_helpers import REPO, make_project

from tsalign.components.config import load_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NAB = REPO.parent / "shared" / "data" / "nab"


def test_japanese_vowels_config_ingests_profiles_and_reuses_the_cache(
    prefect_home: Path, tmp_path: Path
):
    from tsalign.flows.ingest import ingest_flow
    from tsalign.flows.profile import profile_flow

    project = make_project(tmp_path / "project")
    config = load_config(
        REPO / "configs" / "classify_japanese_vowels.yaml", [f"workdir={tmp_path / 'out'}"]
    )
    dataset = ingest_flow(config, str(project))
    assert dataset.task == "classify" and (project / "data" / "japanese_vowels.parquet").is_file()
    assert ingest_flow(config, str(project)) == dataset  # same content, same data version
    profile = profile_flow(config, dataset)
    written = json.loads(Path(profile.profile_path).read_text())
    assert written["kind"] == "panel" and written["instances"]["test"] == 370


def test_nab_config_ingests_and_profiles_a_subset(prefect_home: Path, tmp_path: Path):
    from tsalign.flows.ingest import ingest_flow
    from tsalign.flows.profile import profile_flow

    project = make_project(tmp_path / "project")
    config = load_config(
        REPO / "configs" / "anomaly_nab.yaml",
        [
            f"workdir={tmp_path / 'out'}",
            f"data.source={NAB}",
            "data.anomaly.series=[realKnownCause/nyc_taxi.csv]",
        ],
    )
    dataset = ingest_flow(config, str(project))
    assert (project / "data" / "nab.windows.json").is_file()
    report = Path(profile_flow(config, dataset).report_path).read_text()
    assert "| realKnownCause/nyc_taxi.csv | 10320 | 5 |" in report
