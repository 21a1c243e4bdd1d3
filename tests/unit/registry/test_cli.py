"""`tsalign registry ...` against a local registry: tables, exit codes, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tsalign.components.config import RegistryConfig
from tsalign.components.registry import Registry, open_registry
from tsalign.flows.cli.registry import app

runner = CliRunner()


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    reg = open_registry(RegistryConfig(uri=str(tmp_path / "reg")))
    for i, stage in enumerate(["dev", "prod"], start=1):
        (tmp_path / f"w{i}").write_text(f"weights {i}")
        reg.publish(
            "demo",
            {"model/weights.safetensors": tmp_path / f"w{i}"},
            config={},
            metrics={"test": {"demo": {"mse": 0.1 * i}}},
            lineage={"git_commit": "abc"},
            tags={"stage": stage},
            description=f"version {i}",
        )
    return reg


def cli(reg: Registry, *args: str):
    return runner.invoke(app, [*args, "--registry", reg.store.uri], catch_exceptions=False)


def test_list_models_and_versions(reg: Registry) -> None:
    res = cli(reg, "list")
    assert res.exit_code == 0, res.output
    assert "demo" in res.output and "models in" in res.output
    res = cli(reg, "list", "demo")
    assert res.exit_code == 0
    assert "demo:1" in res.output and "demo:2" in res.output
    res = cli(reg, "list", "--tag", "stage=prod")
    assert "demo:2" in res.output and "demo:1" not in res.output


def test_show_json_and_card(reg: Registry) -> None:
    res = cli(reg, "show", "demo:1", "--json")
    assert res.exit_code == 0
    assert json.loads(res.output)["description"] == "version 1"
    res = cli(reg, "show", "demo", "--card")
    assert res.output.startswith("---\n") and "demo (version 2)" in res.output
    res = cli(reg, "show", "demo:2")
    assert "model/weights.safetensors" in res.output and "git_commit" in res.output


def test_promote_moves_alias_and_records_history(reg: Registry) -> None:
    res = cli(reg, "promote", "demo:1", "champion")
    assert res.exit_code == 0 and "(unset) -> 1" in res.output
    res = cli(reg, "promote", "demo:2", "champion", "--reason", "better")
    assert "1 -> 2" in res.output
    assert reg.resolve("demo@champion") == ("demo", 2)
    assert [m.reason for m in reg.alias_history("demo", "champion")] == [
        "manual promotion",
        "better",
    ]
    assert "champion" in cli(reg, "show", "demo@champion").output


def test_download_verifies(reg: Registry, tmp_path: Path) -> None:
    res = cli(reg, "download", "demo:1", str(tmp_path / "dl"))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "dl" / "model" / "weights.safetensors").read_text() == "weights 1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "demo:7"], "demo:7 does not exist"),
        (["show", "Demo"], "is invalid"),
        (["show", "nope"], "no published versions"),
        (["promote", "demo:9", "champion"], "demo:9 does not exist"),
        (["promote", "demo:1", "Champ!"], "alias 'Champ!' is invalid"),
        (["download", "demo@staging", "x"], "no such alias"),
        (["list", "--tag", "novalue"], "not key=value"),
    ],
)
def test_bad_input_exits_1_with_message(reg: Registry, args: list[str], message: str) -> None:
    res = cli(reg, *args)
    assert res.exit_code == 1
    assert message in " ".join(res.output.split())


def test_bad_registry_uri_exits_1() -> None:
    res = runner.invoke(app, ["list", "--registry", "gs://bucket/x"])
    assert res.exit_code == 1
    assert "unsupported scheme" in res.output


def test_gc_removes_orphans_only(reg: Registry, tmp_path: Path) -> None:
    orphan = tmp_path / "orphan"
    orphan.write_text("never published")
    reg.store.upload_file("models/demo/blobs/00/" + "0" * 64, orphan)
    res = cli(reg, "gc", "--min-age", "0", "--dry-run")
    assert "would remove 1" in res.output
    assert reg.store.exists("models/demo/blobs/00/" + "0" * 64)
    res = cli(reg, "gc", "--min-age", "0")
    assert "removed 1 orphaned" in res.output
    assert not reg.store.exists("models/demo/blobs/00/" + "0" * 64)
    assert reg.download("demo:2", tmp_path / "still-ok").is_dir()


def test_tag_sets_model_info(reg: Registry) -> None:
    res = cli(reg, "tag", "demo", "team=grid", "--description", "electricity load")
    assert res.exit_code == 0, res.output
    assert reg.get_model_info("demo").tags == {"team": "grid"}
    assert "electricity load" in cli(reg, "list").output


# --- user text and damaged records never crash the listing ---------------------------------


def test_tag_with_markup_saves_and_lists_as_itself(reg: Registry) -> None:
    res = cli(reg, "tag", "demo", "stage=[/]", "note=[bold]x[/bold]")
    assert res.exit_code == 0, res.output
    res = cli(reg, "list")
    assert res.exit_code == 0, res.output
    assert "stage=[/]" in res.output and "note=[bold]x[/bold]" in res.output


@pytest.mark.parametrize("version", ["²", "١", "9" * 5000, "1_0", "-1", "0"])
def test_version_must_be_a_few_ascii_digits(reg: Registry, version: str) -> None:
    res = cli(reg, "show", f"demo:{version}")
    assert res.exit_code == 1, res.output
    assert "positive integer of at most 9 ASCII digits" in res.output
    assert len(res.output) < 1000 and "Traceback" not in res.output


def test_model_names_with_a_trailing_newline_are_refused() -> None:
    from tsalign.components.registry.errors import RefError
    from tsalign.components.registry.manifest import check_name

    with pytest.raises(RefError):
        check_name("demo\n")


@pytest.mark.parametrize("under", [False, True])
def test_registry_location_that_is_a_file_exits_1(tmp_path: Path, under: bool) -> None:
    blocker = tmp_path / "registry"
    blocker.write_text("not a directory")
    uri = blocker / "sub" if under else blocker
    res = runner.invoke(app, ["list", "--registry", str(uri)])
    assert res.exit_code == 1, res.output
    assert "not a directory" in res.output and str(blocker) in res.output
    assert "no models" not in res.output and blocker.read_text() == "not a directory"


def test_damaged_model_record_is_reported_and_the_others_listed(
    reg: Registry, tmp_path: Path
) -> None:
    (tmp_path / "w3").write_text("weights 3")
    reg.publish(
        "other", {"model/weights.safetensors": tmp_path / "w3"}, config={}, metrics={}, lineage={}
    )
    (Path(reg.store.uri) / "models" / "demo" / "model.json").write_text("{not json")
    res = cli(reg, "list")
    assert res.exit_code == 0, res.output
    assert "other" in res.output and "(damaged)" in res.output
    assert "models/demo/model.json is damaged" in res.output


def test_damaged_manifest_is_reported_and_the_other_versions_listed(reg: Registry) -> None:
    manifest = Path(reg.store.uri) / "models" / "demo" / "versions" / "1" / "manifest.json"
    manifest.write_text("[]")
    res = cli(reg, "list", "demo")
    assert res.exit_code == 0, res.output
    assert "demo:2" in res.output and "(damaged)" in res.output
