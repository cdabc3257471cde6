"""Calibration and abstention shared by the label heads.

Temperature scaling keeps the ranking of a classifier and only fixes how
sure it claims to be; the abstain threshold is then read off the
risk-coverage curve of held-out (out-of-fold) predictions at the precision the
team asked for.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    logits = np.log(np.clip(probs, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def fit_temperature(probs: np.ndarray, y_idx: np.ndarray) -> float:
    """The temperature minimising held-out log-loss (bounded, so tiny sets stay sane)."""
    def nll(t: float) -> float:
        p = apply_temperature(probs, t)[np.arange(len(y_idx)), y_idx]
        return float(-np.log(np.clip(p, 1e-12, 1.0)).mean())

    res = minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded")
    return float(res.x)


def risk_coverage(confidence: np.ndarray, correct: np.ndarray) -> dict[str, list[float]]:
    """Coverage, precision and threshold for every prefix of predictions sorted by confidence."""
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    n = np.arange(1, len(order) + 1)
    return {"coverage": (n / len(order)).tolist(), "precision": (hits / n).tolist(),
            "threshold": confidence[order].tolist()}


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, target_precision: float,
                     min_support: int = 10) -> tuple[float, float]:
    """Lowest confidence threshold whose covered set reaches the target precision.

    Returns (threshold, coverage). Prefixes smaller than `min_support` are not
    trusted, so one lucky prediction cannot set the threshold. When the target
    is out of reach the head abstains on everything (threshold above 1).
    """
    if len(confidence) == 0:
        return 1.01, 0.0
    curve = risk_coverage(confidence, correct.astype(float))
    prec = np.asarray(curve["precision"])
    thr = np.asarray(curve["threshold"])
    ok = np.nonzero(prec >= target_precision)[0]
    ok = ok[ok + 1 >= min(min_support, len(prec))]
    if len(ok) == 0:
        return 1.01, 0.0
    i = int(ok.max())
    # Ties: every prediction with the same confidence as the cut is covered too.
    threshold = float(thr[i])
    coverage = float((confidence >= threshold).mean())
    return threshold, coverage


def coverage_at(confidence: np.ndarray, correct: np.ndarray, threshold: float) -> tuple[float, float]:
    """(coverage, precision) of a fixed threshold on new data."""
    covered = confidence >= threshold
    if not covered.any():
        return 0.0, float("nan")
    return float(covered.mean()), float(correct[covered].mean())


def downsample_curve(curve: dict[str, list[float]], points: int = 101) -> dict[str, list[float]]:
    n = len(curve["coverage"])
    if n <= points:
        return curve
    idx = np.unique(np.linspace(0, n - 1, points).round().astype(int))
    return {k: [round(float(v[i]), 5) for i in idx] for k, v in curve.items()}
