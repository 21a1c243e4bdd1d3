"""Every broken input in tests/fixtures/broken is refused with a precise message and no side effects.

For each case of ``cases.yaml`` the error must be a DataError naming the file,
the column/row (the case's ``expect`` words) and a fix, and the hash trees of
``data/``, ``data.dvc``, the DVC remote and the DVC cache must be identical
before and after.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from _data_helpers import CORPUS, tree_digest

from tsalign.components.config import DataConfig
from tsalign.components.data import DataError, ensure_dvc_project, ingest, load_meta

pytestmark = pytest.mark.integration

MANIFEST = yaml.safe_load((CORPUS / "cases.yaml").read_text())
CASES = MANIFEST["cases"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DVC project that already holds one good version (so there is something to protect)."""
    root = tmp_path_factory.mktemp("corpus") / "proj"
    ensure_dvc_project(root)
    ingest(DataConfig(name="t", source=str(CORPUS / "good.csv"), **MANIFEST["defaults"]), root)
    return root


def state(root: Path) -> dict[str, str]:
    return tree_digest(
        root / "data", root / "data.dvc", root / ".dvc-remote", root / ".dvc" / "cache"
    )


def source_for(case: dict, request: pytest.FixtureRequest) -> tuple[str, dict]:
    source, extra = case["source"], {}
    if "{http}" in source:
        source = source.replace("{http}", request.getfixturevalue("http_corpus"))
        extra["cache_dir"] = str(request.getfixturevalue("tmp_path") / "downloads")
    elif "{s3}" in source:
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = request.getfixturevalue("s3_bucket")
        source = source.replace("{s3}", f"s3://{bucket}")
        extra["endpoint_url"] = endpoint
    elif "://" not in source:
        source = str(CORPUS / source)
    return source, extra


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 15
    required = {
        "empty_file", "header_only", "wrong_delimiter", "non_numeric_cell", "all_nan_channel",
        "duplicated_timestamps", "unsorted_timestamps", "mixed_time_zones", "irregular_sampling",
        "positive_inf", "missing_target_column", "too_short", "unknown_scheme", "wrong_sha256",
        "unreadable_s3_object",
    }  # fmt: skip
    assert required <= {c["id"] for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_broken_input_is_refused_cleanly(
    case: dict, seeded: Path, request: pytest.FixtureRequest
) -> None:
    source, extra = source_for(case, request)
    cfg = DataConfig(
        name="t", source=source, **MANIFEST["defaults"], **case.get("config", {}), **extra
    )
    before = state(seeded)
    with pytest.raises(DataError) as caught:
        ingest(cfg, seeded)
    message = str(caught.value)
    file_name = Path(source.split("://")[-1]).name
    assert file_name in message, message
    assert "Fix: " in message and caught.value.fix.strip(), message
    for word in case["expect"]:
        assert word in message, f"{word!r} not in: {message}"
    assert len(message) <= case.get("max_chars", 2000), len(message)
    assert state(seeded) == before
    assert not [p for p in (seeded / "data").iterdir() if p.name.startswith(".")]  # no temp files


def test_failed_dvc_push_restores_previous_files(tmp_path: Path) -> None:
    """A failure after validation (remote gone) rolls data/ and data.dvc back."""
    root = tmp_path / "proj"
    ensure_dvc_project(root)
    good = DataConfig(name="t", source=str(CORPUS / "good.csv"), **MANIFEST["defaults"])
    ingest(good, root)
    before = tree_digest(root / "data", root / "data.dvc")
    shutil.rmtree(root / ".dvc-remote")
    (root / ".dvc-remote").write_text("not a directory")  # push must fail
    changed = good.model_copy(
        update={"source": str(CORPUS / "missing_values.csv"), "missing": "ffill"}
    )
    with pytest.raises(DataError, match=r"data.dvc: DVC add/push failed.*Fix:"):
        ingest(changed, root)
    assert tree_digest(root / "data", root / "data.dvc") == before


@pytest.mark.slow
def test_cli_ingest_exits_nonzero_with_the_message(seeded: Path, tmp_path: Path) -> None:
    config = tmp_path / "broken.yaml"
    data = {"name": "t", "source": str(CORPUS / "unsorted.csv"), **MANIFEST["defaults"]}
    config.write_text(yaml.safe_dump({"data": data, "workdir": str(tmp_path / "out")}))
    before = state(seeded)
    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "ERROR"}
    done = subprocess.run(
        [shutil.which("tsalign") or sys.executable, "ingest", "--config", str(config), "--project", str(seeded)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "unsorted.csv" in output and "row 31" in output and "sort the file" in output
    assert state(seeded) == before


def test_s3_source_reads_through_boto3(s3_endpoint: str, s3_bucket: str, tmp_path: Path) -> None:
    boto3.client("s3", endpoint_url=s3_endpoint).upload_file(
        str(CORPUS / "good.csv"), s3_bucket, "in/good.csv"
    )
    root = tmp_path / "proj"
    ensure_dvc_project(root)
    cfg = DataConfig(
        name="s3data",
        source=f"s3://{s3_bucket}/in/good.csv",
        endpoint_url=s3_endpoint,
        **MANIFEST["defaults"],
    )
    ref = ingest(cfg, root)
    assert ref.rows == 60 and ref.channels == ["load", "temp"]


def test_https_source_is_downloaded_once_and_verified(http_corpus: str, tmp_path: Path) -> None:
    import hashlib

    pin = hashlib.sha256((CORPUS / "good.csv").read_bytes()).hexdigest()
    cache = tmp_path / "downloads"
    root = tmp_path / "proj"
    ensure_dvc_project(root)
    cfg = DataConfig(
        name="web",
        source=f"{http_corpus}/good.csv",
        sha256=pin,
        cache_dir=str(cache),
        **MANIFEST["defaults"],
    )
    first = ingest(cfg, root)
    assert (cache / pin).is_file() and first.rows == 60
    # Served from the cache by its pin: an unreachable URL with the same pin still works.
    offline = cfg.model_copy(update={"source": "http://127.0.0.1:9/good.csv"})
    second = ingest(offline, root)
    assert load_meta(second).content_sha256 == load_meta(first).content_sha256
    assert [p.name for p in cache.iterdir()] == [pin]  # no partial downloads left behind


TASK_CASES = MANIFEST["task_cases"]


@pytest.mark.parametrize("case", TASK_CASES, ids=[c["id"] for c in TASK_CASES])
def test_broken_panel_or_windows_are_refused_cleanly(case: dict, seeded: Path) -> None:
    """Labelled panels and anomaly windows: the same clear error and nothing written."""
    source = case["source"] if ":" in case["source"] else str(CORPUS / case["source"])
    extra = case.get("config", {})
    if "anomaly" in extra:
        extra = {"anomaly": {"labels": str(CORPUS / extra["anomaly"]["labels"])}}
    cfg = DataConfig(name="t", source=source, **extra)
    before = state(seeded)
    with pytest.raises(DataError) as caught:
        ingest(cfg, seeded, task=case["task"])
    message = str(caught.value)
    assert Path(source).name.removeprefix("uea:") in message or source in message, message
    assert "Fix: " in message and caught.value.fix.strip(), message
    for word in case["expect"]:
        assert word in message, f"{word!r} not in: {message}"
    assert state(seeded) == before
    assert not [p for p in (seeded / "data").iterdir() if p.name.startswith(".")]
