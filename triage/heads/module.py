"""Module head: which module owns a ticket, why, and when to name only the parent.

L3's question is "whose is it?", and the history answers it twice: a linear
model over n-grams and embeddings learns the vocabulary of each module, and
the resolved tickets most similar to this one (k nearest neighbours in
embedding space) say who fixed the same thing before. Measured on Firefox
components the blend beats either alone (BENCHMARKS.md, issue 6), and the
neighbours double as the evidence an engineer can check.

Hierarchical modules (`Billing/Invoices`, `Billing/Payments`) often split a
ticket's probability between siblings; then no leaf is sure enough but their
parent is, and the head answers with the parent (`"level": "parent"`)
instead of abstaining or tossing a coin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from triage.heads._abstain import MIN_COVERAGE, apply_temperature
from triage.heads._evidence import Memory, top_terms
from triage.heads._features import title_of, title_vectorizer
from triage.heads.base import Features, label_result
from triage.heads.classifier import LabelHead
from triage.results import OwnerResult, Slot


def parents_of(label: str, separator: str) -> list[str]:
    """`a/b/c` -> [`a/b`, `a`]: nearest parent first."""
    parts = label.split(separator)
    return [separator.join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


class ModuleHead(LabelHead):
    """Linear model blended with a neighbour vote; calibrated, abstaining, hierarchy-aware.

    `knn_weight` is the neighbours' share of the blend; like `alpha` and
    `dense_weight` it may be a tuple, and the value with the best out-of-fold
    accuracy is chosen on the training data (teams with many near-duplicate
    tickets want more of it). `title_weight` > 0 adds the subject line as its
    own n-gram block; off by default because on Firefox bugs it did not help
    (BENCHMARKS.md, issue 6), though a team whose subjects name the module may
    want it. Modules with fewer than `min_class_size` tickets are
    not predicted (`dropped_classes_`) until they have enough history.
    """

    def __init__(self, target: str = "module", features: str = "hybrid",
                 alpha: float | tuple[float, ...] = (1e-5, 1e-4),
                 dense_weight: float | tuple[float, ...] = (1.0, 2.0, 4.0), class_weight: str | None = "balanced",
                 target_precision: float = 0.9, cv: int = 5, top_k: int = 3, min_class_size: int = 5,
                 max_features: int = 100_000, random_state: int = 0, min_coverage: float = MIN_COVERAGE,
                 knn_k: int = 30, knn_tau: float = 0.05, knn_weight: float | tuple[float, ...] = (0.0, 0.3, 0.5, 0.7),
                 title_weight: float = 0.0, separator: str | None = "/", evidence_tickets: int = 3,
                 evidence_terms: int = 6) -> None:
        super().__init__(target=target, features=features, alpha=alpha, dense_weight=dense_weight,  # type: ignore[arg-type]
                         class_weight=class_weight, target_precision=target_precision, cv=cv, top_k=top_k,
                         min_class_size=min_class_size, max_features=max_features, random_state=random_state,
                         min_coverage=min_coverage)
        self.embeddings = "base"  # the neighbours and their evidence read the shared embedder's vectors
        self.lexical_share = 0.0  # the neighbours' vote is this head's second view
        self.knn_k = knn_k
        self.knn_tau = knn_tau
        self.knn_weight = knn_weight
        self.title_weight = title_weight
        self.separator = separator
        self.evidence_tickets = evidence_tickets
        self.evidence_terms = evidence_terms

    # --- features ---------------------------------------------------------------------
    def _blocks(self, X: Features) -> tuple[Any, np.ndarray | None]:
        lexical, dense = super()._blocks(X)
        if lexical is not None and self.title_ is not None:
            titles = self.title_.transform([title_of(t) for t in X.texts]) * self.title_weight
            lexical = sp.hstack([lexical, titles], format="csr")
        return lexical, dense

    # --- estimator contract: LabelHead's template, with the neighbours as its hook ------------------
    def fit(self, X: Features, y: Any, **context: Any) -> ModuleHead:
        """`tickets=` (id, subject, owner, module per row) become the evidence shown with predictions."""
        labels, counts = np.unique(np.asarray([str(v) for v in y], dtype=object), return_counts=True)
        self.label_counts_ = {str(k): int(v) for k, v in zip(labels, counts, strict=True)}  # drift warnings
        super().fit(X, y, **context)
        return self

    def _fit_features(self, X: Features) -> None:
        super()._fit_features(X)
        self.title_ = (title_vectorizer().fit([title_of(t) for t in X.texts])
                       if self.lexical_ is not None and self.title_weight else None)

    def _refine(self, oof: np.ndarray, X: Features, y_idx: np.ndarray, rows: np.ndarray,
                tickets: Sequence[Mapping[str, Any]] | None = None, **context: Any) -> np.ndarray:
        """Blend the linear model's out-of-fold probabilities with the neighbours' out-of-fold vote."""
        self.memory_ = Memory.build(X, y_idx, rows, tickets)
        return self._choose_blend(oof, self._knn_out_of_fold(X.dense, y_idx), y_idx)

    def _choose_blend(self, linear: np.ndarray, knn: np.ndarray, y_idx: np.ndarray) -> np.ndarray:
        weights = self.knn_weight if isinstance(self.knn_weight, tuple | list) else (self.knn_weight,)
        if self.features == "lexical":
            weights = (0.0,)
        best: tuple[float, np.ndarray] | None = None
        self.blend_search_ = []
        for w in weights:
            blend = (1 - w) * linear + w * knn
            acc = float((blend.argmax(axis=1) == y_idx).mean())
            self.blend_search_.append({"knn_weight": float(w), "oof_accuracy": round(acc, 4)})
            if best is None or acc > best[0]:
                best, self.knn_weight_ = (acc, blend), float(w)
        assert best is not None
        self.selected_ = {"knn_weight": self.knn_weight_}
        return best[1]

    # --- neighbours ---------------------------------------------------------------------
    def _vote(self, sims: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Similarity-weighted class votes of the k most similar tickets; also their positions."""
        k = min(self.knn_k, sims.shape[1])
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(sims, idx, axis=1)
        order = np.argsort(-top, axis=1)
        idx, top = np.take_along_axis(idx, order, axis=1), np.take_along_axis(top, order, axis=1)
        weight = np.exp((top - top[:, :1]) / self.knn_tau)
        votes = np.zeros((len(sims), len(self.classes_)))
        np.add.at(votes, (np.repeat(np.arange(len(sims)), k), labels[idx].ravel()), weight.ravel())
        return votes / votes.sum(axis=1, keepdims=True), idx

    def _knn_out_of_fold(self, dense: np.ndarray, y_idx: np.ndarray) -> np.ndarray:
        oof = np.zeros((len(y_idx), len(self.classes_)))
        for train_idx, test_idx in self._folds(y_idx):
            oof[test_idx] = self._vote(dense[test_idx] @ dense[train_idx].T, y_idx[train_idx])[0]
        return oof

    def _neighbours(self, X: Features) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        memory = self.memory_.dense.astype(np.float32)
        sims = X.dense.astype(np.float32) @ memory.T
        votes, idx = self._vote(sims, self.memory_.labels)
        return votes, idx, np.take_along_axis(sims, idx, axis=1)

    # --- prediction ---------------------------------------------------------------------
    def _proba(self, X: Features) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self._check()
        votes, idx, sims = self._neighbours(X)
        blend = (1 - self.knn_weight_) * self._linear_proba(X) + self.knn_weight_ * votes
        return apply_temperature(blend, self.temperature_), idx, sims

    def predict_proba(self, X: Features) -> np.ndarray:
        return self._proba(X)[0]

    @property
    def slot(self) -> Slot:
        """The owner head is this head on the `owner` column (`owner_head`); any other target names a module."""
        return "owner" if self.target == "owner" else "module"

    def predict_results(self, X: Features) -> list[OwnerResult]:
        """Contract §4 objects plus `level` (module or parent) and `evidence` (tickets, terms)."""
        probs, idx, sims = self._proba(X)
        results: list[OwnerResult] = [{**r} for r in label_result(self.classes_, probs, self.threshold_, self.top_k)]
        lexical = self._blocks(X)[0] if self.lexical_ is not None else None
        for i, res in enumerate(results):
            if self.separator:
                res["level"] = "module"
                self._maybe_parent(res, probs[i])
            shown = res["value"] or res["top"][0]["value"]
            res["evidence"] = {
                "tickets": self.memory_.supporting(idx[i], sims[i], self._members(shown), self.evidence_tickets),
                "terms": [] if lexical is None else top_terms(self.model_.coef_, self.model_.classes_,
                                                              self._term_blocks(), lexical[i],
                                                              self._members(shown), self.evidence_terms)}
        return results

    def _term_blocks(self) -> list[tuple[int, np.ndarray]]:
        """(column offset, names) of the word and title n-gram blocks: the readable evidence terms, cached."""
        cached = getattr(self, "_term_names", None)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        assert self.lexical_ is not None
        blocks = [(0, dict(self.lexical_.transformer_list)["word"].get_feature_names_out())]
        if self.title_ is not None:
            offset = int(sum(len(t.vocabulary_) for _, t in self.lexical_.transformer_list))
            blocks.append((offset, self.title_.get_feature_names_out()))
        self._term_names = blocks
        return blocks

    def _members(self, value: str) -> np.ndarray:
        """Class indices a value stands for: itself, or every sub-module of a parent."""
        prefix = f"{value}{self.separator}" if self.separator else None
        return np.asarray([i for i, c in enumerate(self.classes_)
                           if c == value or (prefix is not None and str(c).startswith(prefix))], dtype=int)

    def _maybe_parent(self, res: OwnerResult, row: np.ndarray) -> None:
        """When no leaf is sure enough but a parent is, answer with the parent and say so."""
        if not res["abstained"] or not self.separator:
            return
        top = str(self.classes_[int(row.argmax())])
        for parent in parents_of(top, self.separator):
            members = self._members(parent)
            mass = float(row[members].sum())
            if len(members) >= 2 and mass >= self.threshold_:
                res.update({"value": parent, "confidence": round(mass, 4), "abstained": False, "level": "parent",
                            "note": f"probability is spread among {len(members)} sub-modules of '{parent}' "
                                    f"(best: '{top}' {row.max():.2f}); answering with the parent"})
                return

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        out.update(kind=self.target, knn_weight=self.knn_weight_, knn_k=self.knn_k, blend_search=self.blend_search_,
                   title_weight=self.title_weight, separator=self.separator, label_counts=self.label_counts_,
                   min_class_size=self.min_class_size, memory=len(self.memory_.labels))
        return out
