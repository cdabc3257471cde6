"""Known problems: the history grouped into clusters of one cause, and a new ticket assigned to one.

Training clusters the ticket embeddings with average-linkage agglomerative clustering under a cosine
threshold (no k to choose; a cluster is a set of tickets that are, on average, as close as linked
duplicates are). Only clusters of `min_size` or more are problems. A problem keeps its centroid, a
representative title (the member nearest the centroid), its dominant module and the answer that
resolved it most often, so L2 sees "this is P-12 again, and this is how it was fixed".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from triage._db import Database
from triage._history_store import SET_META
from triage.results import ProblemRef

CLUSTER_SAMPLE = 6000  # average linkage is O(n²) memory: cluster the most recent tickets, assign the rest


@dataclass
class Problem:
    id: int
    title: str
    size: int
    module: str | None
    answer: str | None
    first_seen: float | None = None
    last_seen: float | None = None

    @property
    def key(self) -> str:
        return f"P-{self.id}"

    def brief(self) -> ProblemRef:
        """Contract §4 `recurring.problem`."""
        return {"id": self.key, "title": self.title, "size": self.size}


class ProblemSet:
    """Problems with their unit centroids; `assign` is one matrix-vector product."""

    def __init__(self, problems: list[Problem], centroids: np.ndarray, threshold: float) -> None:
        self.problems = problems
        self.centroids = np.asarray(centroids, np.float32).reshape(len(problems), -1) if problems else centroids
        self.threshold = threshold
        self._by_id = {p.id: p for p in problems}

    def __len__(self) -> int:
        return len(self.problems)

    def get(self, problem_id: int) -> Problem | None:
        return self._by_id.get(problem_id)

    def assign(self, vectors: np.ndarray) -> list[int | None]:
        """Nearest problem whose centroid is within the threshold, per vector."""
        if not self.problems:
            return [None] * len(vectors)
        sims = np.asarray(vectors, np.float32) @ self.centroids.T
        best = sims.argmax(axis=1)
        return [self.problems[b].id if sims[i, b] >= self.threshold else None for i, b in enumerate(best)]

    def save(self, db: Database) -> None:
        """Replace the stored problems (table `problems` of `triage/_schema.py`) in one transaction."""
        with db.transaction():
            db.execute("DELETE FROM problems")
            db.executemany("INSERT INTO problems VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           [(p.id, p.title, p.size, p.module, p.answer, p.first_seen, p.last_seen,
                             np.asarray(c, np.float32).tobytes()) for p, c in zip(self.problems, self.centroids,
                                                                                  strict=True)])
            db.execute(SET_META, ("problem_threshold", str(self.threshold)))

    @classmethod
    def load(cls, db: Database, dim: int) -> ProblemSet:
        row = db.execute("SELECT value FROM meta WHERE key = 'problem_threshold'").fetchone()
        problems, centroids = [], []
        for pid, title, size, module, answer, first, last, blob in db.execute(
                "SELECT id, title, size, module, answer, first_seen, last_seen, centroid FROM problems ORDER BY id"):
            problems.append(Problem(int(pid), title, int(size), module, answer, first, last))
            centroids.append(np.frombuffer(blob, np.float32))
        matrix = np.stack(centroids) if centroids else np.zeros((0, dim), np.float32)
        return cls(problems, matrix, float(row[0]) if row else 1.0)

    def summary(self) -> dict[str, Any]:
        sizes = [p.size for p in self.problems]
        return {"problems": len(self.problems), "threshold": self.threshold,
                "tickets_in_problems": int(sum(sizes)), "largest": max(sizes) if sizes else 0}


MIN_LINKS = 10  # linked pairs before the team's own duplicate links set the threshold


def link_threshold(vectors: np.ndarray, pairs: Sequence[tuple[int, int]], percentile: float = 10.0) -> float | None:
    """The cosine that all but `percentile`% of the team's linked duplicate pairs reach, or None with too few."""
    if len(pairs) < MIN_LINKS:
        return None
    a, b = np.asarray(pairs).T
    sims = np.sum(vectors[a] * vectors[b], axis=1)
    return float(np.percentile(sims, percentile))


