"""DVC versioning of the data directory: project setup, add + push, versions, old revisions.

``data/`` is tracked as one DVC output by the top-level ``data.dvc``; its md5 (as
DVC records it, ``<md5>.dir``) is the data version every later stage refers to.
The default remote is a local directory inside the project (``.dvc-remote/``,
ignored by git) so a laptop needs nothing else; teams point the default remote at
S3 (``dvc remote add -d team s3://bucket/prefix`` plus ``endpointurl``).

Older versions are read back through DVC: a git revision goes through
``dvc.api.open(path, rev=...)``; a bare DVC md5 (no git, or never committed) is
resolved from the DVC cache, fetching from the remote when needed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import yaml
from pydantic import BaseModel

from tsalign.components.data.errors import DataError

# DVC must never phone home from a pipeline run (no internet on cluster nodes either).
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

LOCAL_REMOTE_DIR = ".dvc-remote"
"""Default local remote, relative to the project root (git-ignored)."""
LOCAL_REMOTE_NAME = "local"
_MD5_RE = re.compile(r"^[0-9a-f]{32}(\.dir)?$")


class DataVersion(BaseModel):
    """One known version of data/ (a DVC directory md5)."""

    md5: str
    origin: str  # "workspace", "git" or "cache"
    rev: str | None = None  # git commit holding this data.dvc, when known
    date: str = ""  # ISO 8601: commit date, or the cache object's mtime
    message: str = ""
    files: list[str] = []


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence DVC's logger (it prints progress and hints) for library calls."""
    logger = logging.getLogger("dvc")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=check)


def has_git(root: Path) -> bool:
    """Whether ``root`` is the top of a git work tree."""
    return (root / ".git").exists()


def ensure_dvc_project(
    root: Path,
    remote_url: str | None = None,
    endpoint_url: str | None = None,
    remote_name: str | None = None,
    git: bool = True,
) -> None:
    """Make ``root`` a DVC project with a default remote; idempotent.

    Runs ``git init`` (when ``git`` and there is none), ``dvc init`` and adds a
    default remote: ``remote_url`` (e.g. ``s3://bucket/prefix`` with
    ``endpoint_url`` for MinIO/moto) or the local ``.dvc-remote/`` directory,
    which is added to ``.gitignore``. An existing default remote is kept unless
    ``remote_url`` is given.

    Args:
        root: project directory (created if missing).
        remote_url: DVC remote URL; None = the local directory remote.
        endpoint_url: S3 endpoint for an ``s3://`` remote.
        remote_name: name of the remote (``local`` or ``s3`` by default).
        git: also make it a git repository (versions then come from git history).

    Raises:
        DataError: DVC cannot be initialised there.
    """
    from dvc.repo import Repo

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if git and not has_git(root):
        _git(root, "init", "-q")
    with _quiet():
        if not (root / ".dvc").is_dir():
            try:
                Repo.init(str(root), no_scm=not has_git(root))
            except Exception as err:  # DVC raises many types; all mean the same to the user
                raise DataError(
                    str(root),
                    f"dvc init failed: {err}",
                    "run `dvc init` there by hand to see the details",
                ) from None
        with Repo(str(root)) as repo, repo.config.edit("repo") as conf:
            conf["core"]["analytics"] = False
            conf["core"]["check_update"] = False
            if remote_url is None and conf["core"].get("remote"):
                return
            name = remote_name or (
                "s3" if remote_url and remote_url.startswith("s3://") else LOCAL_REMOTE_NAME
            )
            if remote_url is None:
                (root / LOCAL_REMOTE_DIR).mkdir(exist_ok=True)
                # Relative to .dvc/ (where the config lives), so a fresh clone works anywhere.
                conf["remote"][name] = {"url": os.path.relpath(root / LOCAL_REMOTE_DIR)}
            else:
                entry: dict[str, str] = {"url": remote_url}
                if endpoint_url:
                    entry["endpointurl"] = endpoint_url
                conf["remote"][name] = entry
            conf["core"]["remote"] = name
    if remote_url is None:
        _gitignore_line(root, f"/{LOCAL_REMOTE_DIR}/")


def _gitignore_line(root: Path, line: str) -> None:
    path = root / ".gitignore"
    text = path.read_text() if path.exists() else ""
    if line not in text.splitlines():
        path.write_text(text + ("" if not text or text.endswith("\n") else "\n") + line + "\n")


