"""Ticket history: every training and classified ticket, durable, searchable by meaning and by words.

The database (its own SQLite file with WAL and synchronous=FULL, or the shared `TRIAGE_DATABASE_URL`;
`triage/_db.py`) is the source of truth: `append` returns only once the rows are committed, so an
accepted ticket survives kill -9. The vector index (any `kb_index.VectorStore`, FAISS by default)
and the BM25 statistics are derived from it and rebuilt on open, so they can never disagree with it
after a crash. Searches are in memory; only the final k hits are read back from the database.
Several processes (replicas) may share one database: each keeps its own index and takes in what the
others stored with `catch_up`, which the service calls every `TRIAGE_CATCH_UP_SECONDS`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb_index import LEXICAL_CLIP, LEXICAL_WEIGHT, FaissStore, VectorStore, fuse
from kb_index._lexical import BM25, TermCounts
from kb_index._text import tokenize
from triage._db import SQLAlchemyError, reason
from triage._history_store import (
    SET_META,
    UPSERT,
    HistoryRecord,
    Match,
    connect,
    iso,
    order_times,
    record_params,
    to_epoch,
)
from triage.errors import HistoryError

__all__ = ["HistoryRecord", "Match", "Pool", "TicketHistory", "iso", "order_times", "to_epoch"]

MIN_IDF = float(np.log1p(0.8 / 0.2))  # terms in more than ~20% of tickets are skipped (see _term_scores)
HISTORY_EXACT_MAX = 50_000
EXACT_LEXICAL_MAX = 5_000  # up to here BM25 is refreshed before every search; beyond, every 1% of growth
MAX_HOLES = 1_000
HOLE_SECONDS = 60.0  # how long catch_up keeps looking for a row id it skipped (a commit still in flight)


@dataclass(frozen=True)
class Pool:
    """One query's candidates from the history: row ids with their fused, dense and BM25 z scores."""

    rows: np.ndarray
    fused: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def empty(cls) -> Pool:
        return cls(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0))


