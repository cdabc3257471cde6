"""Label heads with a second, tuned dense block (`Features.tuned`): the choice and the calibration are made
on the tickets the tuning never saw (`fit(..., honest=mask)`), so a tuned block that only memorised its own
tickets is caught, and one that really helps is kept."""

from __future__ import annotations

import numpy as np
import pytest

from training.label_tuning import MIN_LABELLED, MIN_PER_CLASS, should_tune, tune_split
from triage.errors import NotTrainedError
from triage.heads import Features, LabelHead


def _blocks(n: int = 300, seed: int = 0, base_signal: float = 1.3) -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.array([("a", "b", "c")[i % 3] for i in range(n)], dtype=object)
    onehot = np.eye(3)[[("a", "b", "c").index(v) for v in y]]
    base = np.hstack([onehot * base_signal, np.zeros((n, 5))]) + rng.normal(size=(n, 8))
    texts = [f"ticket {i} {rng.choice(['please', 'help', 'issue'])}" for i in range(n)]  # no label in the words
    return texts, y, base / np.linalg.norm(base, axis=1, keepdims=True)


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_a_tuned_block_that_only_memorised_its_own_tickets_is_caught() -> None:
    texts, y, base = _blocks()
    rng = np.random.default_rng(1)
    seen = tune_split(y, 0.7, seed=0)
    honest = np.ones(len(y), bool)
    honest[seen] = False
    leaky = rng.normal(size=(len(y), 8))
    leaky[seen, :3] += np.eye(3)[[("a", "b", "c").index(v) for v in y[seen]]] * 6  # perfect where it was tuned
    X = Features(texts, base.astype(np.float32), tuned=_unit(leaky).astype(np.float32))
    optimistic = LabelHead(features="dense", cv=3).fit(X, y)
    assert optimistic.dense_source_ == "tuned"  # judged on its own tickets, the leak looks like skill
    fair = LabelHead(features="dense", cv=3).fit(X, y, honest=honest)
    assert fair.dense_source_ == "base"
    assert fair.calibrated_on_ == len(y)  # the shared embedder's vectors are honest everywhere
    scored = {row["embeddings"] for row in fair.search_}
    assert scored == {"base", "tuned"}


def test_a_tuned_block_that_helps_on_unseen_tickets_is_kept_and_calibrated_on_them_only() -> None:
    texts, y, base = _blocks(base_signal=0.6)
    rng = np.random.default_rng(2)
    seen = tune_split(y, 0.5, seed=0)
    honest = np.ones(len(y), bool)
    honest[seen] = False
    good = rng.normal(size=(len(y), 8))
    good[:, :3] += np.eye(3)[[("a", "b", "c").index(v) for v in y]] * 3  # separates unseen tickets too
    X = Features(texts, base.astype(np.float32), tuned=_unit(good).astype(np.float32))
    head = LabelHead(features="hybrid", cv=3).fit(X, y, honest=honest)
    assert head.dense_source_ == "tuned"
    assert head.calibrated_on_ == int(honest.sum())
    assert head.summary()["embeddings"] == "tuned"
    test = X.subset(np.flatnonzero(honest)[:30])
    assert (head.predict(test) == y[np.flatnonzero(honest)[:30]]).mean() > 0.8
    with pytest.raises(NotTrainedError, match="tuned"):
        head.predict(Features(test.texts, test.dense))  # a tuned head given no tuned block says what to do


def test_a_refit_keeps_the_chosen_block_without_searching_again() -> None:
    texts, y, base = _blocks(base_signal=0.6)
    good = np.random.default_rng(3).normal(size=(len(y), 8))
    good[:, :3] += np.eye(3)[[("a", "b", "c").index(v) for v in y]] * 3
    X = Features(texts, base.astype(np.float32), tuned=_unit(good).astype(np.float32))
    first = LabelHead(features="dense", cv=3).fit(X, y)
    again = LabelHead(features="dense", cv=3).set_params(**first.selected_).fit(X, y)
    assert {row["embeddings"] for row in again.search_} == {first.dense_source_}


def test_the_rule_tunes_only_with_enough_tickets_per_class() -> None:
    few = np.array(["a", "b"] * (MIN_LABELLED // 4), dtype=object)
    assert not should_tune(few, "auto")[0]
    thin = np.array([f"c{i}" for i in range(MIN_LABELLED * 2)], dtype=object)  # many labels, one ticket each
    go, reason = should_tune(thin, "auto")
    assert not go and f"{MIN_PER_CLASS}+" in reason
    enough = np.array(["a", "b", "c"] * (MIN_LABELLED // 3 + MIN_PER_CLASS), dtype=object)
    assert should_tune(enough, "auto")[0]
    assert not should_tune(enough, "off")[0]
    assert should_tune(few, "on")[0]


def test_tune_split_is_stratified_and_a_share() -> None:
    y = np.array(["a"] * 60 + ["b"] * 40, dtype=object)
    seen = tune_split(y, 0.5, seed=0)
    assert len(seen) == 50 and (y[seen] == "a").sum() == 30
    assert len(set(seen.tolist())) == 50
