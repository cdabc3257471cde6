"""Per-head quality figures on held-out tickets."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from triage.heads._abstain import coverage_at, risk_coverage


def coverage_at_precision(confidence: np.ndarray, correct: np.ndarray, precision: float) -> float:
    """Largest share of tickets that can be answered at `precision` (oracle threshold on this set)."""
    curve = risk_coverage(confidence, correct.astype(float))
    prec = np.asarray(curve["precision"])
    cov = np.asarray(curve["coverage"])
    ok = np.nonzero(prec >= precision)[0]
    return float(cov[ok.max()]) if len(ok) else 0.0


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def head_metrics(classes: np.ndarray, probs: np.ndarray, y_true: np.ndarray, threshold: float,
                 target_precision: float) -> dict[str, Any]:
    """Accuracy, macro-F1, top-3, calibration and abstention figures for one head."""
    y_true = np.asarray([str(v) for v in y_true], dtype=object)
    known = np.isin(y_true, classes)
    pred = classes[probs.argmax(axis=1)]
    top3 = classes[np.argsort(-probs, axis=1)[:, :3]]
    conf = probs.max(axis=1)
    correct = pred == y_true
    cov, prec = coverage_at(conf, correct, threshold)
    return {
        "n": len(y_true),
        "unseen_label_share": round(float(1 - known.mean()), 4),
        "accuracy": round(float(accuracy_score(y_true, pred)), 4),
        "macro_f1": round(float(f1_score(y_true, pred, average="macro", labels=list(classes),
                                          zero_division=0)), 4),
        "top3_accuracy": round(float((top3 == y_true[:, None]).any(axis=1).mean()), 4),
        f"coverage_at_p{round(target_precision * 100)}": round(coverage_at_precision(conf, correct,
                                                                                     target_precision), 4),
        "threshold_coverage": round(cov, 4),
        "threshold_precision": None if np.isnan(prec) else round(prec, 4),
        "ece": round(expected_calibration_error(conf, correct.astype(float)), 4),
    }
