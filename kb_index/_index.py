"""Opening an index version and searching it: dense and BM25 fused, grouped per article.

The BM25 scores are z-scored against the whole collection and fused with the cosines by
`kb_index.fuse` (the ticket history ranks by the same function); the dense spread comes from the
stored covariance of the chunk vectors, so a score means roughly the same thing for every query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from typing_extensions import TypedDict

from kb_index._fusion import fuse
from kb_index._lexical import BM25, TermCounts
from kb_index._qdrant import QdrantStore
from kb_index._rerank import SIGNALS, Candidates, Reranker
from kb_index._stores import FaissStore, VectorStore
from kb_index.errors import EncoderMismatchError, IndexFormatError

FORMAT = "triage-kb-index"
FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
CHUNKS = "chunks.parquet"
RERANK_K = 10  # the search depth (in articles) re-ranked candidates come from, in training and in use
STATS = "stats.npz"


class KBHit(TypedDict):
    """A `Hit` as it goes out in a result (contract §4 `kb`)."""

    article_id: str
    title: str
    score: float
    snippet: str
    url: str | None
    source: str


@dataclass(frozen=True)
class Hit:
    """One suggested article (or past answer), with its best-matching chunk as the snippet."""

    article_id: str
    title: str
    score: float
    snippet: str
    url: str | None
    source: str
    section: str | None = None

    def as_dict(self) -> KBHit:
        return {"article_id": self.article_id, "title": self.title, "score": round(self.score, 4),
                "snippet": self.snippet, "url": self.url, "source": self.source}


@dataclass(frozen=True)
class QdrantSettings:
    """Where a Qdrant-backed index lives; the URL wins over a local path."""

    url: str | None = None
    api_key: str | None = None
    collection: str = "triage-kb"


def current_version_dir(root: Path) -> Path | None:
    pointer = root / CURRENT
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    path = root / name
    if not (path / MANIFEST).exists():
        raise IndexFormatError(f"{root} points at {name}, which is missing: rebuild with `triage kb build`")
    return path


def read_manifest(version_dir: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((version_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexFormatError(f"cannot read {version_dir / MANIFEST}: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise IndexFormatError(f"{version_dir} is not a KB index (no '{FORMAT}' manifest)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(f"{version_dir} has index format {manifest.get('format_version')}, this "
                               f"software reads {FORMAT_VERSION}: rebuild with `triage kb build`")
    return manifest


def open_store(manifest: dict[str, Any], version_dir: Path, qdrant: QdrantSettings | None = None) -> VectorStore:
    backend = manifest["backend"]
    dim = int(manifest["encoder"]["dim"])
    if backend["backend"] == "faiss":
        return FaissStore.load(version_dir, dim, exact_max=int(backend["exact_max"]), nprobe=int(backend["nprobe"]))
    if backend["backend"] == "qdrant":
        qdrant = qdrant or QdrantSettings()
        url = qdrant.url or backend.get("url")
        path = None if url else str(version_dir.parent / "qdrant")
        return QdrantStore(dim, collection=backend["collection"], url=url, api_key=qdrant.api_key, path=path)
    raise IndexFormatError(f"unknown backend {backend['backend']!r} in {version_dir / MANIFEST}")


class KBIndex:
    """A loaded, read-only index version. Searches take query vectors, so callers embed once."""

    def __init__(self, root: Path, version_dir: Path, manifest: dict[str, Any], chunks: pd.DataFrame,
                 bm25: BM25, stats: dict[str, np.ndarray], store: VectorStore) -> None:
        self.root = root
        self.version_dir = version_dir
        self.manifest = manifest
        self.chunks = chunks
        self.bm25 = bm25
        self.store = store
        self.cov_ = stats["cov"]
        self._ids = chunks["chunk_id"].to_numpy(np.int64)  # sorted on write
        # plain lists: a pandas row lookup costs ~30 µs, and a search looks at dozens of rows
        self._cols = {c: chunks[c].tolist() if c in chunks.columns else [""] * len(chunks)
                      for c in ("article_id", "source", "title", "snippet", "url", "section", "category")}
        self.lexical_weight = float(manifest["fusion"]["lexical_weight"])
        self.candidates = int(manifest["fusion"]["candidates"])
        self.lexical_clip = float(manifest["fusion"].get("lexical_clip") or 0)
        self.title_weight = float(manifest["fusion"].get("title_weight", 0.5))
        self._title_row, self._first_body = _article_rows(chunks, bool(manifest["chunking"].get("title_chunk")))
        self._by_article: dict[str, list[int]] | None = None
        self.reranker: Reranker | None = None  # learned from ticket -> article links (triage attaches it)

    @classmethod
    def open(cls, root: str | Path, *, encoder_id: str | None = None, dim: int | None = None,
             qdrant: QdrantSettings | None = None) -> KBIndex:
        root = Path(root)
        version_dir = current_version_dir(root)
        if version_dir is None:
            raise IndexFormatError(f"{root} is not a KB index (no {CURRENT} file): build one with "
                                   f"`triage kb build --source KB --out {root}`")
        manifest = read_manifest(version_dir)
        enc = manifest["encoder"]
        if encoder_id is not None and enc["model_id"] != encoder_id:
            raise EncoderMismatchError(
                f"the index {root} was embedded with {enc['model_id']}, the model uses {encoder_id}: "
                f"rebuild it with `triage kb build ... --model <bundle>` (or the same --embedder)")
        if dim is not None and int(enc["dim"]) != dim:
            raise EncoderMismatchError(f"the index {root} holds {enc['dim']}-d vectors, the model makes {dim}-d")
        chunks = pd.read_parquet(version_dir / CHUNKS)
        bm25 = BM25(TermCounts.load(version_dir))
        with np.load(version_dir / STATS) as data:
            stats = {"cov": data["cov"]}
        return cls(root, version_dir, manifest, chunks, bm25, stats, open_store(manifest, version_dir, qdrant))

    @property
    def encoder_id(self) -> str:
        return str(self.manifest["encoder"]["model_id"])

    @property
    def version(self) -> int:
        return int(self.manifest["version"])

    def __len__(self) -> int:
        return len(self.chunks)

    def _rows(self, ids: np.ndarray) -> np.ndarray:
        """Chunk ids -> table rows; -1 for ids this version does not know (a build in progress)."""
        pos = np.searchsorted(self._ids, ids)
        pos = np.clip(pos, 0, max(len(self._ids) - 1, 0))
        ok = (len(self._ids) > 0) & (self._ids[pos] == ids) if len(self._ids) else np.zeros(len(ids), bool)
        return np.where(ok, pos, -1)

    def search(self, vectors: np.ndarray, texts: Sequence[str], k: int = 5,
               sources: Sequence[str] | None = None, *, floor: bool = False) -> list[list[Hit]]:
        """Top-k articles per query; `vectors` are the queries embedded with the index's encoder.

        With a `reranker` attached, candidates are ordered by its calibrated probability, and `floor`
        drops those under its relevance floor (what a person is shown; rankings for evaluation keep them).
        """
        if not len(self.chunks):
            return [[] for _ in texts]
        # a re-ranker learned on the candidates of a top-10 search sees the same depth, whatever k is
        depth = max(self.candidates, 10 * (RERANK_K if self.reranker is not None else k))
        d_scores, d_ids = self.store.search(np.asarray(vectors, np.float32), min(len(self.chunks), depth))
        return [self._one(vectors[i], texts[i], d_scores[i], d_ids[i], k, sources, floor) for i in range(len(texts))]

    def search_candidates(self, vectors: np.ndarray, texts: Sequence[str],
                          proposed: Sequence[Sequence[str]] | None = None) -> list[Candidates]:
        """Per query, the per-article candidates a re-ranked `search` ranks, with their signals, and the
        `proposed` articles besides (what a re-ranker learns from)."""
        if not len(self.chunks):
            return [Candidates([], [], [], np.zeros(0, np.int64), np.zeros((0, len(SIGNALS)))) for _ in texts]
        n_cand = min(len(self.chunks), max(self.candidates, 10 * RERANK_K))
        d_scores, d_ids = self.store.search(np.asarray(vectors, np.float32), n_cand)
        return [self._candidates(vectors[i], texts[i], d_scores[i], d_ids[i], proposed[i] if proposed else ())
                for i in range(len(texts))]

    def _candidates(self, vector: np.ndarray, text: str, d_scores: np.ndarray, d_ids: np.ndarray,
                    proposed: Sequence[str] = ()) -> Candidates:
        rows = self._rows(d_ids)
        cos = {int(r): float(s) for r, s in zip(rows, d_scores, strict=True) if r >= 0}
        lex = self.bm25.scores(text)
        lex_mu, lex_sd = float(lex.mean()), float(lex.std())
        lex_top = _top(lex, max(len(cos), 1)) if lex_sd > 0 else np.empty(0, np.int64)
        extra = {int(r) for r in lex_top if int(r) not in cos and lex[r] > 0}
        extra |= {r for r in self._article_chunk_rows(proposed) if r not in cos}  # e.g. the neighbours' articles
        # an article is judged by its title and its best section together: both rows must be scored
        partners = np.concatenate([self._title_row[list(cos | dict.fromkeys(extra))],
                                   self._first_body[list(cos | dict.fromkeys(extra))]])
        extra |= {int(r) for r in partners if r >= 0 and int(r) not in cos}
        if extra:
            todo = sorted(extra)
            vecs = self.store.get(self._ids[todo])
            cos.update(zip(todo, (vecs @ vector).tolist(), strict=True))
        cand = np.fromiter(cos, np.int64, len(cos))
        dense = np.fromiter(cos.values(), np.float64, len(cos))
        z_lex = (lex[cand] - lex_mu) / lex_sd if lex_sd > 0 else np.zeros(len(cand))
        fused = fuse(dense, z_lex, vector, self.cov_, weight=self.lexical_weight, clip=self.lexical_clip)
        return self._per_article(cand, fused, dense, z_lex)

    def _one(self, vector: np.ndarray, text: str, d_scores: np.ndarray, d_ids: np.ndarray, k: int,
             sources: Sequence[str] | None, floor: bool) -> list[Hit]:
        proposed = self.reranker.propose(vector) if self.reranker is not None else ()
        cands = self._candidates(vector, text, d_scores, d_ids, proposed)
        if self.reranker is None or not len(cands):
            return self._collect(cands, cands.fused, k, sources, None)
        scores = np.clip(self.reranker.rescore(vector, text, cands), 0.0, 1.0)
        return self._collect(cands, scores, k, sources, self.reranker.floor if floor else None)

    def _per_article(self, cand: np.ndarray, fused: np.ndarray, dense: np.ndarray, z_lex: np.ndarray) -> Candidates:
        """One candidate per article, best first: title and best section averaged, with their signals."""
        at = {int(r): j for j, r in enumerate(cand.tolist())}
        best: dict[int, tuple[float, int]] = {}
        for r, f in zip(cand.tolist(), fused.tolist(), strict=True):
            if self._title_row[r] == r and self._first_body[r] >= 0:
                continue  # the title row speaks through its article's sections
            key = int(self._title_row[r]) if self._title_row[r] >= 0 else r
            if key not in best or f > best[key][0]:
                best[key] = (f, r)
        w = self.title_weight
        keys = sorted(best, key=lambda key: -self._article_score(key, best[key], fused, at, w))
        signals = np.zeros((len(keys), len(SIGNALS)))
        shown = np.zeros(len(keys), np.int64)
        for i, key in enumerate(keys):
            f, r = best[key]
            t = at.get(key, at[r])
            signals[i] = (self._article_score(key, best[key], fused, at, w), 0.0, np.log1p(i), dense[t], dense[at[r]],
                          z_lex[t], z_lex[at[r]], self._cols["source"][r] == "answer")
            shown[i] = r
        if len(keys):
            signals[:, 1] = signals[0, 0] - signals[:, 0]
        col = self._cols
        return Candidates([str(col["article_id"][r]) for r in shown], [str(col["source"][r]) for r in shown],
                          [str(col["category"][r] or "") for r in shown], shown, signals)

    @staticmethod
    def _article_score(key: int, best: tuple[float, int], fused: np.ndarray, at: dict[int, int], w: float) -> float:
        f, r = best
        return (1 - w) * f + w * float(fused[at[key]]) if key in at and key != r else f

    def _article_chunk_rows(self, article_ids: Sequence[str]) -> list[int]:
        if not article_ids:
            return []
        if self._by_article is None:
            self._by_article = {}
            for r, a in enumerate(self._cols["article_id"]):
                self._by_article.setdefault(str(a), []).append(r)
        return [r for a in article_ids for r in self._by_article.get(a, ())]

    def _collect(self, cands: Candidates, scores: np.ndarray, k: int, sources: Sequence[str] | None,
                 floor: float | None) -> list[Hit]:
        col = self._cols
        wanted = set(sources or ("kb", "answer"))
        # past answers are many and alike; articles are the authoritative answer, so answers get at most half
        answer_cap = k if wanted == {"answer"} else max(k // 2, 1 if k == 1 else 0)
        hits: list[Hit] = []
        seen: set[Any] = set()
        n_answers = 0
        for j in np.argsort(-scores, kind="stable"):
            r, score = int(cands.rows[j]), float(scores[j])
            if floor is not None and score < floor:
                break
            article, source, snippet = col["article_id"][r], col["source"][r], col["snippet"][r]
            if source not in wanted or article in seen:
                continue
            if source == "answer":
                if n_answers >= answer_cap or ("answer", snippet) in seen:
                    continue
                n_answers += 1
                seen.add(("answer", snippet))  # the same fix pasted into many tickets shows once
            seen.add(article)
            hits.append(Hit(str(article), str(col["title"][r]), float(np.clip(score, 0.0, 1.0)), str(snippet),
                            col["url"][r] or None, str(source), col["section"][r] or None))
            if len(hits) == k:
                break
        return hits


def _article_rows(chunks: pd.DataFrame, title_chunk: bool) -> tuple[np.ndarray, np.ndarray]:
    """For every row: the row of its article's title chunk, and of its first section chunk (-1 if none)."""
    n = len(chunks)
    title_row, first_body = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    if not n:
        return title_row, first_body
    art = chunks["article_id"].to_numpy()
    pos = chunks["position"].to_numpy()
    is_title = (chunks["source"].to_numpy() == "kb") & (pos == 0) & title_chunk
    order = np.lexsort((pos, art))
    for _, group in pd.Series(order).groupby(art[order], sort=False):
        rows = group.to_numpy()
        t = rows[is_title[rows]]
        body = rows[~is_title[rows]]
        title_row[rows] = t[0] if len(t) else -1
        first_body[rows] = body[0] if len(body) else -1
    return title_row, first_body


def _top(values: np.ndarray, n: int) -> np.ndarray:
    if n >= len(values):
        return np.arange(len(values))
    return np.argpartition(-values, n)[:n]
