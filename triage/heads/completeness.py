"""Completeness head: does an escalation hold what L3 needs? Seven items, each with p and evidence.

Each item has a detector. When the training data labels the item, the
detector is learned: logistic regression on the shared ticket embedding plus
the language-independent cue features of `_evidence` (headings, phrases,
lists, traces, versions), calibrated by Platt scaling on cross-validated
predictions. When it does not (most helpdesks never label items), the
detector maps the strongest cue to a probability through a per-level table:
fitted on the labels where there are a few, otherwise the shipped defaults
(see `DEFAULT_TABLE`). Evidence always comes from the cues, so it is a span of
the ticket text.

Tickets L3 bounced (`info_requested`) are the label a team has most of: they
set how much each item counts in the overall score, and the `ready_for_l3`
threshold that best separates bounced from accepted tickets. A team can still
set its own threshold (TRIAGE_COMPLETENESS_THRESHOLD).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from triage._lang import detect_language
from triage.errors import NotTrainedError
from triage.heads._evidence import (
    ITEMS,
    best_cue,
    cue_features,
    cue_levels,
    evidence_text,
    find_cues,
    first_statement,
    pattern_features,
)
from triage.heads._prompts import prompt
from triage.heads.base import Features
from triage.results import CompletenessItem, CompletenessResult, Slot

DetectorKind = Literal["cues", "structure", "dense", "combined"]

# P(item present | strongest cue level 0..3) when a team has no item labels.
# steps_to_reproduce / expected / observed: measured on all 760 reports of bug-report-quality
# (`python bench/completeness.py --fit-default-table`). The other four items have no public labelled data:
# their rows are set by hand (a heading is near-certain, a phrase likely, structure weak, nothing unlikely)
# and are only checked, never tuned, on data/escalations_ru.
DEFAULT_TABLE: dict[str, tuple[float, float, float, float]] = {
    "steps_to_reproduce": (0.3, 0.5, 0.7, 0.98),
    "expected_behavior": (0.1, 0.2, 0.68, 0.99),
    "observed_behavior": (0.96, 0.96, 0.97, 0.99),
    "diagnostics": (0.08, 0.35, 0.75, 0.95),
    "impact": (0.08, 0.35, 0.75, 0.95),
    "environment": (0.1, 0.45, 0.8, 0.95),
    "suspected_module": (0.05, 0.3, 0.7, 0.95),
}
DEFAULT_READY = 0.7  # five of seven items, when no bounced tickets say otherwise
# a learned bar never drops below half the contract: a history in which L3 accepted one-liners must not
# teach the service to call a ticket missing most items ready (a team can still set any threshold itself)
MIN_LEARNED_READY = 0.5


def fit_table(levels: np.ndarray, y: np.ndarray, prior: Sequence[float], strength: float = 4.0) -> list[float]:
    """Per-level rates shrunk toward `prior`, then made non-decreasing (a stronger cue never lowers p)."""
    rates = []
    for level in range(4):
        at = y[levels == level]
        rates.append((float(at.sum()) + strength * prior[level]) / (len(at) + strength))
    return [round(float(v), 4) for v in np.maximum.accumulate(np.clip(rates, 0.01, 0.99))]


class CompletenessHead(BaseEstimator):  # type: ignore[misc]
    """Seven calibrated item detectors, an overall score and a ready-for-L3 verdict.

    `features` picks what learned detectors see: "cues" (no learned model:
    the per-level table fitted on the labels), "structure" (logistic
    regression on the cue and per-pattern features), "dense" (the embedding
    only) or "combined" (both). Measured across systems on bug-report-quality,
    "structure" generalises best (BENCHMARKS.md), so it is the default.
    `min_labels` / `min_minority`: fewer labelled tickets than that and the
    item keeps the cue table.
    """

    def __init__(self, features: DetectorKind = "structure", C: float = 0.05, min_labels: int = 40,
                 min_minority: int = 10, threshold: float | None = None, cv: int = 5,
                 random_state: int = 0) -> None:
        self.features = features
        self.C = C
        self.min_labels = min_labels
        self.min_minority = min_minority
        self.threshold = threshold
        self.cv = cv
        self.random_state = random_state

    # --- features -------------------------------------------------------------------
    @staticmethod
    def _cues(texts: Sequence[str]) -> tuple[list[Any], np.ndarray, np.ndarray]:
        cues = [find_cues(t) for t in texts]
        levels = np.array([cue_levels(c) for c in cues]).reshape(len(texts), len(ITEMS))
        feats = np.array([np.concatenate([cue_features(t, c), pattern_features(t)])
                          for t, c in zip(texts, cues, strict=True)])
        return cues, levels, feats.reshape(len(texts), -1)

    def _matrix(self, dense: np.ndarray, feats: np.ndarray) -> np.ndarray:
        if self.features == "structure":
            return feats
        return dense if self.features == "dense" else np.hstack([feats, dense])

    # --- estimator contract -----------------------------------------------------------
    def fit(self, X: Features, y: Mapping[str, Sequence[Any]] | None = None,
            bounced: Sequence[Any] | None = None) -> CompletenessHead:
        """`y`: item name -> per-ticket True/False/None (None = not labelled). `bounced`: info_requested."""
        y = y or {}
        unknown = set(y) - set(ITEMS)
        if unknown:
            raise ValueError(f"unknown completeness items {sorted(unknown)}; the items are {list(ITEMS)}")
        _, levels, feats = self._cues(X.texts)
        self.tables_: dict[str, list[float]] = {}
        self.models_: dict[str, Any] = {}
        self.item_info_: dict[str, dict[str, Any]] = {}
        oof = np.zeros((len(X), len(ITEMS)))
        for k, item in enumerate(ITEMS):
            oof[:, k] = self._fit_item(item, k, X, levels, feats, y.get(item))
        self._fit_verdict(oof, bounced)
        self.n_train_ = len(X)
        return self

    def _fit_item(self, item: str, k: int, X: Features, levels: np.ndarray, feats: np.ndarray,
                  labels: Sequence[Any] | None) -> np.ndarray:
        """Fit one detector; return its held-out (or label-free) probabilities on the training tickets."""
        prior = DEFAULT_TABLE[item]
        values = list(labels) if labels is not None else [None] * len(X)
        if len(values) != len(X):
            raise ValueError(f"{len(values)} labels for '{item}' but {len(X)} tickets")
        mask = np.array([v is not None and v == v for v in values], dtype=bool)  # v != v: NaN
        yk = np.array([bool(v) for v, m in zip(values, mask, strict=True) if m], dtype=int)
        n, minority = int(mask.sum()), int(min(yk.sum(), len(yk) - yk.sum())) if len(yk) else 0
        self.tables_[item] = fit_table(levels[mask, k], yk, prior) if n else list(prior)
        table_p = np.asarray(self.tables_[item])[levels[:, k]]
        if self.features == "cues" or n < self.min_labels or minority < self.min_minority:
            self.item_info_[item] = {"kind": "cues-fitted" if n else "cues-default", "n_labels": n,
                                     "table": self.tables_[item]}
            return table_p
        matrix = self._matrix(X.dense[mask], feats[mask])
        base = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=2000))
        folds = max(2, min(self.cv, minority))
        model = CalibratedClassifierCV(base, method="sigmoid", cv=folds).fit(matrix, yk)
        self.models_[item] = model
        held_out = np.asarray(table_p, dtype=float)
        probe = CalibratedClassifierCV(base, method="sigmoid", cv=folds)
        held_out[mask] = cross_val_predict(probe, matrix, yk, cv=folds, method="predict_proba")[:, 1]
        self.item_info_[item] = {"kind": f"learned-{self.features}", "n_labels": n, "positives": int(yk.sum()),
                                 "table": self.tables_[item]}
        return held_out

    def _fit_verdict(self, p: np.ndarray, bounced: Sequence[Any] | None) -> None:
        """Item weights and the ready threshold from bounced tickets, when there are enough of both kinds."""
        self.weights_ = np.full(len(ITEMS), 1 / len(ITEMS))
        self.ready_threshold_ = DEFAULT_READY if self.threshold is None else float(self.threshold)
        self.bounce_info_: dict[str, Any] = {"used": False}
        if bounced is None:
            return
        mask = np.array([v is not None and v == v for v in bounced])
        b = np.array([bool(v) for v, m in zip(bounced, mask, strict=True) if m], dtype=bool)
        if b.sum() < self.min_minority or (~b).sum() < self.min_minority:
            self.bounce_info_ = {"used": False, "bounced": int(b.sum()), "labelled": int(mask.sum())}
            return
        pm = p[mask]
        gap = np.clip(pm[~b].mean(axis=0) - pm[b].mean(axis=0), 0, None)  # how much an item's absence bounces
        if gap.sum() > 0:
            self.weights_ = 0.5 * self.weights_ + 0.5 * gap / gap.sum()
        score = pm @ self.weights_
        auc = float(roc_auc_score(~b, score))
        learned: float | None = None
        if self.threshold is None:
            grid = np.unique(np.round(score, 3))
            youden = [((score >= t) & ~b).sum() / (~b).sum() - ((score >= t) & b).sum() / b.sum() for t in grid]
            learned = float(grid[int(np.argmax(youden))])
            self.ready_threshold_ = max(learned, MIN_LEARNED_READY)
        self.bounce_info_ = {"used": True, "bounced": int(b.sum()), "labelled": int(mask.sum()),
                             "separating_threshold": learned,
                             "auc_accepted_vs_bounced": round(auc, 4),
                             "weights": dict(zip(ITEMS, np.round(self.weights_, 4).tolist(), strict=True))}

    @property
    def slot(self) -> Slot:
        """Not a label: scored with the ticket's language and the team's threshold, under `completeness`."""
        return "completeness"

    @property
    def needs_dense(self) -> bool:
        """Whether any detector reads the embedding (else scoring a ticket needs no embedding pass)."""
        return bool(self.models_) and self.features in ("dense", "combined")

    def _check(self) -> None:
        if not hasattr(self, "tables_"):
            raise NotTrainedError("the completeness head is not fitted; call fit() first")

    # --- prediction -------------------------------------------------------------------
    def predict_proba(self, X: Features) -> np.ndarray:
        """(n, 7) probabilities that each item is present, in `ITEMS` order."""
        return self._assess(X)[0]

    def _assess(self, X: Features) -> tuple[np.ndarray, list[Any]]:
        self._check()
        cues, levels, feats = self._cues(X.texts)
        p = np.zeros((len(X), len(ITEMS)))
        for k, item in enumerate(ITEMS):
            if item in self.models_:
                p[:, k] = self.models_[item].predict_proba(self._matrix(X.dense, feats))[:, 1]
            else:
                p[:, k] = np.asarray(self.tables_[item])[levels[:, k]]
        return p, cues

    def predict_results(self, X: Features, languages: Sequence[str | None] | None = None,
                        threshold: float | None = None) -> list[CompletenessResult]:
        """Contract §4 `completeness` objects, with a prompt per missing item in the ticket's language."""
        p, cues = self._assess(X)
        cut = self.ready_threshold_ if threshold is None else float(threshold)
        out: list[CompletenessResult] = []
        for i, text in enumerate(X.texts):
            lang = (languages[i] if languages is not None else None) or detect_language(text)
            items = {item: self._item(text, cues[i], item, float(p[i, k])) for k, item in enumerate(ITEMS)}
            missing = [item for item in ITEMS if not items[item]["present"]]
            score = float(p[i] @ self.weights_)
            out.append({"score": round(score, 4), "ready_for_l3": bool(score >= cut), "threshold": round(cut, 4),
                        "items": items, "missing": missing,
                        "prompts": {item: prompt(item, lang) for item in missing}})
        return out

    @staticmethod
    def _item(text: str, cues: list[Any], item: str, p: float) -> CompletenessItem:
        present = p >= 0.5
        evidence = None
        if present:
            cue = best_cue(cues, item)
            evidence = evidence_text(text, cue) if cue is not None else (
                first_statement(text) if item == "observed_behavior" else None)
        return {"present": bool(present), "p": round(p, 4), "evidence": evidence}

    def summary(self) -> dict[str, Any]:
        self._check()
        return {"kind": "completeness", "features": self.features, "items": self.item_info_,
                "ready_threshold": round(self.ready_threshold_, 4),
                "weights": dict(zip(ITEMS, np.round(self.weights_, 4).tolist(), strict=True)),
                "bounced": self.bounce_info_, "n_train": self.n_train_}
