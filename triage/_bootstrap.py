"""Paired bootstrap: does a challenger's gain over the incumbent hold up beyond resampling noise?

One mechanism for every "replace the default only if clearly better" rule in the product: the learned
rankers against the fused order (`triage._ranking`, per-query MRR gains) and the label heads' dense
blocks (`triage.heads._choice`, macro-F1 gains), and `triage evaluate`'s confidence intervals
(`training._metrics`). A resample is a row of counts (how often each item is drawn), so any metric
written as a weighted sum over items gets every resample from one matrix product.
"""

from __future__ import annotations

import numpy as np

BOOTSTRAP = 1_000  # resamples by default
LEVEL = 0.95  # two-sided: the lower bound is the 2.5% quantile of the resampled gains


def resampling_counts(n: int, resamples: int = BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """Resampling counts (resamples × n): row b says how often each item is drawn in resample b."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)


def lower_bound(resampled: np.ndarray, level: float = LEVEL) -> float:
    """The lower end of the two-sided `level` interval of a statistic's resampled values."""
    return float(np.quantile(resampled, (1 - level) / 2))


def mean_gain_lower_bound(gains: np.ndarray, resamples: int = BOOTSTRAP, seed: int = 0) -> float:
    """Lower bound of the mean of per-item gains (e.g. reciprocal-rank gains per query) over resamples."""
    gains = np.asarray(gains, dtype=float)
    if len(gains) == 0:
        return 0.0
    return lower_bound(resampling_counts(len(gains), resamples, seed) @ gains / len(gains))
