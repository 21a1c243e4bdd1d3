"""Local back-end: publish, resolve, show, list, download with sha256 verification."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tsalign.components.config import RegistryConfig
from tsalign.components.registry import (
    IntegrityError,
    ModelCardInfo,
    NotFoundError,
    RefError,
    Registry,
    RegistryError,
    open_registry,
)
from tsalign.components.registry.card import read_front_matter


def make_artifacts(root: Path, seed: str = "a") -> dict[str, Path]:
    model = root / f"model-{seed}"
    (model / "adapter").mkdir(parents=True, exist_ok=True)
    (model / "weights.safetensors").write_bytes(f"weights {seed}".encode() * 100)
    (model / "adapter" / "adapter_config.json").write_text(json.dumps({"r": 8, "seed": seed}))
    scaler = root / f"scaler-{seed}.json"
    scaler.write_text(json.dumps({"mean": [1.0], "std": [2.0], "channels": ["y"]}))
    return {"model": model, "scaler.json": scaler}


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return open_registry(RegistryConfig(uri=str(tmp_path / "registry")))


def publish(reg: Registry, tmp_path: Path, seed: str = "a", **kw):
    return reg.publish(
        "demo",
        make_artifacts(tmp_path, seed),
        config={"model": {"name": "gpt4ts"}},
        metrics={"gpt4ts": {"mse": 0.5}, "seasonal_naive": {"mse": 0.9}},
        lineage={"dataset": "vic_elec", "dvc_md5": "abc"},
        **kw,
    )


def test_publish_numbers_versions_and_resolves(reg: Registry, tmp_path: Path) -> None:
    v1 = publish(reg, tmp_path, "a")
    v2 = publish(reg, tmp_path, "b")
    assert (v1.version, v2.version) == (1, 2)
    assert str(v2) == "demo:2"
    assert reg.list_models() == ["demo"]
    assert reg.list_versions("demo") == [1, 2]
    assert reg.resolve("demo") == ("demo", 2)
    assert reg.resolve("demo:latest") == ("demo", 2)
    assert reg.resolve("demo:1") == ("demo", 1)


def test_manifest_lists_sha256_of_every_file(reg: Registry, tmp_path: Path) -> None:
    files = make_artifacts(tmp_path, "a")
    publish(reg, tmp_path, "a", description="first", tags={"stage": "dev"})
    manifest = reg.show("demo:1")
    assert set(manifest.files) == {
        "model/weights.safetensors",
        "model/adapter/adapter_config.json",
        "scaler.json",
        "README.md",
    }
    weights = (files["model"] / "weights.safetensors").read_bytes()
    assert manifest.files["model/weights.safetensors"].sha256 == hashlib.sha256(weights).hexdigest()
    assert manifest.files["model/weights.safetensors"].size == len(weights)
    assert manifest.description == "first"
    assert manifest.tags == {"stage": "dev"}
    assert manifest.metrics["seasonal_naive"]["mse"] == 0.9
    assert manifest.lineage["dvc_md5"] == "abc"


def test_download_round_trips_and_verifies(reg: Registry, tmp_path: Path) -> None:
    files = make_artifacts(tmp_path, "a")
    publish(reg, tmp_path, "a")
    out = reg.download("demo:1", tmp_path / "out")
    assert (out / "model" / "weights.safetensors").read_bytes() == (
        files["model"] / "weights.safetensors"
    ).read_bytes()
    assert json.loads((out / "scaler.json").read_text())["channels"] == ["y"]
    assert (out / "README.md").is_file()


def test_download_refuses_corrupted_blob_and_leaves_nothing(reg: Registry, tmp_path: Path) -> None:
    publish(reg, tmp_path, "a")
    entry = reg.show("demo:1").files["model/weights.safetensors"]
    blob = tmp_path / "registry" / "models" / "demo" / "blobs" / entry.sha256[:2] / entry.sha256
    blob.write_bytes(b"tampered")
    target = tmp_path / "out"
    with pytest.raises(IntegrityError, match=r"model/weights.safetensors.*republish"):
        reg.download("demo:1", target)
    assert not target.exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_download_refuses_missing_blob(reg: Registry, tmp_path: Path) -> None:
    publish(reg, tmp_path, "a")
    entry = reg.show("demo:1").files["scaler.json"]
    (tmp_path / "registry" / "models" / "demo" / "blobs" / entry.sha256[:2] / entry.sha256).unlink()
    with pytest.raises(IntegrityError, match="missing"):
        reg.download("demo:1", tmp_path / "out")


def test_download_refuses_non_empty_target(reg: Registry, tmp_path: Path) -> None:
    publish(reg, tmp_path, "a")
    target = tmp_path / "busy"
    target.mkdir()
    (target / "x").write_text("keep me")
    with pytest.raises(RegistryError, match="not an empty directory"):
        reg.download("demo:1", target)
    assert (target / "x").read_text() == "keep me"


@pytest.mark.parametrize(
    ("ref", "error", "pattern"),
    [
        ("demo:9", NotFoundError, "versions of demo: 1"),
        ("nope", NotFoundError, "known models: demo"),
        ("demo@champion", NotFoundError, "no such alias"),
        ("Demo:1", RefError, "invalid"),
        ("demo:x", RefError, "not a positive integer"),
        ("demo:0", RefError, "not a positive integer"),
        ("demo:1@a", RefError, "both"),
        ("", RefError, "empty"),
    ],
)
def test_bad_refs_give_clear_errors(reg: Registry, tmp_path: Path, ref, error, pattern) -> None:
    publish(reg, tmp_path, "a")
    with pytest.raises(error, match=pattern):
        reg.show(ref)


def test_corrupted_manifest_is_an_integrity_error(reg: Registry, tmp_path: Path) -> None:
    publish(reg, tmp_path, "a")
    path = tmp_path / "registry" / "models" / "demo" / "versions" / "1" / "manifest.json"
    path.write_text("{not json")
    with pytest.raises(IntegrityError, match="corrupted"):
        reg.show("demo:1")


def test_publish_rejects_bad_inputs(reg: Registry, tmp_path: Path) -> None:
    kw = {"config": {}, "metrics": {}, "lineage": {}}
    with pytest.raises(RegistryError, match="does not exist"):
        reg.publish("demo", {"model": tmp_path / "missing"}, **kw)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RegistryError, match="no files"):
        reg.publish("demo", {"model": tmp_path / "empty"}, **kw)
    (tmp_path / "f").write_text("x")
    with pytest.raises(RegistryError, match="relative path"):
        reg.publish("demo", {"../f": tmp_path / "f"}, **kw)
    with pytest.raises(RegistryError, match="generated"):
        reg.publish("demo", {"README.md": tmp_path / "f"}, **kw)
    with pytest.raises(RefError):
        reg.publish("Bad Name", {"f": tmp_path / "f"}, **kw)
    assert reg.list_models() == []


def test_secrets_never_reach_manifest_or_card(reg: Registry, tmp_path: Path) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    reg.publish(
        "demo",
        make_artifacts(tmp_path),
        config={"registry": {"aws_secret_access_key": secret, "uri": "s3://b/p"}},
        metrics={},
        lineage={
            "remote": f"https://user:{secret}@example.com/x",
            "key_id": "AKIAIOSFODNN7EXAMPLE",
        },
    )
    stored = "".join(
        p.read_text(errors="ignore") for p in (tmp_path / "registry").rglob("*") if p.is_file()
    )
    assert secret not in stored
    assert "AKIAIOSFODNN7EXAMPLE" not in stored
    assert reg.show("demo").config["registry"]["uri"] == "s3://b/p"


def test_model_card_has_hub_front_matter(reg: Registry, tmp_path: Path) -> None:
    publish(
        reg,
        tmp_path,
        "a",
        tags={"task": "forecast"},
        card=ModelCardInfo(
            base_model="sentence-transformers/all-MiniLM-L6-v2", datasets=["vic_elec"]
        ),
    )
    text = reg.read_text("demo:1", "README.md")
    front = read_front_matter(text)
    assert front["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert front["library_name"] == "tsalign"
    assert front["datasets"] == ["vic_elec"]
    assert front["metrics"] == ["mse"]
    assert "task:forecast" in front["tags"]
    assert "| seasonal_naive | 0.9 |" in text
    assert "demo (version 1)" in text


def test_same_content_is_stored_once(reg: Registry, tmp_path: Path) -> None:
    publish(reg, tmp_path, "a")
    publish(reg, tmp_path, "a")
    m1, m2 = reg.show("demo:1"), reg.show("demo:2")
    assert m1.files["model/weights.safetensors"] == m2.files["model/weights.safetensors"]
    blobs = list((tmp_path / "registry" / "models" / "demo" / "blobs").rglob("*"))
    # 3 artifact blobs shared + one card per version (cards differ by version number)
    assert len([b for b in blobs if b.is_file()]) == 5


def test_set_alias_expected_guards_against_stale_decisions(reg: Registry, tmp_path: Path) -> None:
    from tsalign.components.registry.errors import AliasMoved

    for seed in "abc":
        publish(reg, tmp_path, seed)
    reg.set_alias("demo", "champion", 1, expected=None)
    with pytest.raises(AliasMoved, match="points at 1, not 2"):
        reg.set_alias("demo", "champion", 3, expected=2)
    assert reg.get_alias("demo", "champion") == 1
    reg.set_alias("demo", "champion", 2, expected=1)
    assert [(m.previous, m.version) for m in reg.alias_history("demo", "champion")] == [
        (None, 1),
        (1, 2),
    ]


def test_promote_if_better_applies_the_gates(reg: Registry, tmp_path: Path) -> None:
    for seed in "abc":
        publish(reg, tmp_path, seed)

    kw = {"champion_metrics": lambda m: {"val_loss": 0.5}, "baseline_metrics": {"mse": 1.0}}
    ok, why = reg.promote_if_better(
        "demo", 1, "champion", candidate_metrics={"val_loss": 0.5, "mse": 0.9}, **kw
    )
    assert ok and "no current champion" in why
    ok, why = reg.promote_if_better(
        "demo", 2, "champion", candidate_metrics={"val_loss": 0.6, "mse": 0.1}, **kw
    )
    assert not ok and "does not beat the champion" in why
    ok, why = reg.promote_if_better(
        "demo", 3, "champion", candidate_metrics={"val_loss": 0.4, "mse": 0.8}, **kw
    )
    assert ok
    assert reg.get_alias("demo", "champion") == 3
    assert reg.alias_history("demo", "champion")[-1].reason == why
