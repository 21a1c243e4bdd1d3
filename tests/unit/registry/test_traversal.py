"""A manifest naming files outside the version is refused before any byte is written.

Cases come from tests/fixtures/broken/registry/cases.yaml: each key is planted into a copy of a
real version's manifest, exactly as someone with write access to a shared registry could, and
`tsalign registry download`, `tsalign predict`, ``Registry.download`` and gc must refuse it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from tsalign.components.config import RegistryConfig
from tsalign.components.registry import IntegrityError, Registry, RegistryError, open_registry
from tsalign.components.registry.manifest import check_file_key
from tsalign.flows.cli.predict import predict_cmd
from tsalign.flows.cli.registry import app as registry_app

BROKEN = Path(__file__).resolve().parents[2] / "fixtures" / "broken" / "registry"
CASES = yaml.safe_load((BROKEN / "cases.yaml").read_text())["cases"]
runner = CliRunner()


def said(res) -> str:
    """CLI output without the console's line wrapping."""
    return res.output.replace("\n", "")


def tree(root: Path) -> dict[str, bytes]:
    """Every file (and symlink target) under ``root``: what a refused command must not change."""
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            out[str(path)] = os.readlink(path).encode()
        elif path.is_file():
            out[str(path)] = path.read_bytes()
    return out


def plant(reg: Registry, key: str) -> str:
    """Copy version 1's manifest as version 2 with one more file named ``key``; returns the ref."""
    manifest = json.loads(reg.store.read("models/fc/versions/1/manifest.json")[0])
    manifest["version"] = 2
    manifest["files"][key] = manifest["files"]["scaler.json"]
    reg.store.write("models/fc/versions/2/manifest.json", json.dumps(manifest).encode())
    return "fc:2"


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    export = tmp_path / "export"
    (export / "model").mkdir(parents=True)
    (export / "model" / "tsalign_model.json").write_text("{}")
    (export / "scaler.json").write_text('{"channels": ["y"], "mean": [0], "std": [1]}')
    reg = open_registry(RegistryConfig(uri=str(tmp_path / "reg")))
    reg.publish(
        "fc",
        {"model": export / "model", "scaler.json": export / "scaler.json"},
        config={},
        metrics={},
        lineage={},
    )
    return reg


def key_for(case: dict, outside: Path) -> str:
    return case["key"].replace("{outside}", str(outside))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_download_cli_refuses_before_writing(case: dict, reg: Registry, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    ref = plant(reg, key_for(case, outside))
    before = tree(tmp_path)
    target = tmp_path / "a" / "b" / "dl"
    res = runner.invoke(registry_app, ["download", ref, str(target), "--registry", reg.store.uri])
    assert res.exit_code == 1, res.output
    assert "fc/versions/2/manifest.json" in said(res) and "unsafe" in said(res)
    assert "verified" not in said(res)
    assert tree(tmp_path) == before  # nothing outside the target, nor the target itself
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_predict_cli_refuses_before_writing(
    case: dict, reg: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # predict downloads into a temp dir: keep it under tmp_path so any escape would show below.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    ref = plant(reg, key_for(case, outside))
    (tmp_path / "in.csv").write_text("timestamp,y\n2024-01-01,1\n")
    before = tree(tmp_path)
    app = typer.Typer()
    app.command()(predict_cmd)
    args = [ref, "--input", str(tmp_path / "in.csv"), "--registry", reg.store.uri]
    res = runner.invoke(app, [*args, "--output", str(tmp_path / "out.csv")])
    assert res.exit_code == 1, res.output
    assert "unsafe" in said(res)
    assert tree(tmp_path) == before


def test_symlinked_destination_is_followed_once_and_confined(reg: Registry, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    # A clean version lands inside the directory the link points at, nowhere else.
    out = reg.download("fc:1", link)
    assert out == real.resolve()
    assert sorted(p.relative_to(real).as_posix() for p in real.rglob("*") if p.is_file()) == [
        "README.md",
        "model/tsalign_model.json",
        "scaler.json",
    ]
    assert link.is_symlink() and link.resolve() == real.resolve()
    # A traversal version through the same link is refused; nothing appears beside the target.
    real2 = tmp_path / "real2"
    real2.mkdir()
    link2 = tmp_path / "link2"
    link2.symlink_to(real2)
    plant(reg, "../escaped")
    before = tree(tmp_path)
    with pytest.raises(IntegrityError, match="unsafe"):
        reg.download("fc:2", link2)
    assert tree(tmp_path) == before


def test_symlink_planted_in_the_local_store_is_refused(reg: Registry, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    blobs = Path(reg.store.uri) / "models" / "fc" / "blobs"
    victim = next(p for p in blobs.rglob("*") if p.is_file())
    victim.unlink()
    victim.symlink_to(outside / "stolen")
    with pytest.raises(RegistryError, match="outside the registry"):
        reg.download("fc:1", tmp_path / "dl")
    (tmp_path / "w").write_text("new weights")
    planted = Path(reg.store.uri) / "models" / "evil"
    planted.symlink_to(outside, target_is_directory=True)
    with pytest.raises(RegistryError, match="outside the registry"):
        reg.publish("evil", {"w": tmp_path / "w"}, config={}, metrics={}, lineage={})
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "dl").exists()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_publish_refuses_the_same_names(case: dict, reg: Registry, tmp_path: Path) -> None:
    key = key_for(case, tmp_path / "outside")
    with pytest.raises(ValueError, match="inside the version"):
        check_file_key(key)
    (tmp_path / "w").write_text("weights")
    with pytest.raises(RegistryError, match="inside the version"):
        reg.publish("fc", {key: tmp_path / "w"}, config={}, metrics={}, lineage={})
    assert reg.list_versions("fc") == [1]


def test_gc_refuses_a_traversal_manifest_and_deletes_nothing(reg: Registry, tmp_path: Path) -> None:
    plant(reg, "../../pwned")
    before = tree(Path(reg.store.uri))
    res = runner.invoke(registry_app, ["gc", "--min-age", "0", "--registry", reg.store.uri])
    assert res.exit_code == 1 and "versions/2/manifest.json" in said(res), res.output
    assert tree(Path(reg.store.uri)) == before


def test_clean_names_still_pass() -> None:
    for key in ["model", "model/weights.safetensors", "plots/forecast-1.png", "a b/ü.json"]:
        assert check_file_key(key) == key
