"""Which dense block a label head reads: both embedders side by side, unless one alone clearly wins.

The tuned block (`Features.tuned`) is judged on the rows the tuning never saw — half the labelled
tickets — so two candidates' out-of-fold macro-F1 differ by a point or two from noise alone, and
picking the larger value chose wrong either way (tickets-multilang, 5,000 tickets, tuned on `queue`:
the `type` head took the tuned block, 0.733 held out against 0.745 on the shared one; in a rerun the
`queue` head took the shared block, 0.383 against 0.398 tuned). Both blocks side by side ("both") gave
queue 0.409, priority 0.465, type 0.744 there — never more than 0.1 below the better single block on
queue and type, 1.7 below the tuned one on priority (BENCHMARKS.md) — and need no noisy choice, so
they are the incumbent, and, as with the learned rankers
(`triage._ranking`), one block alone replaces them only if its gain holds up under a paired bootstrap
over the judged rows (`triage._bootstrap`): the lower 95% bound of the macro-F1 gain is above zero.

Macro-F1 is written as weighted sums over tickets, so one matrix product gives it for every bootstrap
resample at once; `training._metrics` reports with this same function.
"""

from __future__ import annotations

import numpy as np

from triage._bootstrap import lower_bound, resampling_counts

SOURCES = ("base", "tuned", "both")  # the shared embedder's block, the tuned one's, both side by side


def reads_tuned(source: str) -> bool:
    """Whether a head reading `source` needs the tuned embedder at serving time."""
    return source in ("tuned", "both")


def weighted_macro_f1(pred_idx: np.ndarray, y_idx: np.ndarray, n_classes: int, weights: np.ndarray) -> np.ndarray:
    """Macro-F1 over `n_classes`, one value per row of `weights` (how often each ticket counts).

    A true label of -1 (one the model never saw) is a miss. With all weights 1 this is scikit-learn's
    `f1_score(average="macro", labels=range(n_classes), zero_division=0)`.
    """
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    if n_classes == 0:
        return np.zeros(len(w))
    pred = np.zeros((len(pred_idx), n_classes))
    pred[np.arange(len(pred_idx)), pred_idx] = 1.0
    true = np.zeros((len(y_idx), n_classes))
    seen = y_idx >= 0
    true[np.flatnonzero(seen), y_idx[seen]] = 1.0
    tp, denom = w @ (pred * true), w @ pred + w @ true
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return f1.mean(axis=1)  # type: ignore[no-any-return]


def clearly_better(challenger: np.ndarray, incumbent: np.ndarray, y_idx: np.ndarray, n_classes: int,
                   seed: int = 0) -> tuple[bool, dict[str, float]]:
    """Whether `challenger`'s predictions beat `incumbent`'s in macro-F1 beyond resampling noise.

    Returns the verdict and its evidence (the gain and the bootstrap's lower bound) for the manifest.
    """
    if len(y_idx) == 0:
        return False, {"gain": 0.0, "low": 0.0}
    ones = np.ones(len(y_idx))
    gain = float(weighted_macro_f1(challenger, y_idx, n_classes, ones)[0]
                 - weighted_macro_f1(incumbent, y_idx, n_classes, ones)[0])
    w = resampling_counts(len(y_idx), seed=seed)
    gains = weighted_macro_f1(challenger, y_idx, n_classes, w) - weighted_macro_f1(incumbent, y_idx, n_classes, w)
    low = lower_bound(gains)
    return bool(gain > 0 and low > 0), {"gain": round(gain, 4), "low": round(low, 4)}
