"""Calibration and abstention shared by the label heads.

Temperature scaling keeps the ranking of a classifier and only fixes how
sure it claims to be; the abstain threshold is then read off the
risk-coverage curve of held-out (out-of-fold) predictions at the precision the
team asked for.

`choose_abstention` is the one rule every head uses, and it never ships a silently mute head:

- **target**: the lowest threshold whose held-out precision reaches the target precision (as asked);
  when that answers at least `min_coverage` of tickets;
- **fallback**: when no threshold reaches it (small or noisy exports), or only on fewer than
  `min_coverage` of tickets, the threshold with the best held-out precision among those answering at
  least `min_coverage`, if that precision is at least `MIN_FALLBACK_PRECISION` — a head that is right
  more often than not on a third of tickets still saves an agent a choice, and its confidence is shown
  (when this fallback is not possible, a target reached on fewer tickets is kept);
- **mute**: otherwise the head abstains on everything, and training says so by name.

The figures actually reached (precision, coverage) go into the bundle manifest with the rule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

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


MIN_COVERAGE = 0.30
MIN_FALLBACK_PRECISION = 0.5
MUTE = 1.01  # above any confidence: the head abstains on every ticket


@dataclass(frozen=True)
class Abstention:
    """The threshold a head ships with, the rule that chose it, and what it reached on held-out folds."""

    rule: str  # "target" | "fallback" | "mute"
    threshold: float
    precision: float | None
    coverage: float
    target_precision: float
    min_coverage: float

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    def sentence(self, head: str) -> str:
        """What the head will do, in words, for the training summary and its warnings."""
        if self.rule == "mute":
            return (f"{head}: answers no ticket — {self.target_precision:.0%} precision is out of reach and at "
                    f"{self.min_coverage:.0%} coverage it would be right less than {MIN_FALLBACK_PRECISION:.0%} "
                    "of the time; every ticket goes to a person. More labelled tickets will help.")
        said = (f"{head}: answers {self.coverage:.0%} of tickets at {self.precision or 0:.0%} precision "
                "(held-out folds)")
        if self.rule == "fallback":
            said += (f"; fallback: the target {self.target_precision:.0%} is out of reach on "
                     f"{self.min_coverage:.0%} of tickets, so it answers the {self.coverage:.0%} it is surest about")
        return said


def choose_abstention(confidence: np.ndarray, correct: np.ndarray, target_precision: float,
                      min_coverage: float = MIN_COVERAGE, min_support: int = 10) -> Abstention:
    """The documented rule of the module docstring: target, else fallback, else mute."""
    correct = np.asarray(correct, dtype=float)
    threshold, coverage = choose_threshold(confidence, correct, target_precision, min_support)
    target = Abstention("target", threshold, _precision(confidence, correct, threshold), coverage,
                        target_precision, min_coverage)
    if threshold <= 1.0 and coverage >= min_coverage:
        return target
    if len(confidence) == 0:
        return Abstention("mute", MUTE, None, 0.0, target_precision, min_coverage)
    curve = risk_coverage(confidence, correct)
    cov, prec, thr = (np.asarray(curve[k]) for k in ("coverage", "precision", "threshold"))
    eligible = np.nonzero((cov >= min_coverage) & (np.arange(1, len(cov) + 1) >= min(min_support, len(cov))))[0]
    if len(eligible):
        best = eligible[len(eligible) - 1 - int(np.argmax(prec[eligible][::-1]))]  # ties: the larger coverage
        threshold = float(thr[best])
        precision = _precision(confidence, correct, threshold)
        if precision is not None and precision >= MIN_FALLBACK_PRECISION:
            return Abstention("fallback", threshold, precision, float((confidence >= threshold).mean()),
                              target_precision, min_coverage)
    if target.threshold <= 1.0:
        return target  # the target, on fewer tickets than min_coverage: better than a coin toss on more
    return Abstention("mute", MUTE, None, 0.0, target_precision, min_coverage)


def _precision(confidence: np.ndarray, correct: np.ndarray, threshold: float) -> float | None:
    covered = confidence >= threshold
    return float(correct[covered].mean()) if covered.any() else None


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