class TicketHistory:
    """Append-only (upsert by ticket id) history with time-bounded hybrid search.

    `store_factory(dim)` gives the vector store: FAISS in memory by default, or a `QdrantStore` for a
    history that outgrows one machine (Qdrant keeps its own copy; SQLite stays the truth).
    """

    def __init__(self, path: str | Path, dim: int, *,
                 store_factory: Callable[[int], VectorStore] | None = None) -> None:
        self.path = path if "://" in str(path) else Path(path)  # a SQLite file, or a database URL
        self.dim = dim
        self._lock = threading.RLock()
        self.db = connect(self.path)
        self._factory = store_factory or _default_store
        self._reset()

    def _reset(self) -> None:
        """Derive every in-memory structure from SQLite (on open, and after a failed commit)."""
        dim = self.dim
        self.store: VectorStore = self._factory(dim)
        self._created = np.zeros(0, np.float64)  # by row id; NaN where no row
        self._problem = np.zeros(0, np.int64)
        self._row_of: dict[str, int] = {}
        self._sum = np.zeros(dim, np.float64)
        self._outer = np.zeros((dim, dim), np.float64)
        self._counts = TermCounts()
        self._lex_rows = np.zeros(0, np.int64)  # row id of each BM25 document
        self._pending: list[tuple[int, str]] = []  # appended since the last BM25 refresh
        self._bm25: BM25 | None = None
        self._holes: dict[int, float] = {}  # row ids below _scanned not seen yet -> when first missed
        self._load()

    # --- loading -------------------------------------------------------------------------------
    def _load(self) -> None:
        rows, texts, vecs = [], [], []
        for chunk in self._scan("SELECT id, ticket_id, created_at, text, embedding, problem_id FROM tickets "
                                "ORDER BY id"):
            for row_id, tid, created, text, blob, problem in chunk:
                vec = np.frombuffer(blob, np.float32)
                if vec.shape[0] != self.dim:
                    raise HistoryError(f"{self.db.name} holds {vec.shape[0]}-d vectors, the model makes {self.dim}-d: "
                                       "point TRIAGE_HISTORY_DB at a new file (or retrain with the same embedder)")
                rows.append(row_id)
                texts.append(text)
                vecs.append(vec)
                self._remember(row_id, tid, created, problem)
        self._scanned = max(rows, default=0)
        now = time.monotonic()  # a replica's commit in flight while this one loaded: looked for by catch_up
        self._holes = {h: now for h in range(max(1, self._scanned - MAX_HOLES), self._scanned) if not self._has(h)}
        if rows:
            matrix = np.stack(vecs)
            ids = np.asarray(rows, np.int64)
            if len(self.store) != len(ids):  # a persistent store (Qdrant) may already hold them
                self.store.add(ids, matrix)
            optimize = getattr(self.store, "optimize", None)
            if optimize is not None:  # FAISS: approximate (IVF) past HISTORY_EXACT_MAX tickets
                optimize()
            self._sum += matrix.sum(axis=0)
            self._outer += matrix.T.astype(np.float64) @ matrix
            self._pending = list(zip(rows, texts, strict=True))
            self._refresh_lexical(force=True)

    def catch_up(self) -> list[int]:
        """Index the rows other connections stored since this one last looked; their row ids.

        Two users: a hot reload (the old model appends to the same database until it is detached) and
        replicas sharing one database (the service polls). Row ids come from a sequence but commits
        land in any order, so a row id below the highest seen may still appear: such holes are looked
        for again on every call, for `HOLE_SECONDS` (a transaction is far shorter than that).
        """
        with self._lock:
            now = time.monotonic()
            self._holes = {h: t for h, t in self._holes.items() if now - t < HOLE_SECONDS and not self._has(h)}
            sql = ("SELECT id, ticket_id, created_at, text, embedding, problem_id FROM tickets WHERE id > ?"
                   + (f" OR id IN ({','.join('?' * len(self._holes))})" if self._holes else "") + " ORDER BY id")
            found = [r for chunk in self._scan(sql, (self._scanned, *self._holes)) for r in chunk]
            fresh = [r for r in found if not self._has(int(r[0]))]
            top = max([self._scanned, *(int(r[0]) for r in found)])
            seen = {int(r[0]) for r in found}
            gap = range(max(self._scanned + 1, top - MAX_HOLES), top)  # a sequence that jumped: the latest only
            self._holes.update({h: now for h in gap if h not in seen and not self._has(h)})
            self._scanned = top
            if fresh:
                self._index([int(r[0]) for r in fresh],
                            [HistoryRecord(ticket_id=tid, created_at=created, subject="", text=text,
                                           embedding=np.frombuffer(blob, np.float32), problem_id=problem)
                             for _, tid, created, text, blob, problem in fresh])
            return [int(r[0]) for r in fresh]

    def _has(self, row: int) -> bool:
        return row < len(self._created) and not np.isnan(self._created[row])

    def _scan(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[list[tuple[Any, ...]]]:
        yield from self.db.stream(sql, params)

    def _remember(self, row: int, ticket_id: str, created: float, problem: int | None) -> None:
        if row >= len(self._created):
            size = max(row + 1, 2 * len(self._created), 1024)
            self._created = np.concatenate([self._created, np.full(size - len(self._created), np.nan)])
            self._problem = np.concatenate([self._problem, np.full(size - len(self._problem), -1, np.int64)])
        self._created[row] = created
        self._problem[row] = -1 if problem is None else problem
        self._row_of[ticket_id] = row

    # --- writing -------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group appends into one durable commit (one fsync); searches inside already see them.

        If the commit fails the in-memory index is rebuilt from SQLite, so it never shows a ticket
        that was not stored.
        """
        with self._lock:
            if self.db.in_transaction:  # nested: the database joins it, the outermost call resets on failure
                with self.db.transaction():
                    yield
                return
            try:
                with self.db.transaction():
                    yield
            except BaseException as exc:
                self._reset()
                if isinstance(exc, SQLAlchemyError):
                    raise HistoryError(f"cannot write to the ticket history {self.db.name}: {reason(exc)}") from exc
                raise

    def append(self, records: Sequence[HistoryRecord]) -> list[int]:
        """Store tickets (durably on return, unless inside `transaction()`), then index them; their row ids."""
        if not records:
            return []
        with self.transaction():
            rows = [int(self.db.execute(UPSERT, record_params(r)).fetchone()[0]) for r in records]
            self._index(rows, records)
            return rows

    def _index(self, rows: list[int], records: Sequence[HistoryRecord]) -> None:
        ids = np.asarray(rows, np.int64)
        vecs = np.stack([np.asarray(r.embedding, np.float32) for r in records])
        known = [i for i, (row, r) in enumerate(zip(rows, records, strict=True)) if r.ticket_id in self._row_of]
        if known:  # re-sent ticket: replace its vector and statistics
            old = self.store.get(ids[known])
            self._sum -= old.sum(axis=0)
            self._outer -= old.T.astype(np.float64) @ old
            self.store.delete(ids[known])
        self.store.add(ids, vecs)
        self._sum += vecs.sum(axis=0)
        self._outer += vecs.T.astype(np.float64) @ vecs
        for row, r in zip(rows, records, strict=True):
            if r.ticket_id not in self._row_of or self._lex_position(row) is None:
                self._pending.append((row, r.text))
            self._remember(row, r.ticket_id, r.created_at, r.problem_id if r.problem_id is not None
                           else (int(self._problem[row]) if row < len(self._problem) else None))

    def _lex_position(self, row: int) -> int | None:
        pos = int(np.searchsorted(self._lex_rows, row))
        return pos if pos < len(self._lex_rows) and self._lex_rows[pos] == row else None

    def set_problems(self, assignments: dict[int, int | None]) -> None:
        """Durably (re)assign rows to known problems (after training clusters the history)."""
        with self._lock:
            self.db.executemany("UPDATE tickets SET problem_id = ? WHERE id = ?",
                                [(p, r) for r, p in assignments.items()])
            for row, problem in assignments.items():
                self._problem[row] = -1 if problem is None else problem

    def set_meta(self, key: str, value: Any) -> None:
        with self._lock:
            self.db.execute(SET_META, (key, json.dumps(value)))

    def meta(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    # --- reading -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._row_of)

    def row_of(self, ticket_id: str) -> int | None:
        return self._row_of.get(ticket_id)

    @property
    def created(self) -> np.ndarray:
        """created_at by row id (NaN for unused ids); a read-only view for window counts."""
        return self._created

    @property
    def problems(self) -> np.ndarray:
        return self._problem

    def covariance(self) -> np.ndarray:
        n = max(len(self), 1)
        mean = self._sum / n
        return self._outer / n - np.outer(mean, mean)

    def _refresh_lexical(self, force: bool = False) -> None:
        if not self._pending:
            return
        if not force and len(self._lex_rows) > EXACT_LEXICAL_MAX and len(self._pending) < 0.01 * len(self._lex_rows):
            return  # a large history tolerates a 1% tail scored by meaning only
        rows = [r for r, _ in self._pending]
        self._counts = self._counts.rebuilt(np.arange(len(self._lex_rows)), [t for _, t in self._pending])
        self._lex_rows = np.concatenate([self._lex_rows, np.asarray(rows, np.int64)])
        order = np.argsort(self._lex_rows, kind="stable")  # keep rows sorted for the position lookup
        if not np.all(order == np.arange(len(order))):
            self._counts.counts = self._counts.counts[order]
            self._lex_rows = self._lex_rows[order]
        self._pending = []
        self._bm25 = BM25(self._counts)

    def _term_scores(self, text: str) -> np.ndarray:
        """BM25 of every document, leaving out query terms found in over a fifth of them.

        Such terms weigh almost nothing (idf < 1.4 against ~10 for a rare word) but their postings are
        most of the work: at 100k tickets they take a search from ~45 ms to a few.
        """
        bm25 = self._bm25
        assert bm25 is not None
        terms = {bm25.vocab[t] for t in tokenize(text) if t in bm25.vocab}
        cols = sorted(c for c in terms if bm25.idf[c] >= MIN_IDF)
        if not cols or not bm25.n_docs:
            return np.zeros(bm25.n_docs, np.float32)
        return np.asarray(bm25.weights[:, cols].sum(axis=1)).ravel()

    def valid_mask(self, rows: np.ndarray, before: float, exclude: int | None) -> np.ndarray:
        created = self._created[rows]
        ok = (rows >= 0) & (created < before)
        if exclude is not None:
            ok &= rows != exclude
        return ok

    def search(self, vector: np.ndarray, text: str, *, before: float, exclude: str | None = None, k: int = 5,
               mode: str = "fused", candidates: int = 100, lexical_weight: float = LEXICAL_WEIGHT,
               neighbours: list[tuple[np.ndarray, np.ndarray]] | None = None) -> list[Match]:
        """Top-k tickets created strictly before `before`, never `exclude` itself.

        mode: 'fused' (dense + clipped BM25 z-score, in cosine units), 'dense', 'lexical' (the fused
        search's lexical part alone), or 'bm25' (plain kb_index BM25 over every query term: the baseline).
        An empty `neighbours` list receives the raw nearest (scores, ids), before any time filter.
        """
        with self._lock:
            if not len(self):
                return []
            if mode != "dense":
                self._refresh_lexical()
            skip = self._row_of.get(exclude) if exclude is not None else None
            vector = np.asarray(vector, np.float32).reshape(-1)
            cos = self._dense_candidates(vector, before, skip, max(candidates, 10 * k), neighbours)
            lex = (self._lexical(text, before, skip, plain=mode == "bm25")
                   if mode != "dense" and self._bm25 is not None else None)
            return self._fuse(vector, cos, lex, mode, k, lexical_weight)

    def _dense_candidates(self, vector: np.ndarray, before: float, skip: int | None, want: int,
                          neighbours: list[tuple[np.ndarray, np.ndarray]] | None) -> dict[int, float]:
        """Earlier tickets among the nearest; `neighbours` receives the unfiltered first answer (spikes reuse it)."""
        n = len(self.store)
        fetch = min(n, want)
        while True:
            scores, ids = self.store.search(vector[None, :], fetch)
            if neighbours is not None and not neighbours:
                neighbours.append((scores[0], ids[0]))
            ok = self.valid_mask(ids[0], before, skip)
            if ok.sum() >= want or fetch >= n:
                return {int(i): float(s) for i, s, good in zip(ids[0], scores[0], ok, strict=True) if good}
            fetch = min(n, fetch * 4)  # most neighbours are later than the query: look further

    def _lexical(self, text: str, before: float, skip: int | None,
                 plain: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
        """(row ids, BM25 z-scores) over earlier tickets; None when the query shares no term."""
        assert self._bm25 is not None
        scores = self._bm25.scores(text) if plain else self._term_scores(text)
        ok = self.valid_mask(self._lex_rows, before, skip)
        if ok.sum() < 2:
            return None
        valid = scores[ok]
        sd = float(valid.std())
        if sd <= 0:
            return None
        z = (scores - float(valid.mean())) / sd
        z[~ok] = -np.inf
        return self._lex_rows, z

    def candidates(self, vector: np.ndarray, text: str, *, before: float, exclude: str | None = None,
                   n: int = 50, lexical_weight: float = LEXICAL_WEIGHT,
                   neighbours: list[tuple[np.ndarray, np.ndarray]] | None = None) -> Pool:
        """The `n` best earlier tickets of the fused search with each of its signals, for a learned re-ranker
        (`neighbours` as in `search`)."""
        with self._lock:
            if not len(self):
                return Pool.empty()
            self._refresh_lexical()
            skip = self._row_of.get(exclude) if exclude is not None else None
            vector = np.asarray(vector, np.float32).reshape(-1)
            cos = self._dense_candidates(vector, before, skip, max(100, n), neighbours)
            lex = self._lexical(text, before, skip) if self._bm25 is not None else None
            pool = self._scored(vector, cos, lex, "fused", n, lexical_weight)
            order = np.argsort(-pool.fused, kind="stable")[:n]
            return Pool(pool.rows[order], pool.fused[order], pool.dense[order], pool.lexical[order])

    def _scored(self, vector: np.ndarray, cos: dict[int, float], lex: tuple[np.ndarray, np.ndarray] | None,
                mode: str, k: int, weight: float) -> Pool:
        """Every candidate (dense neighbours plus the best lexical ones) with its fused, dense and BM25 z score."""
        z_of: dict[int, float] = {}
        if lex is not None:
            rows, z = lex
            top = np.argpartition(-z, min(len(z) - 1, max(len(cos), k)))[:max(len(cos), k)]
            extra = [int(rows[i]) for i in top if np.isfinite(z[i]) and z[i] > 0 and int(rows[i]) not in cos]
            if extra:
                vecs = self.store.get(np.asarray(extra, np.int64))
                cos.update(zip(extra, (vecs @ vector).tolist(), strict=True))
            for row in cos:
                pos = self._lex_position(row)
                z_of[row] = float(z[pos]) if pos is not None else 0.0  # the unrefreshed tail: neutral
        if not cos:
            return Pool.empty()
        cand = np.fromiter(cos, np.int64, len(cos))
        dense = np.fromiter(cos.values(), np.float64, len(cos))
        z_lex = np.asarray([z_of.get(int(r), 0.0) for r in cand])
        if mode in ("lexical", "bm25"):  # lexical order alone: unclipped
            fused = z_lex if lex is not None else dense
        elif mode == "fused":
            fused = fuse(dense, z_lex, vector, self.covariance(), weight=weight, clip=LEXICAL_CLIP)
        else:
            fused = dense
        return Pool(cand, np.asarray(fused, np.float64), dense, z_lex)

    def _fuse(self, vector: np.ndarray, cos: dict[int, float], lex: tuple[np.ndarray, np.ndarray] | None,
              mode: str, k: int, weight: float) -> list[Match]:
        pool = self._scored(vector, cos, lex, mode, k, weight)
        order = np.argsort(-pool.fused)[:k]
        return [Match(int(pool.rows[j]), float(pool.fused[j]), float(pool.dense[j])) for j in order]

    def texts(self, rows: Sequence[int]) -> dict[int, tuple[str, str, float]]:
        """(subject, text, created_at) of these rows: what a duplicate re-ranker compares."""
        if not len(rows):
            return {}
        marks = ",".join("?" * len(rows))
        cur = self.db.execute(f"SELECT id, subject, text, created_at FROM tickets WHERE id IN ({marks})",
                              [int(r) for r in rows])
        return {int(r): (str(subject or ""), str(text or ""), float(created)) for r, subject, text, created in cur}

    def idf(self) -> tuple[dict[str, int], np.ndarray] | None:
        """The BM25 vocabulary and idf of the history (None before anything is indexed)."""
        self._refresh_lexical()
        return (self._bm25.vocab, self._bm25.idf) if self._bm25 is not None else None

    def details(self, rows: Sequence[int]) -> dict[int, dict[str, Any]]:
        """What a result shows about earlier tickets, read for the few rows returned."""
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        cur = self.db.execute(f"SELECT id, ticket_id, created_at, subject, module, answer, problem_id, labels, "
                              f"predicted FROM tickets WHERE id IN ({marks})", [int(r) for r in rows])
        out = {}
        for row_id, tid, created, subject, module, answer, problem, labels, predicted in cur:
            out[int(row_id)] = {"ticket_id": tid, "created_at": iso(created), "subject": subject, "module": module,
                                "answer": answer, "problem_id": problem,
                                "labels": json.loads(labels) if labels else {},
                                "predicted": json.loads(predicted) if predicted else {}}
        return out

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        return self.store.get(np.asarray(rows, np.int64))

    def rows(self, source: str | None = None) -> list[tuple[Any, ...]]:
        """(id, ticket_id, created_at, subject, module, answer) of every ticket, optionally of one source."""
        sql = "SELECT id, ticket_id, created_at, subject, module, answer FROM tickets"
        params: tuple[Any, ...] = ()
        if source is not None:
            sql, params = sql + " WHERE source = ?", (source,)
        # only rows this history has indexed: another connection may have stored more since it loaded
        return [r for r in self.db.execute(sql + " ORDER BY id", params) if self._has(int(r[0]))]

    def close(self) -> None:
        with self._lock:
            self.db.close()
            close = getattr(self.store, "close", None)
            if close is not None:
                close()


def _default_store(dim: int) -> VectorStore:
    """FAISS, exact up to 50k tickets and IVF beyond (on open): a history query is on every ticket's path,
    and IVF keeps recall 1.0 at 100k on clustered vectors for a twentieth of the time (BENCHMARKS.md)."""
    return FaissStore(dim, exact_max=HISTORY_EXACT_MAX)
