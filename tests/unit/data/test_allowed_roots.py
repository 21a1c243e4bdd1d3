"""data.allowed_roots: a local source outside the allowed roots is refused before it is read,
with ``..``, absolute paths, file:// URIs and symlinks resolved first; served runs take their
roots from the serving process, not from the submitted config."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsalign.components.config import DataConfig, RunConfig
from tsalign.components.data import DataError
from tsalign.components.data.sources import resolve_source
from tsalign.components.fingerprint import source_fingerprint
from tsalign.flows.confinement import (
    DATA_ROOTS_ENV,
    WRITE_ROOTS_ENV,
    confine,
    export_roots,
    served_roots,
)

CSV = "timestamp,v\n2024-01-01,1\n"


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    project = tmp_path / "project"
    (project / "in").mkdir(parents=True)
    (project / "in" / "ok.csv").write_text(CSV)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text(CSV)
    (project / "in" / "link.csv").symlink_to(outside / "secret.csv")
    return {"project": project, "outside": outside}


@pytest.mark.parametrize(
    "source",
    [
        "../outside/secret.csv",
        "in/../../outside/secret.csv",
        "{outside}/secret.csv",
        "file://{outside}/secret.csv",
        "in/link.csv",  # a symlink inside the root that leads out
        "../outside/missing.csv",  # refused as outside, not reported as missing
    ],
)
def test_sources_outside_the_roots_are_refused(layout: dict[str, Path], source: str) -> None:
    source = source.replace("{outside}", str(layout["outside"]))
    cfg = DataConfig(source=source, allowed_roots=["."])
    with (
        pytest.raises(DataError, match=r"outside data\.allowed_roots") as caught,
        resolve_source(cfg, layout["project"]),
    ):
        pass
    assert "Fix: " in str(caught.value)
    assert source_fingerprint(cfg, layout["project"]) is None  # not even hashed


def test_sources_inside_the_roots_and_unconfined_runs_are_read(layout: dict[str, Path]) -> None:
    for cfg in [
        DataConfig(source="in/ok.csv", allowed_roots=["."]),
        DataConfig(source=str(layout["outside"] / "secret.csv"), allowed_roots=["../outside"]),
        DataConfig(source=str(layout["outside"] / "secret.csv")),  # CLI run: not confined
    ]:
        with resolve_source(cfg, layout["project"]) as src:
            assert src.path.read_text() == CSV


def test_local_copy_is_confined_too(layout: dict[str, Path]) -> None:
    cfg = DataConfig(
        source="etth1", local_copy=str(layout["outside"] / "secret.csv"), allowed_roots=["."]
    )
    with (
        pytest.raises(DataError, match=r"data\.local_copy.*outside data\.allowed_roots"),
        resolve_source(cfg, layout["project"]),
    ):
        pass


def test_served_roots_replace_whatever_the_submitted_config_says(
    layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DATA_ROOTS_ENV, raising=False)
    monkeypatch.delenv(WRITE_ROOTS_ENV, raising=False)
    operator = RunConfig()
    assert served_roots(operator, layout["project"]) == [str(layout["project"].resolve())]
    submitted = RunConfig(data=DataConfig(source="../outside/secret.csv", allowed_roots=["/"]))
    assert confine(submitted) == submitted  # not served: the config's own roots apply
    for name in (DATA_ROOTS_ENV, WRITE_ROOTS_ENV):
        monkeypatch.setenv(name, "")  # so that the variable is removed after the test
    monkeypatch.chdir(layout["project"])
    export_roots(operator, layout["project"])
    confined = confine(submitted)
    assert confined.data.allowed_roots == [str(layout["project"].resolve())]
    with (
        pytest.raises(DataError, match=r"outside data\.allowed_roots"),
        resolve_source(confined.data, layout["project"]),
    ):
        pass


def test_the_served_roots_do_not_outlive_the_test() -> None:
    import os

    assert DATA_ROOTS_ENV not in os.environ and WRITE_ROOTS_ENV not in os.environ


def test_text_sources_are_confined_like_the_series(layout: dict[str, Path]) -> None:
    from tsalign.components.data.text import build_texts, text_fingerprints

    for text in (
        {"source": "../outside/secret.csv"},
        {"source": "time_mmd_energy_report", "local_copy": "../outside/secret.csv"},
    ):
        cfg = DataConfig(source="in/ok.csv", allowed_roots=["."], text={"sources": [text]})
        with pytest.raises(DataError, match=r"outside data\.allowed_roots"):
            build_texts(cfg, layout["project"])
    outside = DataConfig(
        source="in/ok.csv",
        allowed_roots=["."],
        text={"sources": [{"source": "../outside/secret.csv"}]},
    )
    assert text_fingerprints(outside, layout["project"]) is None  # not even hashed
