"""The hook through which a learned re-ranker scores an index's candidates.

The index finds candidates (dense + BM25, grouped per article, as always) and describes each one by
the signals it already computed; a `Reranker` (triage's, learned from the team's ticket → article
links) turns them into calibrated probabilities and may propose articles of its own (those that
answered the nearest past tickets). `kb_index` stays free of tickets and models: it only knows this
protocol, and without a re-ranker nothing changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# the columns of `Candidates.signals`, in order (a re-ranker's features start from these)
SIGNALS = ("fused", "gap", "log_rank", "dense_title", "dense_section", "lexical_title", "lexical_section",
           "is_answer")


@dataclass(frozen=True)
class Candidates:
    """The articles (or past answers) one query's search found, best fused score first."""

    article_ids: list[str]
    sources: list[str]
    categories: list[str]
    rows: np.ndarray  # the chunk row shown as the snippet, per candidate
    signals: np.ndarray  # len(article_ids) x len(SIGNALS)

    def __len__(self) -> int:
        return len(self.article_ids)

    @property
    def fused(self) -> np.ndarray:
        return self.signals[:, 0]


class Reranker(Protocol):
    """Learned scoring of an index's candidates; scores are probabilities that a candidate answers."""

    floor: float  # hits under this probability are not shown (search(..., floor=True))

    def propose(self, vector: np.ndarray) -> Sequence[str]:
        """Article ids worth scoring beyond the search's own candidates (e.g. the neighbours' articles)."""
        ...

    def rescore(self, vector: np.ndarray, text: str, candidates: Candidates) -> np.ndarray:
        """One probability per candidate, in [0, 1]."""
        ...
