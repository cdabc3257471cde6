"""Label head: one classification target (category, queue, priority, module...).

Dense sentence embeddings carry meaning across languages and paraphrases;
TF-IDF word and character n-grams carry the exact product names, error codes
and jargon that decide many tickets. Measured on real data each wins somewhere,
so the default concatenates both in one linear model. It is trained by SGD
on the logistic loss: on 4k tickets with 100k n-gram features it fits in
seconds where an exact solver takes minutes, with equal or better macro-F1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from triage.errors import NotTrainedError
from triage.heads._abstain import (
    MIN_COVERAGE,
    apply_temperature,
    choose_abstention,
    downsample_curve,
    fit_temperature,
    risk_coverage,
)
from triage.heads._choice import SOURCES, clearly_better, reads_tuned
from triage.heads._features import FeatureKind, lexical_union, shared_transform
from triage.heads.base import Features, label_result
from triage.results import LabelResult, Slot


class LabelHead(BaseEstimator):  # type: ignore[misc]
    """Calibrated multi-class head with top-k and an abstain threshold.

    Parameters are stored untouched (scikit-learn's contract); everything
    learned ends in `_`. `fit` estimates out-of-fold probabilities first, so
    the temperature and the abstain threshold come from predictions on
    tickets the model did not see, then refits on all data.

    `alpha` (regularisation) and `dense_weight` (how loud the embeddings are
    next to the n-grams) may be tuples: the pair with the best out-of-fold
    macro-F1 is chosen on the training data. Measured on real data, small
    sets want more regularisation and more weight on the embeddings, large
    ones less, so one fixed setting does not fit every team.

    `embeddings` says which dense block the head reads when the features carry a second one tuned on
    the team's labels (`Features.tuned`): "base", "tuned", "both" (side by side), or "auto" — all three
    are searched and "both" is kept unless one block alone clearly beats it (`triage.heads._choice`).
    Tuned embeddings are optimistic on the tickets they were tuned on, so `fit(..., honest=mask)` names
    the rows the tuning never saw: the choice, the temperature and the abstain threshold of a head that
    reads the tuned block are measured on those rows only.

    `lexical_share` (may be a tuple, chosen out of fold like the rest) mixes in the probabilities of a
    fully converged logistic regression over the n-grams alone: a second, differently fitted view of
    the same words. On tickets-multilang (5,000 tickets) mixing it in at the share chosen out of fold
    raised held-out macro-F1 by 0.5-1.4 points on each of queue, priority and type over the head alone,
    where either model alone was level with the TF-IDF baseline on two of them (BENCHMARKS.md).
    """

    def __init__(self, target: str = "label", features: FeatureKind = "hybrid",
                 alpha: float | tuple[float, ...] = (1e-5, 1e-4),
                 dense_weight: float | tuple[float, ...] = (1.0, 2.0, 4.0), class_weight: str | None = "balanced",
                 target_precision: float = 0.9, cv: int = 5, top_k: int = 3, min_class_size: int = 3,
                 max_features: int = 100_000, random_state: int = 0, min_coverage: float = MIN_COVERAGE,
                 embeddings: str = "auto", lexical_share: float | tuple[float, ...] = (0.0, 0.25, 0.5)) -> None:
        self.target = target
        self.features = features
        self.alpha = alpha
        self.dense_weight = dense_weight
        self.class_weight = class_weight
        self.target_precision = target_precision
        self.cv = cv
        self.top_k = top_k
        self.min_class_size = min_class_size
        self.max_features = max_features
        self.random_state = random_state
        self.min_coverage = min_coverage
        self.embeddings = embeddings
        self.lexical_share = lexical_share

    # --- features -----------------------------------------------------------------
    def _blocks(self, X: Features) -> tuple[Any, np.ndarray | None]:
        lexical = shared_transform(self.lexical_, X) if self.lexical_ is not None else None
        return lexical, self._dense(X, getattr(self, "dense_source_", "base"))

    def _dense(self, X: Features, source: str) -> np.ndarray | None:
        """The dense block of `source`: the shared embedder's, the tuned one's, or both side by side."""
        if self.features not in ("dense", "hybrid"):
            return None
        if not reads_tuned(source):
            return X.dense
        if X.tuned is None:
            raise NotTrainedError(f"head '{self.target}' reads the embedder tuned on the team's labels, and these "
                                  "features carry none: load the bundle with open_triage/load_triage, which "
                                  "embed with its label_embedder too")
        if source == "tuned":
            return X.tuned
        if "dense:both" not in X.memo:  # once per batch however many heads read it
            X.memo["dense:both"] = np.hstack([X.dense, X.tuned]) / np.sqrt(2.0)  # unit rows, as each block's
        return X.memo["dense:both"]  # type: ignore[no-any-return]

    def _sources(self, X: Features) -> list[str]:
        """The dense blocks the search tries: the shared embedder's, the tuned one's, both, or all three."""
        if self.embeddings not in (*SOURCES, "auto"):
            raise ValueError(f"head '{self.target}': embeddings must be one of {', '.join(SOURCES)} or auto, "
                             f"not {self.embeddings!r}")
        if self.features == "lexical" or self.embeddings == "base" or X.tuned is None:
            if reads_tuned(self.embeddings) and self.features != "lexical":
                raise ValueError(f"head '{self.target}': embeddings='{self.embeddings}' but the features carry "
                                 "no tuned block")
            return ["base"]
        return [self.embeddings] if self.embeddings != "auto" else ["both", "base", "tuned"]

    @staticmethod
    def _join(lexical: Any, dense: np.ndarray | None, weight: float) -> Any:
        parts = [p for p in (lexical, None if dense is None else sp.csr_matrix(dense * weight)) if p is not None]
        return sp.hstack(parts, format="csr") if len(parts) > 1 else parts[0]

    def _matrix(self, X: Features) -> Any:
        return self._join(*self._blocks(X), self.dense_weight_)

    def _new_model(self, alpha: float) -> SGDClassifier:
        return SGDClassifier(loss="log_loss", alpha=alpha, max_iter=200, tol=1e-3,
                             class_weight=self.class_weight, random_state=self.random_state)

    def _grid(self) -> list[tuple[float, float]]:
        alphas = self.alpha if isinstance(self.alpha, tuple | list) else (self.alpha,)
        weights = self.dense_weight if isinstance(self.dense_weight, tuple | list) else (self.dense_weight,)
        if self.features != "hybrid":
            weights = (1.0,)
        return [(float(a), float(w)) for a in alphas for w in weights]

    # --- estimator contract -----------------------------------------------------------
    def fit(self, X: Features, y: Any, **context: Any) -> LabelHead:
        """The template every head follows; subclasses change the hooks (`_fit_features`, `_refine`)."""
        honest = context.pop("honest", None)
        X, y, rows = self._learnable(X, y)
        y_idx = np.searchsorted(self.classes_, y)
        fair = np.ones(len(y), bool) if honest is None else np.asarray(honest, dtype=bool)[rows]
        # The vocabulary and IDF see all training texts once (no labels involved), so the
        # out-of-fold models below only refit the linear layer: 5x faster than refitting n-grams per fold.
        self._fit_features(X)
        matrix, oof = self._search(X, y_idx, fair)
        keep = fair if reads_tuned(self.dense_source_) else np.ones(len(y), bool)  # calibrate where it is honest
        oof = self._mix_lexical(X, y_idx, oof, keep)
        self.calibrated_on_ = int(keep.sum())
        self._calibrate(self._refine(oof, X, y_idx, rows, **context)[keep], y_idx[keep])
        self.n_train_ = len(y)
        self.model_ = self._new_model(self.alpha_).fit(matrix, y_idx)
        return self

    def _lexical_model(self) -> LogisticRegression:
        return LogisticRegression(max_iter=1000, class_weight=self.class_weight)

    def _mix_lexical(self, X: Features, y_idx: np.ndarray, oof: np.ndarray, scored: np.ndarray) -> np.ndarray:
        """Mix in the n-gram-only logistic regression at the share that scores best out of fold (0: none)."""
        given = self.lexical_share if isinstance(self.lexical_share, tuple | list) else (self.lexical_share,)
        self.lexical_share_, self.lexical_model_, self.lexical_search_ = 0.0, None, []
        shares = [float(s) for s in given if s > 0] if self.features == "hybrid" else []
        if not shares:
            return oof
        lexical, labels = shared_transform(self.lexical_, X), np.arange(len(self.classes_))
        words = np.zeros_like(oof)
        for train_idx, test_idx in self._folds(y_idx):
            model = self._lexical_model().fit(lexical[train_idx], y_idx[train_idx])
            words[np.ix_(test_idx, model.classes_)] = model.predict_proba(lexical[test_idx])
        best, mixed = -1.0, oof
        for share in (0.0, *shares):
            candidate = (1 - share) * oof + share * words
            score = float(f1_score(y_idx[scored], candidate[scored].argmax(axis=1), average="macro", labels=labels,
                                   zero_division=0))
            self.lexical_search_.append({"lexical_share": share, "oof_macro_f1": round(score, 4)})
            if score > best:
                best, mixed, self.lexical_share_ = score, candidate, share
        if self.lexical_share_ > 0:
            self.lexical_model_ = self._lexical_model().fit(lexical, y_idx)
        return mixed

    def _learnable(self, X: Features, y: Any) -> tuple[Features, np.ndarray, np.ndarray]:
        """Classes with `min_class_size`+ examples (`classes_`); the rest are dropped and named."""
        y = np.asarray([str(v) for v in y], dtype=object)
        labels, counts = np.unique(y, return_counts=True)
        keep_labels = labels[counts >= self.min_class_size]
        self.dropped_classes_ = sorted(str(v) for v in labels[counts < self.min_class_size])
        if len(keep_labels) < 2:
            found = {str(k): int(v) for k, v in zip(labels, counts, strict=True)}
            raise ValueError(f"target '{self.target}' needs at least two labels with "
                             f"{self.min_class_size}+ examples; found {found}")
        rows = np.nonzero(np.isin(y, keep_labels))[0]
        self.classes_ = np.asarray(sorted(keep_labels), dtype=object)
        return X.subset(rows), y[rows], rows

    def _fit_features(self, X: Features) -> None:
        """Hook: fit the unsupervised feature blocks on the training texts."""
        self.lexical_ = lexical_union(self.max_features).fit(X.texts) if self.features != "dense" else None

    def _refine(self, oof: np.ndarray, X: Features, y_idx: np.ndarray, rows: np.ndarray,
                **context: Any) -> np.ndarray:
        """Hook: turn the linear model's out-of-fold probabilities into the head's (identity here)."""
        return oof

    def _calibrate(self, oof: np.ndarray, y_idx: np.ndarray) -> None:
        """Temperature, abstention threshold and risk-coverage curve, all from out-of-fold predictions."""
        self.temperature_ = fit_temperature(oof, y_idx)
        calibrated = apply_temperature(oof, self.temperature_)
        conf, correct = calibrated.max(axis=1), calibrated.argmax(axis=1) == y_idx
        self._set_abstention(conf, correct)
        self.risk_coverage_ = downsample_curve(risk_coverage(conf, correct.astype(float)))

    def _set_abstention(self, conf: np.ndarray, correct: np.ndarray) -> None:
        """The threshold by the one documented rule (target, fallback or mute; see heads/_abstain.py)."""
        self.abstain_ = choose_abstention(conf, correct, self.target_precision, self.min_coverage)
        self.threshold_, self.oof_coverage_ = self.abstain_.threshold, self.abstain_.coverage

    def _search(self, X: Features, y_idx: np.ndarray, fair: np.ndarray) -> tuple[Any, np.ndarray]:
        """Pick (dense block, alpha, dense weight) by out-of-fold macro-F1; keep the winner's OOF for calibration.

        With a tuned block in the running, every candidate is scored on the `fair` rows only (those the
        tuning never saw), so the shared embedder and the tuned one are compared on the same tickets, and
        the tuned block wins only when it clearly does (`triage.heads._choice`).
        """
        self.dense_source_ = "base"
        lexical, _ = self._blocks(X)
        sources = self._sources(X)
        scored = fair if any(reads_tuned(s) for s in sources) else np.ones(len(y_idx), bool)
        best: dict[str, tuple[float, np.ndarray, float, float]] = {}  # per block: score, OOF, alpha, weight
        self.search_ = []
        for source in sources:
            dense = self._dense(X, source)
            for alpha, weight in self._grid():
                matrix = self._join(lexical, dense, weight)
                oof = self._out_of_fold(matrix, y_idx, alpha)
                score = float(f1_score(y_idx[scored], oof[scored].argmax(axis=1), average="macro",
                                       labels=np.arange(len(self.classes_)), zero_division=0))
                self.search_.append({"embeddings": source, "alpha": alpha, "dense_weight": weight,
                                     "oof_macro_f1": round(score, 4)})
                if source not in best or score > best[source][0]:
                    best[source] = (score, oof, alpha, weight)
        source = self._choose_source(best, y_idx, scored)
        _, oof, self.alpha_, self.dense_weight_ = best[source]
        self.dense_source_ = source
        self.selected_: dict[str, Any] = {"embeddings": source}  # a refit on more data keeps it
        return self._join(lexical, self._dense(X, source), self.dense_weight_), oof

    def _choose_source(self, best: dict[str, tuple[float, np.ndarray, float, float]], y_idx: np.ndarray,
                       scored: np.ndarray) -> str:
        """Both blocks side by side, unless one block alone clearly beats them (`triage.heads._choice`)."""
        self.tuned_evidence_: dict[str, dict[str, float]] | None = None
        if len(best) == 1:
            return next(iter(best))
        y, n = y_idx[scored], len(self.classes_)
        incumbent = best["both"][1][scored].argmax(axis=1)
        self.tuned_evidence_ = {}
        chosen, gain = "both", 0.0
        for alone in ("base", "tuned"):
            wins, self.tuned_evidence_[alone] = clearly_better(best[alone][1][scored].argmax(axis=1), incumbent,
                                                               y, n, self.random_state)
            if wins and self.tuned_evidence_[alone]["gain"] > gain:
                chosen, gain = alone, self.tuned_evidence_[alone]["gain"]
        return chosen

    def _folds(self, y_idx: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """One set of folds per fit, so every out-of-fold prediction of a head is comparable."""
        n_splits = max(2, min(self.cv, int(np.bincount(y_idx).min())))
        folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
        return list(folds.split(np.zeros(len(y_idx)), y_idx))

    def _out_of_fold(self, matrix: Any, y_idx: np.ndarray, alpha: float) -> np.ndarray:
        oof = np.zeros((len(y_idx), len(self.classes_)))
        for train_idx, test_idx in self._folds(y_idx):
            model = self._new_model(alpha).fit(matrix[train_idx], y_idx[train_idx])
            oof[np.ix_(test_idx, model.classes_)] = model.predict_proba(matrix[test_idx])
        return oof

    def _check(self) -> None:
        if not hasattr(self, "model_"):
            raise NotTrainedError(f"head '{self.target}' is not fitted; call fit() first")

    def _linear_proba(self, X: Features) -> np.ndarray:
        full = np.zeros((len(X), len(self.classes_)))
        full[:, self.model_.classes_] = self.model_.predict_proba(self._matrix(X))
        words = getattr(self, "lexical_model_", None)  # bundles from before the mix have none
        if words is not None:
            mixed = np.zeros_like(full)
            mixed[:, words.classes_] = words.predict_proba(shared_transform(self.lexical_, X))
            full = (1 - self.lexical_share_) * full + self.lexical_share_ * mixed
        return full

    def predict_proba(self, X: Features) -> np.ndarray:
        self._check()
        return apply_temperature(self._linear_proba(X), self.temperature_)

    def predict(self, X: Features) -> np.ndarray:
        """Most likely label for every ticket, ignoring the abstain threshold."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]  # type: ignore[no-any-return]

    @property
    def slot(self) -> Slot:
        """A label head's output goes under `labels`, by its name."""
        return "label"

    def predict_results(self, X: Features) -> Sequence[LabelResult]:
        """Contract §4 objects: value (None when abstaining), confidence, top-k."""
        return label_result(self.classes_, self.predict_proba(X), self.threshold_, self.top_k)

    def summary(self) -> dict[str, Any]:
        """What the manifest records about this head."""
        self._check()
        return {"kind": "label", "target": self.target, "labels": [str(c) for c in self.classes_],
                "threshold": round(float(self.threshold_), 6), "target_precision": self.target_precision,
                "oof_coverage": round(float(self.oof_coverage_), 4), "temperature": self.temperature_,
                "features": self.features, "alpha": self.alpha_, "dense_weight": self.dense_weight_,
                "embeddings": getattr(self, "dense_source_", "base"),
                "lexical_share": getattr(self, "lexical_share_", 0.0),
                "lexical_search": getattr(self, "lexical_search_", []),
                "tuned_evidence": getattr(self, "tuned_evidence_", None),
                "calibrated_on": getattr(self, "calibrated_on_", self.n_train_),
                "search": self.search_, "n_train": self.n_train_, "dropped_classes": self.dropped_classes_,
                "abstain": self.abstain_.as_dict() if hasattr(self, "abstain_") else None}
