"""`recurring.similar` learned from the team's `duplicate_of` links (issue 18): a re-ranker of the history search.

Where it is learned: `triage train`, when the data links tickets to earlier ones (`duplicate_of`). The
training tickets are replayed against the history seed as the service would search it — each linked
ticket queries only the tickets created strictly before it — and every candidate of the fused search
(`TicketHistory.candidates`) is described by what tells a duplicate from a look-alike: the fused score
and its gap to the best, its rank, the dense cosine, the BM25 z-score, the word overlap of the two
titles, identifiers the two share (issue keys, class names, config keys, versions), the idf mass of the
rare words they share, the time between them and the candidate's length. The learner and the rule that
decides whether it replaces today's order are the KB ranker's (`triage._ranking.choose`): it is used only
if it beats the fused order by `MARGIN` MRR out of fold, with folds that are contiguous periods of time.
Otherwise the bundle keeps today's ranking and its manifest says why (`duplicates.used: false`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from kb_index._text import tokenize
from triage._history import Match, Pool, TicketHistory
from triage._ranking import FOLDS, Training, calibrated, choose

FILE = "retrieval/duplicates.joblib"
CANDIDATES = 50  # fused candidates the re-ranker orders (the served top-k is taken from them)
MIN_LINKED = 20  # fewer linked tickets found in the history: nothing is learned (today's ranking)
MAX_QUERIES = 2000  # the most recent linked tickets used as training queries (bounds the fit)
RARE_IDF = 4.0  # a word in under ~2% of tickets counts as rare
FEATURES = ("fused", "gap", "log_rank", "dense", "dense_gap", "lexical", "title_overlap", "shared_identifiers",
            "shared_rare_idf", "log_days", "log_length")
# issue keys (HADOOP-17796), dotted names (config keys, packages, hosts), CamelCase class names, versions, hex ids
IDENTIFIER = re.compile(r"\b[A-Z][A-Z0-9]+-\d+\b|\b[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)+\b"
                        r"|\b[a-z]*[A-Z][a-z0-9]+[A-Z]\w*\b|\bv?\d+\.\d+(?:\.\d+)*\b|\b0x[0-9a-fA-F]+\b")


def identifiers(text: str) -> set[str]:
    return {m.lower() for m in IDENTIFIER.findall(text)}


@dataclass
class Query:
    """What the re-ranker knows of the incoming ticket."""

    vector: np.ndarray
    subject: str
    text: str
    created: float


@dataclass
class DuplicateRanker:
    """A fitted re-ranker of `TicketHistory.candidates`; scores are probabilities of being a duplicate."""

    model_name: str
    model: Any
    calibration: LogisticRegression
    report: dict[str, Any] = field(default_factory=dict)

    def features(self, history: TicketHistory, query: Query, pool: Pool) -> np.ndarray:
        return features(history, query, pool)

    def rank(self, history: TicketHistory, query: Query, pool: Pool, k: int) -> list[Match]:
        """The top-k of the pool by the learned probability (which becomes the shown score)."""
        if not len(pool):
            return []
        p = calibrated(self.model_name, self.model, self.calibration, features(history, query, pool))
        order = np.argsort(-p, kind="stable")[:k]
        return [Match(int(pool.rows[j]), float(p[j]), float(pool.dense[j])) for j in order]


def features(history: TicketHistory, query: Query, pool: Pool) -> np.ndarray:
    """One row of `FEATURES` per candidate."""
    out = np.zeros((len(pool), len(FEATURES)))
    if not len(pool):
        return out
    info = history.texts([int(r) for r in pool.rows])
    vocab_idf = history.idf()
    idf = {} if vocab_idf is None else {t: float(vocab_idf[1][i]) for t, i in vocab_idf[0].items()}
    q_title, q_ids = set(tokenize(query.subject)), identifiers(query.text)
    q_rare = {t for t in tokenize(query.text) if idf.get(t, 0.0) >= RARE_IDF}
    best, best_dense = float(pool.fused.max()), float(pool.dense.max())
    for j, row in enumerate(pool.rows):
        subject, text, created = info.get(int(row), ("", "", query.created))
        title = set(tokenize(subject))
        words = set(tokenize(text))
        out[j] = (pool.fused[j], best - pool.fused[j], np.log1p(j), pool.dense[j], best_dense - pool.dense[j],
                  pool.lexical[j], len(q_title & title) / max(len(q_title | title), 1),
                  np.log1p(len(q_ids & identifiers(text))), sum(idf[t] for t in q_rare & words) / 10.0,
                  np.log1p(max(query.created - created, 0.0) / 86400), np.log1p(len(words)))
    return out


def gold_pairs(ids: Sequence[str], links: Sequence[str], created: dict[str, float]) -> dict[str, set[str]]:
    """Ticket -> the earlier tickets of its `duplicate_of` group (a link may name a later ticket: it counts
    for whichever of the two came second)."""
    parent: dict[str, str] = {}

    def root(t: str) -> str:
        while parent.get(t, t) != t:
            t = parent[t]
        return t

    for a, b in zip(ids, links, strict=True):
        if a in created and b in created and a != b:
            parent[root(a)] = root(b)
    members: dict[str, list[str]] = {}
    for t in {*parent, *parent.values()}:
        members.setdefault(root(t), []).append(t)
    gold: dict[str, set[str]] = {}
    for group in members.values():
        for q in group:
            earlier = {t for t in group if created[t] < created[q]}
            if earlier:
                gold[q] = earlier
    return gold


def fit_duplicate_ranker(history: TicketHistory, gold: dict[str, set[str]], *,
                         progress: bool = False) -> tuple[DuplicateRanker | None, dict[str, Any]]:
    """Learn from `gold` (ticket -> earlier duplicates, all in `history`); (None, why) when not worth it."""
    started = time.perf_counter()
    queries = sorted((q for q in gold if history.row_of(q) is not None),
                     key=lambda q: history.created[history.row_of(q)])[-MAX_QUERIES:]  # type: ignore[index]
    if len(queries) < MIN_LINKED:
        return None, {"used": False, "queries": len(queries),
                      "reason": f"fewer than {MIN_LINKED} tickets link an earlier duplicate"}
    data = training_rows(history, queries, gold, progress)
    choice = choose(data)
    report: dict[str, Any] = {"queries": data.queries, "candidates": len(data.y), "model": choice.name,
                              "held_out": choice.quality, "folds": f"{FOLDS} contiguous periods of time",
                              "seconds": round(time.perf_counter() - started, 1)}
    if choice.name == "fused":
        return None, {**report, "used": False,
                      "reason": "the learned ranking did not clearly beat today's on held-out links "
                                "(0.02 MRR and a paired bootstrap)"}
    report["used"] = True
    return DuplicateRanker(choice.name, choice.model, choice.calibration, report), report


def training_rows(history: TicketHistory, queries: Sequence[str], gold: dict[str, set[str]],
                  progress: bool = False) -> Training:
    """Every query's candidates among the tickets created strictly before it, labelled by its links."""
    from tqdm.auto import tqdm

    rows = [history.row_of(q) for q in queries]
    vectors = history.vectors(np.asarray(rows, np.int64))
    info = history.texts([int(r) for r in rows if r is not None])
    id_of: dict[int, str] = {}
    xs, ys, groups = [], [], []
    for i, (q, row) in enumerate(tqdm(list(zip(queries, rows, strict=True)), desc="learning duplicate ranking",
                                      unit="ticket", disable=not progress)):
        subject, text, created = info[int(row)]  # type: ignore[arg-type]
        pool = history.candidates(vectors[i], text, before=created, exclude=q, n=CANDIDATES)
        unknown = [int(r) for r in pool.rows if int(r) not in id_of]
        id_of.update({k: str(v["ticket_id"]) for k, v in history.details(unknown).items()})
        xs.append(features(history, Query(vectors[i], subject, text, created), pool))
        ys.append(np.asarray([id_of[int(r)] in gold[q] for r in pool.rows], bool))
        groups.append(np.full(len(pool), i))
    n = len(queries)
    folds = (np.arange(n) * FOLDS) // max(n, 1)  # contiguous periods: a fold is scored by a model of other times
    return Training(np.concatenate(xs), np.concatenate(ys).astype(int), np.concatenate(groups), n, folds)


def load_duplicate_ranker(bundle: Path, manifest: Mapping[str, Any]) -> DuplicateRanker | None:
    """The bundle's learned duplicate ranking, or None (today's fused ranking) when training did not keep one."""
    import joblib

    info = manifest.get("duplicates") or {}
    path = Path(bundle) / FILE
    if not info.get("used") or not path.is_file():
        return None
    ranker = joblib.load(path)
    if not isinstance(ranker, DuplicateRanker):
        from triage.errors import BundleError

        raise BundleError(f"{path} does not hold a duplicate ranker; the bundle is damaged: retrain it")
    return ranker
