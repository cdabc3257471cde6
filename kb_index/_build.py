"""Building and updating an index: only new or changed articles are embedded.

Each build writes a complete new version directory beside the live one and
then flips the CURRENT pointer with an atomic rename, so a search always sees
one whole version and a crash leaves the previous version serving.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from kb_index._articles import Article, Chunker
from kb_index._fusion import LEXICAL_CLIP, LEXICAL_WEIGHT
from kb_index._index import (
    CHUNKS,
    CURRENT,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    STATS,
    QdrantSettings,
    current_version_dir,
    open_store,
    read_manifest,
)
from kb_index._lexical import TermCounts
from kb_index._qdrant import QdrantStore
from kb_index._stores import NPROBE, FaissStore, VectorStore
from kb_index.durable import atomic_write_text, fsync_tree
from kb_index.errors import IndexBusyError, SourceError

KEEP_VERSIONS = 2  # the live one and the one a slow reader may still hold
_STATS_SAMPLE = 20_000


class Encoder(Protocol):
    """What the index needs from an embedder (triage's embedders fit it)."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str], *, kind: str = "query", batch_size: int = 32,
               progress: bool = False) -> np.ndarray: ...


@dataclass
class BuildOptions:
    backend: str = "faiss"  # or "qdrant"
    mode: str = "sync"  # "sync": the index holds exactly the given articles; "upsert": others are kept
    chunk_chars: int = 800
    overlap: int = 100
    title_chunk: bool = True
    lexical_weight: float = LEXICAL_WEIGHT  # see kb_index/_fusion.py
    lexical_clip: float = LEXICAL_CLIP
    candidates: int = 100
    exact_max: int = 200_000
    nprobe: int = NPROBE  # kb_index._stores: measured on real embeddings
    qdrant: QdrantSettings = field(default_factory=QdrantSettings)
    encoder_spec: str | None = None  # how to load the encoder again ("e5-small", "bundle:/path"), for the CLI
    batch_size: int = 32
    progress: bool = False


@dataclass
class BuildReport:
    root: Path
    version: int
    articles: int
    chunks: int
    added: list[str]
    changed: list[str]
    removed: list[str]
    embedded_chunks: int
    seconds: float
    rebuilt: bool  # everything re-embedded (new index, or another encoder/backend/chunking)

    def summary(self) -> str:
        return (f"index v{self.version} at {self.root}: {self.articles} articles, {self.chunks} chunks; "
                f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed; "
                f"{self.embedded_chunks} chunks embedded in {self.seconds:.1f} s")


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexBusyError(f"another process is building {root}; wait for it to finish") from exc
        yield


def _check_articles(articles: Sequence[Article]) -> None:
    seen: set[str] = set()
    for art in articles:
        if not art.id:
            raise SourceError("an article has an empty id", field="id")
        if art.id in seen:
            raise SourceError(f"article id {art.id!r} appears twice; ids must be unique", field="id")
        if not (art.title.strip() or art.body.strip()):
            raise SourceError(f"article {art.id!r} has neither a title nor a body", field="body")
        seen.add(art.id)


