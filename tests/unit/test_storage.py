"""The storage layer: URI parsing, file hashing and atomic writes (S3 clients: integration)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from tsalign.components.storage import (
    CHUNK,
    StorageURI,
    StorageURIError,
    atomic_path,
    join_uri,
    local_path,
    parse_uri,
    sha256_file,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("registry", StorageURI("file", None, "registry")),
        ("/srv/models", StorageURI("file", None, "/srv/models")),
        ("file:///srv/models", StorageURI("file", None, "/srv/models")),
        ("file://localhost/srv", StorageURI("file", None, "/srv")),
        ("s3://bucket", StorageURI("s3", "bucket", "")),
        ("s3://bucket/", StorageURI("s3", "bucket", "")),
        ("S3://bucket//a/b/", StorageURI("s3", "bucket", "a/b")),
        ("  s3://bucket/a  ", StorageURI("s3", "bucket", "a")),
    ],
)
def test_parse_uri_accepts_the_three_spellings(text: str, expected: StorageURI) -> None:
    assert parse_uri(text) == expected


def test_parse_uri_round_trips_s3_locations() -> None:
    assert str(parse_uri("s3://bucket//a/b/")) == "s3://bucket/a/b"
    assert str(parse_uri("s3://bucket/")) == "s3://bucket"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"empty storage location.*s3://bucket/prefix"),
        ("   ", r"empty storage location"),
        ("s3:///key", r"'s3:///key': an S3 URI needs a bucket, e.g. s3://my-bucket/prefix"),
        ("file://host/dir", r"'file://host/dir': file:// URIs must be absolute local paths"),
        ("gs://bucket/x", r"'gs://bucket/x': unsupported scheme 'gs'; use a local path"),
        ("https://example.com/x", r"unsupported scheme 'https'"),
    ],
)
def test_parse_uri_rejects_bad_locations_with_the_fix(text: str, message: str) -> None:
    with pytest.raises(StorageURIError, match=message):
        parse_uri(text)


def test_join_uri_keeps_the_spelling_and_refuses_to_escape() -> None:
    assert join_uri("s3://b/p", "x", "y.json") == "s3://b/p/x/y.json"
    assert join_uri("s3://b", "x") == "s3://b/x"
    assert join_uri("runs", "a", "", "b") == str(Path("runs", "a", "b"))
    with pytest.raises(
        StorageURIError, match=r"'\.\./up': must be a relative path inside s3://b/p"
    ):
        join_uri("s3://b/p", "../up")
    with pytest.raises(StorageURIError, match="must be a relative path"):
        join_uri("runs", "/etc")


def test_local_path_expands_home_and_refuses_s3() -> None:
    assert local_path("~/x") == Path.home() / "x"
    assert local_path("file:///srv/x") == Path("/srv/x")
    with pytest.raises(StorageURIError, match="s3://b/k is not a local location"):
        local_path("s3://b/k")


def test_sha256_file_streams_files_larger_than_one_chunk(tmp_path: Path) -> None:
    data = os.urandom(CHUNK * 2 + 123)  # spans three reads, the last one partial
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert sha256_file(empty) == hashlib.sha256(b"").hexdigest()


def test_writes_replace_the_file_and_leave_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    write_json_atomic(target, {"b": 1, "a": "é"}, sort_keys=True, ensure_ascii=False)
    assert target.read_text(encoding="utf-8") == '{"a": "é", "b": 1}'
    write_text_atomic(tmp_path / "t.md", "ü\n")
    assert (tmp_path / "t.md").read_bytes() == "ü\n".encode()
    write_bytes_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "out.json", "t.md"]


def test_a_failing_writer_leaves_the_old_content_and_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "forecast.csv"
    target.write_text("previous\n")
    with pytest.raises(RuntimeError, match="disk full"), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("disk full")
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["forecast.csv"]


def test_a_failing_writer_creates_nothing_when_there_was_no_file(tmp_path: Path) -> None:
    class Unserialisable:
        pass

    with pytest.raises(TypeError, match="not JSON serializable"):
        write_json_atomic(tmp_path / "state.json", {"x": Unserialisable()})
    assert list(tmp_path.iterdir()) == []


def test_atomic_files_get_the_mode_a_plain_open_gives(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.txt", "x")
        (tmp_path / "b.txt").write_text("x")
    finally:
        os.umask(old)
    mode = (tmp_path / "a.txt").stat().st_mode & 0o777
    assert mode == (tmp_path / "b.txt").stat().st_mode & 0o777 == 0o644


def test_atomic_write_needs_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_text_atomic(tmp_path / "missing" / "x.txt", "x")


def test_components_and_flows_build_s3_clients_only_through_the_factory() -> None:
    root = Path(__file__).resolve().parents[2]
    builders = re.compile(r"boto3\.(client|Session|session)\b")
    found = [
        f"{path.relative_to(root)}:{no}"
        for folder in ("components", "flows")
        for path in sorted((root / folder).rglob("*.py"))
        for no, line in enumerate(path.read_text().splitlines(), 1)
        if builders.search(line)
    ]
    assert found == ["components/storage.py:" + str(_factory_line(root))]


def _factory_line(root: Path) -> int:
    lines = (root / "components" / "storage.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if "boto3.session.Session()" in line)
