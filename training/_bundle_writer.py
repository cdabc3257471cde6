"""Writing bundles so that a crash never leaves a half-written one.

Everything goes into a temporary sibling directory, is fsynced, and only then
replaces the old bundle by `kb_index.durable.swap_dir` (an atomic directory exchange on Linux;
elsewhere two renames, where a kill between them leaves the old bundle under `<out>.prev-*`); a kill
at any point leaves either the old bundle or the new one in place.
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

from kb_index.durable import atomic_write_text, fsync_tree, remove_stale_staging, swap_dir
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
        (tmp / MANIFEST).write_text(_json(full), encoding="utf-8")
        fsync_tree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_dir(tmp, out)  # one atomic exchange on Linux: `out` is never missing, even for a moment
    return out


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


def update_manifest(bundle: Path, updates: dict[str, Any]) -> None:
    """Add keys (the MLflow ids, known only after logging) by atomic replace; heads are untouched."""
    path = bundle / MANIFEST
    full = json.loads(path.read_text(encoding="utf-8"))
    atomic_write_text(path, _json({**full, **updates}))