def build_index(root: str | Path, articles: Sequence[Article], encoder: Encoder,
                options: BuildOptions | None = None) -> BuildReport:
    """Create or update the index at `root` from `articles`."""
    opts = options or BuildOptions()
    root = Path(root)
    _check_articles(articles)
    started = time.perf_counter()
    with _locked(root):
        for stale in root.glob(".build-*"):  # left by a killed build
            shutil.rmtree(stale, ignore_errors=True)
        prev_dir = current_version_dir(root)
        prev = read_manifest(prev_dir) if prev_dir else None
        chunker = Chunker(opts.chunk_chars, opts.overlap, opts.title_chunk)
        rebuild = prev is None or not _compatible(prev, encoder, chunker, opts)
        prev_chunks = pd.DataFrame() if rebuild or prev_dir is None else pd.read_parquet(prev_dir / CHUNKS)
        plan = _plan(articles, prev_chunks, chunker, opts.mode)
        version = (prev["version"] + 1) if prev else 1
        next_id = 0 if rebuild or prev is None else int(prev["next_chunk_id"])

        new_chunks = [(art, chunk) for art in plan.embed for chunk in chunker.split(art)]
        texts = [c.text for _, c in new_chunks]
        vectors = (encoder.encode(texts, kind="passage", batch_size=opts.batch_size, progress=opts.progress)
                   if texts else np.zeros((0, encoder.dim), np.float32))
        new_ids = np.arange(next_id, next_id + len(new_chunks), dtype=np.int64)
        kept = prev_chunks[prev_chunks["article_id"].isin(plan.keep)] if len(prev_chunks) else prev_chunks
        removed_ids = (prev_chunks.loc[~prev_chunks["article_id"].isin(plan.keep), "chunk_id"].to_numpy(np.int64)
                       if len(prev_chunks) else np.zeros(0, np.int64))

        tmp = root / f".build-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            store = _open_for_update(root, prev, prev_dir, encoder.dim, opts, rebuild, version)
            store.add(new_ids, vectors, tag=version)
            if isinstance(store, FaissStore):
                store.delete(removed_ids)  # a private copy: the live version is untouched
                store.optimize()
                store.save(tmp)
            table = _table(kept, new_chunks, new_ids, chunker)
            counts = (TermCounts() if rebuild or prev_dir is None else TermCounts.load(prev_dir)).rebuilt(
                kept.index.to_numpy() if len(kept) else np.zeros(0, np.int64), texts)
            counts.save(tmp)
            table.to_parquet(tmp / CHUNKS, index=False)
            np.savez(tmp / STATS, cov=_covariance(store, table["chunk_id"].to_numpy(np.int64), vectors))
            manifest = _manifest(version, encoder, chunker, opts, store, table, next_id + len(new_chunks))
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
            fsync_tree(tmp)
            final = root / f"v{version:06d}"
            if final.exists():  # a previous build of this number crashed after the rename
                shutil.rmtree(final)
            tmp.rename(final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        atomic_write_text(root / CURRENT, final.name)
        if isinstance(store, QdrantStore):
            if rebuild and prev and prev["backend"]["backend"] == "qdrant":
                store.client_.delete_collection(prev["backend"]["collection"])
            else:
                store.delete(removed_ids)  # only now: readers of the old version filter unknown ids
            store.close()
        _prune(root, keep=final.name)
    return BuildReport(root, version, len(table["article_id"].unique()), len(table), plan.added, plan.changed,
                       plan.removed, len(new_chunks), time.perf_counter() - started, rebuild)


@dataclass
class _Plan:
    keep: list[str]
    embed: list[Article]
    added: list[str]
    changed: list[str]
    removed: list[str]


def _plan(articles: Sequence[Article], prev: pd.DataFrame, chunker: Chunker, mode: str) -> _Plan:
    old_hash = dict(zip(prev["article_id"], prev["article_hash"], strict=True)) if len(prev) else {}
    new_ids = {a.id for a in articles}
    keep: list[str] = []
    embed: list[Article] = []
    added: list[str] = []
    changed: list[str] = []
    for art in articles:
        digest = art.content_hash(chunker.params)
        if old_hash.get(art.id) == digest:
            keep.append(art.id)
            continue
        embed.append(art)
        (changed if art.id in old_hash else added).append(art.id)
    untouched = [a for a in old_hash if a not in new_ids]
    if mode == "upsert":
        keep.extend(untouched)
        removed: list[str] = []
    else:
        removed = untouched
    return _Plan(keep, embed, added, changed, removed)


def _compatible(prev: dict[str, Any], encoder: Encoder, chunker: Chunker, opts: BuildOptions) -> bool:
    same_backend = prev["backend"]["backend"] == opts.backend
    return (prev["encoder"]["model_id"] == encoder.model_id and int(prev["encoder"]["dim"]) == encoder.dim
            and prev["chunking"] == chunker.params and same_backend)


def _open_for_update(root: Path, prev: dict[str, Any] | None, prev_dir: Path | None, dim: int,
                     opts: BuildOptions, rebuild: bool, version: int) -> VectorStore:
    if opts.backend == "faiss":
        if rebuild or prev is None or prev_dir is None:
            return FaissStore(dim, exact_max=opts.exact_max, nprobe=opts.nprobe)
        store = open_store(prev, prev_dir)
        assert isinstance(store, FaissStore)
        store.exact_max, store.nprobe = opts.exact_max, opts.nprobe
        return store
    if opts.backend != "qdrant":
        raise SourceError(f"unknown backend {opts.backend!r}: use 'faiss' or 'qdrant'", field="backend")
    q = opts.qdrant
    path = None if q.url else str(root / "qdrant")
    if rebuild or prev is None:  # a fresh collection, so the live one serves until the swap
        store = QdrantStore(dim, collection=f"{q.collection}-{version}", url=q.url, api_key=q.api_key, path=path)
        store.delete_tagged_above(-1)
    else:
        store = QdrantStore(dim, collection=prev["backend"]["collection"], url=q.url, api_key=q.api_key, path=path)
        store.delete_tagged_above(int(prev["version"]))
    return store


def _table(kept: pd.DataFrame, new_chunks: list[tuple[Article, Any]], new_ids: np.ndarray,
           chunker: Chunker) -> pd.DataFrame:
    rows = [{"chunk_id": int(cid), "article_id": art.id, "source": art.source, "title": art.title,
             "url": art.url or "", "category": art.category or "", "position": chunk.position, "text": chunk.text,
             "snippet": chunk.snippet, "section": chunk.meta.get("section", ""),
             "article_hash": art.content_hash(chunker.params)}
            for cid, (art, chunk) in zip(new_ids, new_chunks, strict=True)]
    new = pd.DataFrame(rows, columns=list(kept.columns) if len(kept.columns) else None)
    table = pd.concat([kept, new], ignore_index=True) if len(kept) else new
    return table.reset_index(drop=True)


def _covariance(store: VectorStore, ids: np.ndarray, fresh: np.ndarray) -> np.ndarray:
    """Covariance of (a sample of) the chunk vectors: it gives each query's dense score spread."""
    if not len(ids):
        return np.zeros((fresh.shape[1], fresh.shape[1]), np.float32)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(ids, size=min(len(ids), _STATS_SAMPLE), replace=False))
    first_fresh = ids[-len(fresh)] if len(fresh) else np.iinfo(np.int64).max
    old = sample[sample < first_fresh]
    parts = [store.get(old)] if len(old) else []
    if len(fresh):
        parts.append(fresh[sample[sample >= first_fresh] - first_fresh])
    vecs = np.concatenate(parts).astype(np.float64)
    if len(vecs) < 2:
        return np.zeros((vecs.shape[1], vecs.shape[1]), np.float32)
    return np.cov(vecs, rowvar=False).astype(np.float32)


