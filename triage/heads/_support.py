"""Why a module or owner head says what it says.

L3 will not trust a routing it cannot check, so every suggestion carries the
resolved tickets that support it most (the nearest neighbours with that
label: id, title, who fixed them) and the words that pushed the linear model
towards it. Character n-grams weigh a lot but read as noise, so only word
and title n-grams are shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from triage.heads.base import Features
from triage.results import EvidenceTerm, EvidenceTicket

MAX_TITLE = 140


def _clean(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


@dataclass
class Memory:
    """The resolved tickets the head remembers: embeddings (float16 halves the bundle) and who/what they were."""

    dense: np.ndarray
    labels: np.ndarray  # class index per remembered ticket
    ids: list[str]
    titles: list[str]
    owners: list[str | None]
    modules: list[str | None]

    @classmethod
    def build(cls, X: Features, y_idx: np.ndarray, rows: np.ndarray,
              tickets: Sequence[Mapping[str, Any]] | None) -> Memory:
        """`rows` are the positions of X's tickets in the caller's `tickets` list (after dropping rare labels)."""
        meta = [dict(tickets[int(r)]) for r in rows] if tickets is not None else [{} for _ in rows]
        titles = [(_clean(m.get("subject")) or X.texts[i].split("\n", 1)[0])[:MAX_TITLE] for i, m in enumerate(meta)]
        return cls(dense=X.dense.astype(np.float16), labels=np.asarray(y_idx, dtype=np.int32),
                   ids=[_clean(m.get("id")) or str(int(r) + 1) for m, r in zip(meta, rows, strict=True)],
                   titles=titles, owners=[_clean(m.get("owner")) for m in meta],
                   modules=[_clean(m.get("module")) for m in meta])

    def supporting(self, idx: np.ndarray, sims: np.ndarray, members: np.ndarray, n: int) -> list[EvidenceTicket]:
        """The most similar remembered tickets whose label is among `members` (neighbours come sorted)."""
        out: list[EvidenceTicket] = []
        for j, s in zip(idx, sims, strict=True):
            if self.labels[j] in members:
                out.append({"ticket_id": self.ids[j], "title": self.titles[j], "module": self.modules[j],
                            "owner": self.owners[j], "similarity": round(float(s), 4)})
                if len(out) == n:
                    break
        return out


def _class_coef(coef: np.ndarray, classes: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Mean coefficient row over the member classes (a parent stands for all its sub-modules)."""
    model_classes = np.asarray(classes)
    if coef.shape[0] == 1:  # binary: one row for class 1
        rows = [coef[0] if c == model_classes[1] else -coef[0] for c in members]
    else:
        pos = {int(c): i for i, c in enumerate(model_classes)}
        rows = [coef[pos[int(c)]] for c in members if int(c) in pos]
    return np.mean(rows, axis=0) if rows else np.zeros(coef.shape[1])


def top_terms(coef: np.ndarray, classes: np.ndarray, names: Sequence[tuple[int, np.ndarray]], row: Any,
              members: np.ndarray, n: int) -> list[EvidenceTerm]:
    """Words of this ticket with the largest positive pull towards the suggestion.

    coef, classes: the linear model's `coef_` and `classes_` (class indices); names: (column offset,
    feature names) of the readable n-gram blocks of `row`, the ticket's lexical features; members:
    the class indices the suggestion stands for.
    """
    if n <= 0 or len(members) == 0:
        return []
    pull = _class_coef(coef, classes, members)
    row = row.tocsr()
    weights: dict[str, float] = {}
    for offset, block in names:
        lo, hi = offset, offset + len(block)
        cols = row.indices[(row.indices >= lo) & (row.indices < hi)]
        vals = row.data[(row.indices >= lo) & (row.indices < hi)]
        for c, v in zip(cols, vals, strict=True):
            w = float(v * pull[c])
            if w > 0:
                name = str(block[c - offset])
                weights[name] = weights.get(name, 0.0) + w
    best: list[tuple[str, float]] = []
    for term, w in sorted(weights.items(), key=lambda kv: -kv[1]):
        if not any(term in t or t in term for t, _ in best):  # "context menu" makes "context" redundant
            best.append((term, w))
        if len(best) == n:
            break
    return [{"term": t, "weight": round(w, 4)} for t, w in best]
