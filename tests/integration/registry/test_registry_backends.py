"""Registry against real back-ends: a local directory and a moto S3 server process.

Covers the guarantees that only show up with real concurrency and real processes:
8 processes publishing at once, a publish killed between artifacts and manifest, alias
compare-and-swap under contention, and the S3 conditional writes themselves.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest

from tsalign.components.config import RegistryConfig
from tsalign.components.registry import NotFoundError, Registry, RegistryError, open_registry
from tsalign.components.registry.errors import PreconditionFailed
from tsalign.components.registry.store import S3Store
from tsalign.components.storage import parse_uri

pytestmark = pytest.mark.integration

PUBLISHER = Path(__file__).with_name("_publisher.py")
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(params=["local", "s3"])
def cfg(request: pytest.FixtureRequest, tmp_path: Path) -> RegistryConfig:
    if request.param == "local":
        return RegistryConfig(uri=str(tmp_path / "registry"))
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return RegistryConfig(uri=f"s3://{bucket}/team/registry", endpoint_url=endpoint)


def _artifacts(root: Path, tag: str) -> dict[str, Path]:
    model = root / f"model-{tag}"
    model.mkdir(parents=True, exist_ok=True)
    (model / "weights.safetensors").write_bytes(tag.encode() * 1000)
    (root / f"cfg-{tag}.json").write_text(json.dumps({"tag": tag}))
    return {"model": model, "config.json": root / f"cfg-{tag}.json"}


def _publish(reg: Registry, root: Path, tag: str, **kw):
    return reg.publish(
        "demo", _artifacts(root, tag), config={"tag": tag}, metrics={"mse": 1.0}, lineage={}, **kw
    )


def _run_publishers(
    cfg: RegistryConfig, work: Path, n: int, *extra: str
) -> list[subprocess.CompletedProcess]:
    go = work / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(PUBLISHER),
                cfg.model_dump_json(),
                str(work),
                str(i),
                str(go),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for i in range(n)
    ]
    # Give every process time to import and prepare, then release them together.
    while len(list(work.glob("scaler-*.json"))) < n and all(p.poll() is None for p in procs):
        threading.Event().wait(0.05)
    go.write_text("go")
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_round_trip(cfg: RegistryConfig, tmp_path: Path) -> None:
    reg = open_registry(cfg)
    v1 = _publish(reg, tmp_path, "one", tags={"stage": "dev"})
    _publish(reg, tmp_path, "two", tags={"stage": "prod"})
    assert reg.list_models() == ["demo"]
    assert reg.list_versions("demo") == [1, 2]
    assert v1.uri.endswith("models/demo/versions/1")
    out = reg.download("demo:1", tmp_path / "dl")
    assert (out / "model" / "weights.safetensors").read_bytes() == b"one" * 1000
    assert reg.search({"stage": "prod"}) == [("demo", 2)]
    reg.set_model_info("demo", description="electricity", tags={"team": "grid"})
    assert reg.search({"team": "grid"}) == [("demo", 1), ("demo", 2)]
    assert reg.get_model_info("demo").description == "electricity"


def test_eight_concurrent_publishers_get_distinct_versions(
    cfg: RegistryConfig, tmp_path: Path
) -> None:
    results = _run_publishers(cfg, tmp_path, 8)
    assert [r.returncode for r in results] == [0] * 8, [r.stderr[-2000:] for r in results]
    claimed = {json.loads(r.stdout)["index"]: json.loads(r.stdout)["version"] for r in results}
    reg = open_registry(cfg)
    assert sorted(claimed.values()) == list(range(1, 9))
    assert reg.list_versions("race") == list(range(1, 9))
    for index, version in claimed.items():
        # No mixed files: every file of a version comes from the process that claimed it.
        out = reg.download(f"race:{version}", tmp_path / f"dl-{version}")
        assert (
            out / "model" / "weights.safetensors"
        ).read_bytes() == f"proc {index};".encode() * 40_000
        assert json.loads((out / "model" / "config.json").read_text()) == {"index": index}
        assert json.loads((out / "scaler.json").read_text())["mean"] == [index]
        manifest = reg.show(f"race:{version}")
        assert manifest.config == {"index": index}
        assert manifest.lineage == {"publisher": index}


def test_publish_killed_before_manifest_leaves_no_version_and_gc_cleans(
    cfg: RegistryConfig, tmp_path: Path
) -> None:
    reg = open_registry(cfg)
    _publish(reg, tmp_path, "kept")
    kept_blobs = {info.key for info in reg.store.list("models/")}
    (tmp_path / "killed").mkdir()
    (result,) = _run_publishers(cfg, tmp_path / "killed", 1, "--die-before-claim")
    assert result.returncode == -9, result.stderr[-2000:]
    assert reg.list_versions("race") == []
    with pytest.raises(NotFoundError):
        reg.resolve("race")
    orphans = {info.key for info in reg.store.list("models/race/")}
    assert orphans, "the killed publish should have uploaded its files"
    assert reg.gc() == []  # fresh orphans may belong to a publish still running
    removed = reg.gc(min_age_s=0)
    assert orphans <= set(removed)
    assert reg.store.list("models/race/") == []
    assert {info.key for info in reg.store.list("models/")} == kept_blobs
    assert reg.download("demo:1", tmp_path / "dl").is_dir()
    assert _publish(reg, tmp_path, "after").version == 2


def test_alias_compare_and_swap_keeps_every_move(cfg: RegistryConfig, tmp_path: Path) -> None:
    reg = open_registry(cfg)
    for tag in "abcd":
        _publish(reg, tmp_path, tag)
    errors: list[BaseException] = []

    def mover(version: int) -> None:
        try:
            # Each thread opens its own registry, like separate pipeline runs.
            open_registry(cfg).set_alias("demo", "champion", version, reason=f"run {version}")
        except BaseException as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=mover, args=(1 + i % 4,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    history = reg.alias_history("demo", "champion")
    assert len(history) == 8
    assert history[0].previous is None
    # The chain is unbroken: each move records the version the previous move set.
    for before, after in itertools.pairwise(history):
        assert after.previous == before.version
    assert reg.get_alias("demo", "champion") == history[-1].version
    assert reg.resolve("demo@champion") == ("demo", history[-1].version)
    assert reg.list_aliases("demo") == {"champion": history[-1].version}
    with pytest.raises(NotFoundError, match="does not exist"):
        reg.set_alias("demo", "champion", 99)


def test_s3_conditional_writes_are_enforced(s3_endpoint: str, s3_bucket: str) -> None:
    store = S3Store(parse_uri(f"s3://{s3_bucket}/p"), endpoint_url=s3_endpoint)
    etag = store.write("k", b"one", if_none_match=True)
    with pytest.raises(PreconditionFailed):
        store.write("k", b"two", if_none_match=True)
    new_etag = store.write("k", b"three", if_match=etag)
    with pytest.raises(PreconditionFailed):
        store.write("k", b"four", if_match=etag)  # stale ETag
    assert store.read("k") == (b"three", new_etag)
    raw = boto3.client("s3", endpoint_url=s3_endpoint).get_object(Bucket=s3_bucket, Key="p/k")
    assert raw["Body"].read() == b"three"


def test_s3_missing_bucket_says_how_to_fix(s3_endpoint: str) -> None:
    reg = open_registry(RegistryConfig(uri="s3://no-such-bucket/x", endpoint_url=s3_endpoint))
    with pytest.raises(RegistryError, match=r"no-such-bucket.*does not exist; create it"):
        reg.list_models()


def test_s3_missing_credentials_say_how_to_fix(
    s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    # Instance-metadata lookups would hang for seconds on a machine without one.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    reg = open_registry(RegistryConfig(uri=f"s3://{s3_bucket}", endpoint_url=s3_endpoint))
    with pytest.raises(RegistryError, match="no usable AWS credentials; set AWS_ACCESS_KEY_ID"):
        reg.list_models()


@pytest.mark.parametrize("key", ["../../pwned", "/tmp/pwned", "model/../../../pwned"])
def test_s3_traversal_manifest_is_refused_before_writing(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path, key: str
) -> None:
    """Anyone able to write one manifest into a shared bucket must not write onto consumers."""
    from typer.testing import CliRunner

    from tsalign.flows.cli.registry import app

    reg = open_registry(
        RegistryConfig(uri=f"s3://{s3_bucket}/team/registry", endpoint_url=s3_endpoint)
    )
    _publish(reg, tmp_path / "src", "one")
    manifest = json.loads(reg.store.read("models/demo/versions/1/manifest.json")[0])
    manifest["version"] = 2
    manifest["files"][key] = manifest["files"]["config.json"]
    reg.store.write("models/demo/versions/2/manifest.json", json.dumps(manifest).encode())
    work = tmp_path / "consumer"
    work.mkdir()
    res = CliRunner().invoke(
        app,
        ["download", "demo:2", str(work / "a" / "dl"), "--registry", reg.store.uri,
         "--endpoint-url", s3_endpoint],
    )  # fmt: skip
    assert res.exit_code == 1 and "unsafe" in res.output.replace("\n", ""), res.output
    assert list(work.iterdir()) == []
    assert not Path("/tmp/pwned").exists()