def dvc_file(root: Path, data_dir: str = "data") -> Path:
    """The ``.dvc`` file tracking ``data_dir`` (``data.dvc`` for ``data``)."""
    return Path(root) / f"{data_dir.rstrip('/')}.dvc"


def recorded_md5(root: Path, data_dir: str = "data") -> str | None:
    """The md5 recorded in ``data.dvc`` (``<md5>.dir``), or None when not tracked yet."""
    path = dvc_file(root, data_dir)
    if not path.is_file():
        return None
    return _md5_from_dvc_text(path.read_text())


def _md5_from_dvc_text(text: str) -> str | None:
    doc = yaml.safe_load(text) or {}
    outs = doc.get("outs") or []
    return outs[0].get("md5") if outs else None


def remote_url(root: Path, remote: str | None = None) -> str:
    """URL of ``remote`` (or the default remote); local paths are made absolute.

    Raises:
        DataError: no default remote configured / unknown remote name.
    """
    from dvc.repo import Repo

    with _quiet(), Repo(str(root)) as repo:
        conf = repo.config
        name = remote or conf["core"].get("remote")
        if not name or name not in conf["remote"]:
            known = sorted(conf["remote"])
            raise DataError(
                str(Path(root) / ".dvc" / "config"),
                f"DVC remote {name!r} is not configured (known: {known})",
                "run `dvc remote add -d local .dvc-remote` (or an s3:// remote) in the project",
            )
        url = str(conf["remote"][name]["url"])
    if "://" not in url:
        url = str((Path(root) / ".dvc" / url).resolve()) if not os.path.isabs(url) else url
    return url


def add_and_push(root: Path, data_dir: str = "data", remote: str | None = None) -> str:
    """``dvc add <data_dir>`` then ``dvc push``; returns the md5 recorded in the .dvc file.

    Raises:
        DataError: DVC failed (e.g. the remote is unreachable or misconfigured).
    """
    from dvc.repo import Repo

    try:
        with _quiet(), Repo(str(root)) as repo:
            repo.add(str(Path(root) / data_dir))
            repo.push(targets=[str(dvc_file(root, data_dir))], remote=remote)
    except Exception as err:  # DvcException, and S3/filesystem errors that DVC lets through
        raise DataError(
            str(dvc_file(root, data_dir)),
            f"DVC add/push failed ({type(err).__name__}: {err})",
            "check the DVC remote (`dvc remote list`, credentials, endpointurl) and run `dvc push` by hand to see the details",
        ) from None
    md5 = recorded_md5(root, data_dir)
    assert md5 is not None, "dvc add did not write the .dvc file"
    return md5


def _cache_dir(root: Path) -> Path:
    from dvc.repo import Repo

    with _quiet(), Repo(str(root)) as repo:
        return Path(repo.cache.local.path)


def _dir_object(root: Path, md5: str) -> Path:
    md5 = md5 if md5.endswith(".dir") else md5 + ".dir"
    return _cache_dir(root) / md5[:2] / md5[2:]


def list_versions(root: Path, data_dir: str = "data") -> list[DataVersion]:
    """Every known version of ``data_dir``, newest first.

    The workspace version, then the git history of ``data.dvc`` (where there is
    git), then directory objects in the DVC cache not seen in git (no git, or
    versions never committed).
    """
    root = Path(root)
    out: dict[str, DataVersion] = {}
    current = recorded_md5(root, data_dir)
    if current:
        out[current] = DataVersion(md5=current, origin="workspace", files=_files_of(root, current))
    rel = dvc_file(root, data_dir).name
    if has_git(root):
        log = _git(root, "log", "--format=%H%x09%cI%x09%s", "--", rel, check=False)
        for line in log.stdout.splitlines():
            sha, date, msg = line.split("\t", 2)
            shown = _git(root, "show", f"{sha}:{rel}", check=False)
            md5 = _md5_from_dvc_text(shown.stdout) if shown.returncode == 0 else None
            if not md5:
                continue
            if md5 in out and out[md5].origin == "workspace" and out[md5].rev is None:
                out[md5] = out[md5].model_copy(update={"rev": sha, "date": date, "message": msg})
            elif md5 not in out:
                out[md5] = DataVersion(
                    md5=md5,
                    origin="git",
                    rev=sha,
                    date=date,
                    message=msg,
                    files=_files_of(root, md5),
                )
    if (root / ".dvc").is_dir():
        cache = _cache_dir(root)
        found = sorted(cache.glob("*/*.dir"), key=lambda p: p.stat().st_mtime, reverse=True)
        for obj in found:
            md5 = obj.parent.name + obj.name
            if md5 not in out:
                mtime = dt.datetime.fromtimestamp(obj.stat().st_mtime, tz=dt.UTC).isoformat(
                    timespec="seconds"
                )
                out[md5] = DataVersion(
                    md5=md5, origin="cache", date=mtime, files=_files_of(root, md5)
                )
    return list(out.values())


