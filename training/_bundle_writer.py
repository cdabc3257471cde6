"""Writing bundles so that a crash never leaves a half-written one.

Everything goes into a temporary sibling directory, is fsynced, and only then
replaces the old bundle by an atomic directory exchange (renameat2 on Linux; elsewhere two renames,
where a kill between them leaves the old bundle under `<out>.prev-*`); a kill at any point leaves
either the old bundle or the new one in place.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import joblib

from kb_index._fs import fsync_tree, remove_stale_staging
from triage._bundle import FORMAT, FORMAT_VERSION, MANIFEST, file_sha256, library_versions


def model_version(data_sha: str) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + data_sha[:7]


def write_bundle(out: Path, heads: dict[str, Any], manifest: dict[str, Any],
                 extra_files: dict[str, Path] | None = None, extra_dirs: dict[str, Path] | None = None) -> Path:
    """Serialize heads, write the manifest last, then swap the directory into place."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out.parent, f"{out.name}.tmp-")  # a killed training's half-written bundle
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        head_info = {}
        for name, head in heads.items():
            rel = f"heads/{name}.joblib"
            (tmp / "heads").mkdir(exist_ok=True)
            joblib.dump(head, tmp / rel, compress=3)
            head_info[name] = {**head.summary(), "file": rel, "sha256": file_sha256(tmp / rel)}
        for rel, src in (extra_files or {}).items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tmp / rel)
        for rel, src in (extra_dirs or {}).items():
            shutil.copytree(src, tmp / rel)
        full = {"format": FORMAT, "format_version": FORMAT_VERSION, **manifest,
                "versions": library_versions(), "heads": head_info}
        _dump_json(tmp / MANIFEST, full)
        fsync_tree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap(tmp, out)
    return out


def _dump_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


def update_manifest(bundle: Path, updates: dict[str, Any]) -> None:
    """Add keys (the MLflow ids, known only after logging) by atomic replace; heads are untouched."""
    path = bundle / MANIFEST
    full = json.loads(path.read_text(encoding="utf-8"))
    tmp = path.with_suffix(".json.tmp")
    _dump_json(tmp, {**full, **updates})
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _swap(tmp: Path, out: Path) -> None:
    """Put `tmp` at `out`. On Linux one atomic exchange, so `out` is never missing, even for a moment."""
    if out.exists() and _exchange(tmp, out):
        _fsync_parent(out)
        shutil.rmtree(tmp, ignore_errors=True)  # now holds the old bundle
        return
    prev = None
    if out.exists():
        prev = out.with_name(f"{out.name}.prev-{uuid.uuid4().hex[:8]}")
        os.replace(out, prev)
    os.replace(tmp, out)
    _fsync_parent(out)
    if prev is not None:
        shutil.rmtree(prev, ignore_errors=True)


def _fsync_parent(out: Path) -> None:
    fd = os.open(out.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """renameat2(RENAME_EXCHANGE): swap two directories atomically; False where unsupported."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    return int(renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)) == 0
