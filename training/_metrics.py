"""Per-head quality figures: one copy of each metric, for `train`, `evaluate` and `compare`.

Every figure is written as a weighted sum over tickets (`figures(scores, weights)`), so the same code
gives the plain value (all weights 1) and, with a matrix of bootstrap resampling counts, a thousand
resampled values at once: `compare`'s confidence intervals are of exactly the metrics `evaluate` prints.
Macro-F1 is scikit-learn's `f1_score(average="macro", labels=classes, zero_division=0)` (a test holds
the two equal), accuracy counts a ticket whose label the model never saw as wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from triage._bootstrap import BOOTSTRAP, LEVEL, resampling_counts
from triage.heads._abstain import coverage_at, risk_coverage
from triage.heads._choice import weighted_macro_f1

ECE_BINS = 10
Figures = dict[str, np.ndarray]


@dataclass
class HeadScores:
    """One head's calibrated probabilities on labelled tickets, and what follows from them per ticket."""

    classes: np.ndarray
    probs: np.ndarray
    y: np.ndarray  # true labels, str
    threshold: float
    target_precision: float

    def __post_init__(self) -> None:
        self.y = np.asarray([str(v) for v in self.y], dtype=object)
        self.classes = np.asarray(self.classes, dtype=object)
        index = {c: i for i, c in enumerate(self.classes)}
        self.y_idx = np.asarray([index.get(v, -1) for v in self.y], dtype=np.int64)  # -1: a label never seen
        self.pred_idx = self.probs.argmax(axis=1) if len(self.y) else np.zeros(0, np.int64)
        self.pred = self.classes[self.pred_idx] if len(self.y) else np.zeros(0, dtype=object)
        self.conf = self.probs.max(axis=1) if len(self.y) else np.zeros(0)
        self.correct = (self.pred_idx == self.y_idx) & (self.y_idx >= 0)
        top3 = np.argsort(-self.probs, axis=1)[:, :3] if len(self.y) else np.zeros((0, 3), np.int64)
        self.top3 = (top3 == self.y_idx[:, None]).any(axis=1) & (self.y_idx >= 0)
        self.answered = self.conf >= self.threshold

    def __len__(self) -> int:
        return len(self.y)


def figures(s: HeadScores, weights: np.ndarray) -> Figures:
    """Accuracy, macro-F1, top-3, answered share, precision when answered and ECE, one value per weight row."""
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    total = w.sum(axis=1)
    answered = w @ s.answered.astype(float)
    hit_answered = w @ (s.answered & s.correct).astype(float)
    return {
        "accuracy": (w @ s.correct.astype(float)) / total,
        "macro_f1": weighted_macro_f1(s.pred_idx, s.y_idx, len(s.classes), w),
        "top3_accuracy": (w @ s.top3.astype(float)) / total,
        "threshold_coverage": answered / total,
        "threshold_precision": np.divide(hit_answered, answered, out=np.full_like(answered, np.nan),
                                         where=answered > 0),
        "ece": _ece(s.conf, s.correct.astype(float), w) / total,
    }


def _ece(conf: np.ndarray, correct: np.ndarray, w: np.ndarray, bins: int = ECE_BINS) -> np.ndarray:
    """Σ over confidence bins of |hits − confidence| (weighted sums); divided by the total it is the ECE."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    onehot = np.zeros((len(conf), bins))
    onehot[np.arange(len(conf)), idx] = 1.0
    return np.abs(w @ (onehot * correct[:, None]) - w @ (onehot * conf[:, None])).sum(axis=1)  # type: ignore[no-any-return]


def coverage_at_precision(confidence: np.ndarray, correct: np.ndarray, precision: float) -> float:
    """Largest share of tickets that can be answered at `precision` (oracle threshold on this set)."""
    curve = risk_coverage(confidence, correct.astype(float))
    prec = np.asarray(curve["precision"])
    cov = np.asarray(curve["coverage"])
    ok = np.nonzero(prec >= precision)[0]
    return float(cov[ok.max()]) if len(ok) else 0.0


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    ones = np.ones((1, len(confidence)))
    total = _ece(np.asarray(confidence), np.asarray(correct, dtype=float), ones, bins)[0]
    return float(total / max(len(confidence), 1))


def scores_metrics(s: HeadScores) -> dict[str, Any]:
    """The plain figures of one head (all weights 1), rounded, as reports and manifests show them."""
    plain = {k: float(v[0]) for k, v in figures(s, np.ones(len(s))).items()}
    cov, prec = coverage_at(s.conf, s.correct, s.threshold)
    return {
        "n": len(s),
        "unseen_label_share": round(float((s.y_idx < 0).mean()), 4),
        "accuracy": round(plain["accuracy"], 4),
        "macro_f1": round(plain["macro_f1"], 4),
        "top3_accuracy": round(plain["top3_accuracy"], 4),
        f"coverage_at_p{round(s.target_precision * 100)}": round(coverage_at_precision(s.conf, s.correct,
                                                                                       s.target_precision), 4),
        "threshold": round(float(s.threshold), 4),
        "threshold_coverage": round(cov, 4),
        "threshold_precision": None if np.isnan(prec) else round(prec, 4),
        "ece": round(plain["ece"], 4),
        "mean_confidence": round(float(s.conf.mean()), 4),
    }


def head_metrics(classes: np.ndarray, probs: np.ndarray, y_true: np.ndarray, threshold: float,
                 target_precision: float) -> dict[str, Any]:
    """Accuracy, macro-F1, top-3, calibration and abstention figures for one head."""
    return scores_metrics(HeadScores(np.asarray(classes), probs, np.asarray(y_true), threshold, target_precision))


def rank_figures(ranks: np.ndarray, weights: np.ndarray) -> Figures:
    """KB recall@1, recall@5 and MRR from the gold article's rank per ticket (0: not suggested)."""
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    ranks = np.asarray(ranks, dtype=float)
    total = w.sum(axis=1)
    reciprocal = np.divide(1.0, ranks, out=np.zeros_like(ranks), where=ranks > 0)
    return {"recall_at_1": (w @ (ranks == 1).astype(float)) / total,
            "recall_at_5": (w @ ((ranks >= 1) & (ranks <= 5)).astype(float)) / total,
            "mrr": (w @ reciprocal) / total}


def hit_figures(hits: np.ndarray, weights: np.ndarray, name: str = "recall") -> Figures:
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    return {name: (w @ np.asarray(hits, dtype=float)) / w.sum(axis=1)}


def paired_differences(champion: Callable[[np.ndarray], Figures], challenger: Callable[[np.ndarray], Figures],
                       n: int, resamples: int = BOOTSTRAP, seed: int = 0,
                       level: float = LEVEL) -> dict[str, dict[str, Any]]:
    """challenger − champion per metric, with a percentile bootstrap interval over the same resampled tickets."""
    ones = np.ones(n)
    base, new = champion(ones), challenger(ones)
    w = resampling_counts(n, resamples, seed)
    base_b, new_b = champion(w), challenger(w)
    tail = (1 - level) / 2 * 100
    out = {}
    for key in base:
        diff = new_b[key] - base_b[key]
        diff = diff[np.isfinite(diff)]
        low, high = (np.percentile(diff, [tail, 100 - tail]) if len(diff) else (np.nan, np.nan))
        out[key] = {"champion": _num(base[key][0]), "challenger": _num(new[key][0]),
                    "diff": _num(new[key][0] - base[key][0]), "ci_low": _num(low), "ci_high": _num(high)}
    return out


def _num(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 4)