def _files_of(root: Path, md5: str) -> list[str]:
    with contextlib.suppress(OSError, ValueError, DataError):
        obj = _dir_object(root, md5)
        if obj.is_file():
            return sorted(entry["relpath"] for entry in json.loads(obj.read_text()))
    return []


def _resolve_git_rev(root: Path, md5: str, data_dir: str) -> str | None:
    for version in list_versions(root, data_dir):
        if version.md5 == md5 and version.rev:
            return version.rev
    return None


def read_file_at_rev(root: Path, relpath: str, rev: str, data_dir: str = "data") -> bytes:
    """Bytes of ``data_dir/relpath`` at a data version.

    Args:
        root: the DVC project.
        relpath: file name inside ``data_dir`` (e.g. ``vic_elec.parquet``).
        rev: a git revision (commit, tag, branch, ``HEAD~1``) or a DVC md5
            (``<md5>`` or ``<md5>.dir``, as ``tsalign data versions`` lists them).
        data_dir: the tracked directory.

    Raises:
        DataError: unknown revision, or the file did not exist in that version.
    """
    import dvc.api
    from dvc.exceptions import DvcException

    root = Path(root)
    md5 = rev if _MD5_RE.match(rev) else None
    if md5 is not None:
        full = md5 if md5.endswith(".dir") else md5 + ".dir"
        git_rev = _resolve_git_rev(root, full, data_dir) if has_git(root) else None
        if git_rev is None:
            return _read_from_cache(root, full, relpath, data_dir)
        rev = git_rev
    try:
        with _quiet():
            return dvc.api.read(f"{data_dir}/{relpath}", repo=str(root), rev=rev, mode="rb")
    except (DvcException, FileNotFoundError) as err:
        known = ", ".join(v.md5 for v in list_versions(root, data_dir)[:5])
        raise DataError(
            f"{data_dir}/{relpath}@{rev}",
            f"cannot read this data version ({type(err).__name__}: {err})",
            f"pass a git revision that has {dvc_file(root, data_dir).name} or a listed md5 (known: {known}); see `tsalign data versions`",
        ) from None


def _read_from_cache(root: Path, md5: str, relpath: str, data_dir: str) -> bytes:
    """Resolve a file of a directory version from the DVC cache (fetching from the remote)."""
    from dvc.repo import Repo
    from dvc_data.hashfile.hash_info import HashInfo

    obj = _dir_object(root, md5)
    if not obj.is_file():
        # Not in the local cache: pull the directory object and its files from the remote.
        with contextlib.suppress(Exception), _quiet(), Repo(str(root)) as repo:
            odb = repo.cloud.get_remote_odb(None)
            from dvc_data.hashfile.transfer import transfer

            transfer(odb, repo.cache.local, {HashInfo("md5", md5)}, verify=False)
    if not obj.is_file():
        raise DataError(
            f"{data_dir}@{md5}",
            "this data version is neither in git history, the DVC cache nor the remote",
            "run `tsalign data versions` to see the versions known",
        )
    entries = {e["relpath"]: e["md5"] for e in json.loads(obj.read_text())}
    if relpath not in entries:
        raise DataError(
            f"{data_dir}/{relpath}@{md5}",
            f"the file is not part of this version (it has {sorted(entries)})",
            "pick another version or dataset name",
        )
    file_md5 = entries[relpath]
    path = _dir_object(root, file_md5).with_name(file_md5[2:])
    if not path.is_file():
        with _quiet(), Repo(str(root)) as repo:
            from dvc_data.hashfile.transfer import transfer

            odb = repo.cloud.get_remote_odb(None)
            transfer(odb, repo.cache.local, {HashInfo("md5", file_md5)}, verify=False)
    return path.read_bytes()
