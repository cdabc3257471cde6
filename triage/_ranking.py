"""Learning to rank candidates from the team's links: one mechanism for KB articles and duplicate tickets.

A ranker (`triage._retrieval` for ticket -> article, `triage._duplicates` for ticket -> earlier duplicate)
describes every candidate its search found by a feature row whose first two columns are the untuned
fused score and its gap to the query's best; the rows of all training queries, labelled right / wrong,
go through `choose`: the fused score alone (a calibration of the untuned ranking), logistic regression
or gradient boosting, each scored out of fold (grouped by query, so a query never helps rank itself),
and a learned model replaces the fused order only if it gains at least `MARGIN` MRR there **and** the
gain holds up under a paired bootstrap over the queries (`triage._bootstrap`: its lower 95% bound is
above zero): with a few dozen links, +0.02 MRR is less than one query's worth, and a model chosen on
that is as likely to lose on later tickets as to win (Hadoop: 27 training links, +0.023 out of fold,
−0.025 recall@10 on the later half). Its probability is Platt-calibrated on those out-of-fold scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from triage._bootstrap import mean_gain_lower_bound

FOLDS = 3
MARGIN = 0.02  # out-of-fold MRR a learned model must gain over the fused order to replace it (noise: ~0.015)
BOOTSTRAP = 2_000  # paired resamples of the queries behind the gain's lower bound


def models() -> dict[str, Any]:
    return {"fused": LogisticRegression(C=1.0, max_iter=1000),
            "linear": make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=2000)),
            "boosted": HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, max_leaf_nodes=15,
                                                      min_samples_leaf=20, l2_regularization=1.0, random_state=0)}


def columns(model: str, width: int) -> list[int]:
    """The feature columns a model reads: the fused score and its gap, or all of them."""
    return [0, 1] if model == "fused" else list(range(width))


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@dataclass
class Training:
    """Candidate rows of all training queries.

    `group` is the query index per row; groups at or above `queries` are extra copies of a query (the KB's
    "no article answers it" lists) that share its fold but do not count as queries. `folds` (optional) is
    the fold of each query; by default queries are dealt to folds in turn.
    """

    x: np.ndarray
    y: np.ndarray
    group: np.ndarray
    queries: int
    folds: np.ndarray | None = None

    def fold_of_rows(self) -> np.ndarray:
        query = self.group % self.queries
        return (query % FOLDS) if self.folds is None else self.folds[query]


@dataclass
class Choice:
    """What `choose` settled on: the model (refitted on every row), its calibration, the out-of-fold evidence."""

    name: str
    model: Any
    calibration: LogisticRegression
    calibrated: np.ndarray  # calibrated out-of-fold probability per training row
    quality: dict[str, dict[str, float]]  # per candidate model: recall@1 / @5 / MRR out of fold

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return calibrated(self.name, self.model, self.calibration, x)


def calibrated(name: str, model: Any, calibration: LogisticRegression, x: np.ndarray) -> np.ndarray:
    raw = model.predict_proba(x[:, columns(name, x.shape[1])])[:, 1]
    return calibration.predict_proba(logit(raw)[:, None])[:, 1]


def choose(data: Training) -> Choice:
    """The model that ranks the right candidate best out of fold, if it clearly beats the fused order."""
    oof = {name: out_of_fold(name, data) for name in models()}
    ranks = {name: reciprocal_ranks(p, data) for name, p in oof.items()}
    quality = {name: summary(r, data.queries) for name, r in ranks.items()}
    chosen = max(quality, key=lambda n: quality[n]["mrr"])
    if not clearly_better(ranks[chosen], ranks["fused"], data.queries):  # keep the fused order
        chosen = "fused"
    model = models()[chosen].fit(data.x[:, columns(chosen, data.x.shape[1])], data.y)
    calibration = LogisticRegression(C=100.0).fit(logit(oof[chosen])[:, None], data.y)
    return Choice(chosen, model, calibration, calibration.predict_proba(logit(oof[chosen])[:, None])[:, 1],
                  {n: {k: round(v, 4) for k, v in q.items()} for n, q in quality.items()})


def clearly_better(learned: np.ndarray, fused: np.ndarray, queries: int) -> bool:
    """`MARGIN` more MRR, and a paired bootstrap's lower 95% bound of the gain above zero."""
    gain = np.zeros(max(queries, 1))
    gain[: len(learned)] = learned - fused
    return bool(gain.mean() >= MARGIN and mean_gain_lower_bound(gain, BOOTSTRAP) > 0)


def out_of_fold(name: str, data: Training) -> np.ndarray:
    """Each candidate's probability from a model that never saw its query (grouped folds)."""
    folds = data.fold_of_rows()
    out = np.zeros(len(data.y))
    cols = columns(name, data.x.shape[1])
    for f in range(FOLDS):
        train, test = folds != f, folds == f
        if not test.any():
            continue
        if len(np.unique(data.y[train])) < 2:
            out[test] = data.x[test, 0]
            continue
        model = models()[name].fit(data.x[train][:, cols], data.y[train])
        out[test] = model.predict_proba(data.x[test][:, cols])[:, 1]
    return out


def reciprocal_ranks(p: np.ndarray, data: Training) -> np.ndarray:
    """1 / rank of the first right candidate per query (0 when its search did not find one)."""
    out = np.zeros(max(data.queries, 1))
    for g in np.unique(data.group[data.group < data.queries]):
        rows = np.flatnonzero(data.group == g)
        hit = np.flatnonzero(data.y[rows[np.argsort(-p[rows], kind="stable")]])
        if len(hit):
            out[int(g)] = 1 / (int(hit[0]) + 1)
    return out[: max(data.queries, 1)]


def summary(rr: np.ndarray, queries: int) -> dict[str, float]:
    """Recall@1, recall@5 and MRR over the queries, from their reciprocal ranks."""
    n = max(queries, 1)
    return {"recall_at_1": float((rr == 1).sum()) / n, "recall_at_5": float((rr >= 0.2).sum()) / n,
            "mrr": float(rr.sum()) / n}

