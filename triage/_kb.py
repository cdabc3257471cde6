"""The product side of the knowledge base: reading article and answer sources,
opening an index for a model, searching it with the model's embedder, and
finding the questions no article answers (KB gaps).

`kb_index` knows nothing of ticket exports or mappings; this module adapts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kb_index import Article, KBHit, KBIndex, QdrantSettings, article_text, read_folder
from kb_index._articles import URL_KEYS
from kb_index.errors import SourceError
from triage._data import ColumnMapping, load_tickets, read_records
from triage._embedding import Embedder
from triage.errors import DataError, DataErrors
from triage.settings import Settings

KB_FIELDS = ("id", "title", "body", "url", "category")
_MAX_REPORTED = 10


def load_articles(paths: Sequence[str | Path], mapping: ColumnMapping | None = None) -> list[Article]:
    """Articles from folders (.md/.txt/.html) and tables (CSV/JSONL/Parquet with id, title, body)."""
    mapping = mapping or ColumnMapping()
    articles: list[Article] = []
    for path in map(Path, paths):
        if path.is_dir():
            try:
                articles.extend(read_folder(path))
            except SourceError as exc:
                raise DataError(str(exc)) from exc
        else:
            articles.extend(_table_articles(path, mapping))
    if not articles:
        raise DataError("no articles found (a folder needs .md, .txt or .html files; a table needs rows)",
                        file=", ".join(map(str, paths)))
    return articles


def _table_articles(path: Path, mapping: ColumnMapping) -> list[Article]:
    out: list[Article] = []
    errors: list[DataError] = []
    total = 0
    renames: dict[str, str] | None = None
    first_line: dict[str, int] = {}
    for line, raw in read_records(path):
        if renames is None:
            renames = mapping.rename(list(raw), str(path))
            missing = {"title", "body"} - {renames.get(k.strip(), k.strip()) for k in raw}
            if missing:
                raise DataError(f"a KB table needs columns title and body, and ideally id (map them with "
                                f"--config); missing {sorted(missing)}", file=str(path), line=1,
                                field=sorted(missing)[0])
        rec = {renames.get(k.strip(), k.strip()): ("" if v is None else str(v).strip()) for k, v in raw.items()}
        rec = {k: ("" if v == "nan" else v) for k, v in rec.items()}
        rec["url"] = rec.get("url") or _url_alias(rec)
        rec["id"] = rec.get("id") or f"{path.stem}:{line}"  # no id column: the row's line, as for tickets
        problem = ("body", "title and body are both empty") if not (rec.get("title") or rec.get("body")) else (
            ("id", f"id {rec['id']!r} is already used on line {first_line[rec['id']]}")
            if rec["id"] in first_line else None)
        if problem:
            total += 1
            if len(errors) < _MAX_REPORTED:
                errors.append(DataError(problem[1], file=str(path), line=line, field=problem[0]))
            continue
        first_line[rec["id"]] = line
        out.append(Article(id=rec["id"], title=rec.get("title") or rec["id"], body=article_text(rec.get("body") or ""),
                           url=rec.get("url") or None, category=rec.get("category") or None))
    if errors:
        raise DataErrors(errors, total)
    return out


def _url_alias(rec: dict[str, str]) -> str:
    """An unmapped address column under a usual name (URL, Link, href, ...), so hits are not `url: null`."""
    lowered = {k.lower().strip(): v for k, v in rec.items()}
    return next((lowered[k] for k in URL_KEYS if lowered.get(k)), "")


def load_answers(paths: Sequence[str | Path], mapping: ColumnMapping | None = None,
                 ticket_url: str | None = None) -> list[Article]:
    """Past tickets with a developer's answer, as a second source of suggestions ('ticket:<id>').

    `ticket_url` (TRIAGE_TICKET_URL, e.g. `https://desk/t/{id}`) gives each its link to the ticket.
    """
    tickets = load_tickets(paths, mapping)
    if "answer" not in tickets.columns:
        raise DataError("no 'answer' column: past answers need the developer's reply (map it with --config)",
                        file=", ".join(map(str, paths)), field="answer")
    out = []
    for row in tickets.itertuples(index=False):
        answer = getattr(row, "answer", None)
        if not isinstance(answer, str) or not answer.strip():
            continue
        title = row.subject.strip() or row.body.strip().splitlines()[0][:120]
        url = ticket_url.format(id=row.id) if ticket_url and ticket_url != "{id}" else None
        out.append(Article(id=f"ticket:{row.id}", title=title, body=row.body, source="answer", url=url,
                           answer=answer.strip(), format="text"))
    return out


def qdrant_settings(settings: Settings) -> QdrantSettings:
    return QdrantSettings(url=settings.qdrant_url, api_key=settings.qdrant_api_key,
                          collection=settings.qdrant_collection)


def open_kb(kb_dir: str | Path, embedder: Embedder, settings: Settings) -> KBIndex:
    """Open an index and refuse one embedded by a different model than `embedder`."""
    return KBIndex.open(kb_dir, encoder_id=embedder.model_id, dim=embedder.dim, qdrant=qdrant_settings(settings))


def search_kb(index: KBIndex, embedder: Embedder, queries: Sequence[str], k: int = 5,
              sources: Sequence[str] | None = None) -> list[list[KBHit]]:
    vectors = embedder.encode(list(queries), kind="query")
    found = index.search(vectors, queries, k=k, sources=sources, floor=True)
    return [[h.as_dict() for h in hits] for hits in found]


@dataclass
class Gap:
    """Tickets that no article answers well and that look alike: an article to write."""

    size: int
    question: str  # the ticket nearest the group's centre
    ticket_ids: list[str]
    best_article: str | None
    best_score: float

    def as_dict(self) -> dict[str, Any]:
        return {"size": self.size, "question": self.question, "ticket_ids": self.ticket_ids,
                "best_article": self.best_article, "best_score": round(self.best_score, 4)}


def find_gaps(index: KBIndex, embedder: Embedder, tickets: pd.DataFrame, *, min_score: float,
              min_size: int = 2, distance: float = 0.12, progress: bool = False,
              vectors: np.ndarray | None = None) -> tuple[list[Gap], int]:
    """Groups of poorly answered tickets, largest first; also returns how many tickets were poorly answered.

    `vectors`: the tickets' query embeddings when already known (the service's history keeps them).
    A ticket is poorly answered when its best KB article scores under `min_score`;
    such tickets are grouped by average-linkage clustering at cosine `distance`.
    """
    from sklearn.cluster import AgglomerativeClustering

    texts = tickets["text"].tolist()
    if vectors is None:  # the service passes the embeddings its history already holds
        vectors = embedder.encode(texts, kind="query", progress=progress)
    hits = index.search(vectors, texts, k=1, sources=["kb"])
    best = np.array([h[0].score if h else 0.0 for h in hits])
    # with a ranker learned from links, scores are probabilities and its floor says what "answered" means
    poor = np.flatnonzero(best < (index.reranker.floor if index.reranker is not None else min_score))
    if len(poor) < max(min_size, 2):
        labels = np.zeros(len(poor), int)
    else:
        labels = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                         distance_threshold=distance).fit_predict(vectors[poor])
    gaps = []
    for label in np.unique(labels):
        members = poor[labels == label]
        if len(members) < min_size:
            continue
        centre = vectors[members].mean(axis=0)
        rep = int(members[np.argmax(vectors[members] @ centre)])
        top = hits[rep][0] if hits[rep] else None
        gaps.append(Gap(len(members), texts[rep], tickets["id"].iloc[members].astype(str).tolist(),
                        top.article_id if top else None, float(best[rep])))
    gaps.sort(key=lambda g: -g.size)
    return gaps, len(poor)
