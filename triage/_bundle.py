"""Reading model bundles: a directory with `manifest.json` and one file per head.

Heads are joblib files, and unpickling across scikit-learn versions can load
silently wrong models, so the manifest records the versions that wrote them
and every file's hash; loading refuses anything that does not match, with
what to do about it. Writing is `training`'s job alone.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib

from triage.errors import BundleError

FORMAT = "triage-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Packages whose pickles must be read by the same major.minor that wrote them.
PINNED = ("scikit-learn", "numpy", "scipy", "joblib")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for pkg in ("triage", *PINNED, "sentence-transformers", "torch"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "absent"
    return versions


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def read_manifest(bundle: Path) -> dict[str, Any]:
    path = Path(bundle) / MANIFEST
    if not path.is_file():
        hint = " (an interrupted training left the previous bundle intact; check for *.prev-* beside it)"
        raise BundleError(f"{bundle} is not a model bundle: no {MANIFEST}. Make one with "
                          f"`triage train --data ... --out {bundle}`{hint if Path(bundle).exists() else ''}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path} is unreadable ({exc}); retrain the bundle") from exc
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format {manifest.get('format')} v{manifest.get('format_version')} "
                          f"is not {FORMAT} v{FORMAT_VERSION}; retrain it with this version of triage")
    return manifest  # type: ignore[no-any-return]


def check_versions(manifest: dict[str, Any]) -> None:
    """Refuse pickles written by another major.minor of a pinned library."""
    here = library_versions()
    wrote = manifest.get("versions", {})
    bad = [f"{pkg} {wrote.get(pkg)} (installed: {here[pkg]})" for pkg in PINNED
           if _major_minor(str(wrote.get(pkg))) != _major_minor(here[pkg])]
    if bad:
        raise BundleError("the bundle was written with " + ", ".join(bad) + ". Install the versions "
                          "in requirements.lock, or retrain the bundle with `triage train`.")


def check_embedder(manifest: dict[str, Any], model_id: str, dim: int) -> None:
    want = manifest["embedder"]
    if want["id"] != model_id or int(want["dim"]) != dim:
        raise BundleError(f"the bundle was trained with embedder {want['id']} (dim {want['dim']}) but "
                          f"{model_id} (dim {dim}) is loaded; set TRIAGE_EMBEDDER={want['spec']} "
                          "or retrain the bundle")


def load_heads(bundle: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    heads: dict[str, Any] = {}
    for name, info in manifest.get("heads", {}).items():
        path = Path(bundle) / info["file"]
        if not path.is_file() or file_sha256(path) != info["sha256"]:
            raise BundleError(f"head file {path} is missing or does not match its manifest hash; "
                              "the bundle is damaged: retrain it or restore it from MLflow")
        heads[name] = joblib.load(path)
    return heads