def fit_problems(vectors: np.ndarray, subjects: Sequence[str], modules: Sequence[str | None],
                 answers: Sequence[str | None], created: Sequence[float], *, threshold: float = 0.9,
                 min_size: int = 3, linkage: str = "average", links: Sequence[tuple[int, int]] = (),
                 ) -> tuple[ProblemSet, list[int | None]]:
    """Cluster tickets into problems; returns them and each ticket's problem id (None: no known problem).

    `links` (row pairs, from `duplicate_of`) are the team's own word that tickets share a cause: each
    connected group of `min_size`+ linked tickets is a problem as it stands, however differently its
    tickets are worded (the rewordings of one outage are further apart than the clustering bar); the
    other tickets are clustered.
    """
    n = len(vectors)
    if n < min_size:
        return ProblemSet([], np.zeros((0, vectors.shape[1]), np.float32), threshold), [None] * n
    linked = _linked_groups(n, links, min_size)
    taken = np.zeros(n, bool)
    for g in linked:
        taken[g] = True
    recent = np.argsort(np.asarray(created))
    sample = recent[~taken[recent]][-CLUSTER_SAMPLE:]
    groups = [*linked, *_clusters(vectors, sample, threshold, linkage, min_size)]
    groups.sort(key=len, reverse=True)
    centroids = [_unit(vectors[g].mean(axis=0)) for g in groups]
    matrix = np.stack(centroids) if centroids else np.zeros((0, vectors.shape[1]), np.float32)
    assigned: list[int | None] = [None] * n
    for pid, members in enumerate(groups, 1):
        for m in members:
            assigned[int(m)] = pid
    rest = np.setdiff1d(np.flatnonzero(~taken), sample)
    if len(rest) and len(groups):  # tickets outside the clustered sample join a problem if close enough
        sims = vectors[rest] @ matrix.T
        for j, (r, best) in enumerate(zip(rest, sims.argmax(axis=1), strict=True)):
            if sims[j, best] >= threshold:
                assigned[int(r)] = int(best) + 1
    used: set[str] = set()  # titles already given, so no two problems share one
    problems = [_describe(pid, np.asarray([i for i, a in enumerate(assigned) if a == pid]), vectors, centroids[pid - 1],
                          subjects, modules, answers, created, used) for pid in range(1, len(groups) + 1)]
    return ProblemSet(problems, matrix, threshold), assigned


def _clusters(vectors: np.ndarray, rows: np.ndarray, threshold: float, linkage: str,
              min_size: int) -> list[np.ndarray]:
    """Agglomerative clusters of `rows` under the cosine bar, `min_size`+ members each."""
    from sklearn.cluster import AgglomerativeClustering

    if len(rows) < max(min_size, 2):
        return []
    model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage=linkage,
                                    distance_threshold=max(0.0, 1.0 - threshold))  # float noise: cos 1+1e-7
    labels = model.fit_predict(vectors[rows])
    return [rows[labels == c] for c, count in Counter(labels).items() if count >= min_size]


def _linked_groups(n: int, links: Sequence[tuple[int, int]], min_size: int) -> list[np.ndarray]:
    """Connected components of the link graph with `min_size`+ tickets."""
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        if 0 <= a < n and 0 <= b < n:
            parent[root(a)] = root(b)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(root(i), []).append(i)
    return [np.asarray(m) for m in members.values() if len(m) >= max(min_size, 2)]


def _title(pid: int, members: np.ndarray, vectors: np.ndarray, centroid: np.ndarray, subjects: Sequence[str],
           used: set[str]) -> str:
    """The subject of the member nearest the centroid that no bigger problem has taken; else numbered."""
    order = members[np.argsort(-(vectors[members] @ centroid), kind="stable")]
    candidates = [(subjects[i] or "").strip()[:200] for i in order]
    title = next((t for t in candidates if t and t.casefold() not in used), None)
    if title is None:
        title = f"{candidates[0] or 'problem'} (P-{pid})"
    used.add(title.casefold())
    return title


def _describe(pid: int, members: np.ndarray, vectors: np.ndarray, centroid: np.ndarray, subjects: Sequence[str],
              modules: Sequence[str | None], answers: Sequence[str | None], created: Sequence[float],
              used: set[str]) -> Problem:
    module_votes = Counter(m for m in (modules[i] for i in members) if m)
    answer_votes = Counter(a for a in (answers[i] for i in members) if a)
    times = [created[i] for i in members]
    return Problem(id=pid, title=_title(pid, members, vectors, centroid, subjects, used), size=len(members),
                   module=module_votes.most_common(1)[0][0] if module_votes else None,
                   answer=answer_votes.most_common(1)[0][0] if answer_votes else None,
                   first_seen=float(min(times)), last_seen=float(max(times)))


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def problem_dict(p: Problem) -> dict[str, Any]:
    return {"id": p.key, **{k: v for k, v in asdict(p).items() if k != "id"}}
