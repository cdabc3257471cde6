"""Where a learned KB ranker is kept: fitted once per (bundle version, links, KB index version).

`kb build --model` fits it and stores it in the index folder (`<kb>/rankers/`), so it travels with
the index; any other path that puts a bundle and an index together (`predict`, `evaluate`, `serve`)
finds it there or in `TRIAGE_CACHE_DIR/kb-rankers/`, or fits it (seconds) and caches it. The file
holds its format version and the key it was fitted for, checked on load: a ranker of another bundle,
index version or format is refitted, never used. Files are written to a temporary name and renamed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import joblib
import sklearn

from kb_index import KBIndex
from kb_index.durable import fsync_dir
from triage._embedding import Embedder
from triage._links import LINKS, read_linked
from triage._retrieval import KBRanker, fit_kb_ranker

log = logging.getLogger("triage.kb")
FORMAT = "triage-kb-ranker"
FORMAT_VERSION = 2  # 2: chosen under the bootstrap rule of triage._ranking (older choices are refitted)
INDEX_FOLDER = "rankers"
CACHE_FOLDER = "kb-rankers"


def ranker_key(bundle: Path, manifest: dict[str, Any], index: KBIndex) -> dict[str, Any]:
    """Everything a fitted ranker depends on; a change to any of it means another ranker."""
    links = manifest.get("links") or {}
    return {"format_version": FORMAT_VERSION, "bundle_version": str(manifest.get("model_version")),
            "links_sha256": links.get("sha256"), "index_root": str(Path(index.root).resolve()),
            "index_version": index.version, "index_created": index.manifest.get("created_at"),
            "index_counts": index.manifest.get("counts"), "encoder": index.encoder_id,
            "sklearn": sklearn.__version__}


def _digest(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]


def load_ranker(path: Path, key: dict[str, Any]) -> KBRanker | None:
    """The ranker in `path` if it was fitted for `key` by this format; None otherwise (refit)."""
    if not path.is_file():
        return None
    try:
        payload = joblib.load(path)
    except Exception as exc:  # a damaged or foreign pickle: refit rather than serve it
        log.warning("ignoring the unreadable KB ranker %s (%s); refitting", path, exc)
        return None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT \
            or payload.get("format_version") != FORMAT_VERSION or payload.get("key") != key:
        log.warning("the KB ranker %s was fitted for another bundle, index or format; refitting", path)
        return None
    ranker = payload.get("ranker")
    return ranker if isinstance(ranker, KBRanker) else None


def save_ranker(path: Path, ranker: KBRanker, key: dict[str, Any]) -> Path:
    """Write atomically: a reader sees the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:6]}.tmp")
    try:
        joblib.dump({"format": FORMAT, "format_version": FORMAT_VERSION, "key": key, "ranker": ranker}, tmp,
                    compress=3)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return path


def with_kb_ranker(index: KBIndex, bundle: Path, manifest: dict[str, Any], cache_dir: Path, *,
                   in_index: bool = False, progress: bool = False, embedder: Embedder | None = None) -> KBIndex:
    """The index with the ranker learned from the bundle's links attached (a copy; the given one is
    untouched, as a hot reload may share it); the index itself when the bundle names no article.

    `embedder` is the one the index was built with: when it is not the bundle's shared one (the retrieval
    embedder tuned on the links), the linked tickets are embedded again with it, so the ranker's neighbours
    live in the space of the queries it will score."""
    if index.reranker is not None:  # an index another bundle ranked (a hot reload passes the old one on)
        index = _with(index, None)
    if not (Path(bundle) / LINKS).is_file():
        return index
    key = ranker_key(bundle, manifest, index)
    name = f"{_digest(key)}.joblib"
    places = [Path(index.root) / INDEX_FOLDER / name, Path(cache_dir) / CACHE_FOLDER / name]
    ranker = next((r for r in (load_ranker(p, key) for p in places) if r is not None), None)
    if ranker is None:
        linked = read_linked(bundle, "kb_article")
        if linked is not None and embedder is not None and embedder.model_id != manifest["embedder"]["id"]:
            linked.vectors = embedder.encode(linked.texts, kind="query", progress=progress)
        ranker = fit_kb_ranker(index, linked, progress=progress) if linked is not None else None
        if ranker is None:
            return index
        _store(ranker, key, places if in_index else places[1:])
    return _with(index, ranker)


def _with(index: KBIndex, ranker: KBRanker | None) -> KBIndex:
    """A shallow copy (the chunks, vectors and BM25 statistics are shared) with its own re-ranker."""
    ranked = copy.copy(index)
    ranked.reranker = ranker
    return ranked


def _store(ranker: KBRanker, key: dict[str, Any], places: list[Path]) -> None:
    for place in places:
        try:
            save_ranker(place, ranker, key)
            return
        except OSError as exc:  # a read-only index folder: the cache is the next place
            log.warning("cannot write the KB ranker to %s (%s)", place, exc)