def _manifest(version: int, encoder: Encoder, chunker: Chunker, opts: BuildOptions, store: VectorStore,
              table: pd.DataFrame, next_chunk_id: int) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as pkg_version

    libs: dict[str, str | None] = {}
    for name in ("faiss-cpu", "qdrant-client", "langchain-text-splitters", "PyStemmer"):
        try:
            libs[name] = pkg_version(name)
        except PackageNotFoundError:
            libs[name] = None
    by_source = table.drop_duplicates("article_id")["source"].value_counts().to_dict()
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "version": version,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "encoder": {"model_id": encoder.model_id, "dim": encoder.dim, "spec": opts.encoder_spec},
            "chunking": chunker.params,
            "fusion": {"lexical_weight": opts.lexical_weight, "lexical_clip": opts.lexical_clip,
                       "candidates": opts.candidates},
            "backend": store.describe(), "next_chunk_id": next_chunk_id,
            "counts": {"articles": int(table["article_id"].nunique()), "chunks": len(table),
                       "by_source": {str(k): int(v) for k, v in by_source.items()}},
            "libraries": libs}


def _prune(root: Path, keep: str) -> None:
    versions = sorted(p for p in root.glob("v[0-9]*") if p.is_dir())
    for old in versions[:-KEEP_VERSIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
