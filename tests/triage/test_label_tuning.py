"""Label heads with a second, tuned dense block (`Features.tuned`): the choice and the calibration are made
on the tickets the tuning never saw (`fit(..., honest=mask)`), so a tuned block that only memorised its own
tickets is caught, and one that really helps is kept."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from training.label_tuning import MIN_LABELLED, MIN_PER_CLASS, should_tune, tune_split
from triage._bootstrap import resampling_counts
from triage.errors import NotTrainedError
from triage.heads import Features, LabelHead
from triage.heads._choice import SOURCES, clearly_better, reads_tuned, weighted_macro_f1


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
    best = {src: max(r["oof_macro_f1"] for r in optimistic.search_ if r["embeddings"] == src) for src in SOURCES}
    assert best["tuned"] > best["base"] + 0.05  # judged on its own tickets, the leak looks like skill
    fair = LabelHead(features="dense", cv=3).fit(X, y, honest=honest)
    judged = {src: max(r["oof_macro_f1"] for r in fair.search_ if r["embeddings"] == src) for src in SOURCES}
    assert judged["tuned"] < judged["base"]  # on the tickets it never saw, the leak is noise
    assert fair.dense_source_ != "tuned"
    assert fair.calibrated_on_ == (int(honest.sum()) if reads_tuned(fair.dense_source_) else len(y))


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
    assert reads_tuned(head.dense_source_)
    assert head.calibrated_on_ == int(honest.sum())
    assert head.summary()["embeddings"] == head.dense_source_
    test = X.subset(np.flatnonzero(honest)[:30])
    assert (head.predict(test) == y[np.flatnonzero(honest)[:30]]).mean() > 0.8
    with pytest.raises(NotTrainedError, match="tuned"):
        head.predict(Features(test.texts, test.dense))  # a tuned head given no tuned block says what to do


def test_a_tuned_block_no_better_than_the_shared_one_does_not_replace_it() -> None:
    """A tuned block as informative as the shared one (the same signal, other noise) may edge ahead out of
    fold by chance; alone it replaces the two side by side only if its gain survives the bootstrap."""
    texts, y, base = _blocks(n=400, base_signal=0.9)
    rng = np.random.default_rng(4)
    seen = tune_split(y, 0.5, seed=0)
    honest = np.ones(len(y), bool)
    honest[seen] = False
    twin = np.hstack([np.eye(3)[[("a", "b", "c").index(v) for v in y]] * 0.9, np.zeros((len(y), 5))])
    X = Features(texts, base.astype(np.float32), tuned=_unit(twin + rng.normal(size=(len(y), 8))).astype(np.float32))
    head = LabelHead(features="dense", cv=3).fit(X, y, honest=honest)
    evidence = head.summary()["tuned_evidence"]
    assert head.dense_source_ != "tuned"
    assert set(evidence) == {"base", "tuned"} and evidence["tuned"]["low"] <= 0  # computed, did not clear zero
    assert head.calibrated_on_ == (int(honest.sum()) if reads_tuned(head.dense_source_) else len(y))


def test_weighted_macro_f1_is_scikit_learns_and_resamples_in_one_product() -> None:
    rng = np.random.default_rng(5)
    y, pred = rng.integers(-1, 4, 200), rng.integers(0, 4, 200)  # -1: a label the model never saw
    plain = weighted_macro_f1(pred, y, 4, np.ones(len(y)))[0]
    assert plain == pytest.approx(f1_score(y, pred, labels=range(4), average="macro", zero_division=0))
    w = resampling_counts(len(y), resamples=50)
    assert w.shape == (50, 200) and (w.sum(axis=1) == 200).all()
    one = np.repeat(np.arange(200), w[7].astype(int))
    assert weighted_macro_f1(pred, y, 4, w)[7] == pytest.approx(
        f1_score(y[one], pred[one], labels=range(4), average="macro", zero_division=0))


def test_clearly_better_needs_a_gain_beyond_resampling_noise() -> None:
    rng = np.random.default_rng(6)
    y = rng.integers(0, 3, 300)
    right, noisy = y.copy(), y.copy()
    flip = rng.random(300) < 0.4
    noisy[flip] = rng.integers(0, 3, int(flip.sum()))
    assert clearly_better(right, noisy, y, 3)[0]
    assert not clearly_better(noisy, right, y, 3)[0]
    almost = noisy.copy()
    almost[np.flatnonzero(almost != y)[:2]] = y[np.flatnonzero(almost != y)[:2]]  # two tickets more right
    wins, evidence = clearly_better(almost, noisy, y, 3)
    assert not wins and evidence["gain"] > 0 >= evidence["low"]  # right more often, but not clearly


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


def test_both_blocks_asked_for_by_name_are_judged_and_calibrated_on_the_honest_rows() -> None:
    texts, y, base = _blocks(base_signal=0.6)
    seen = tune_split(y, 0.5, seed=0)
    honest = np.ones(len(y), bool)
    honest[seen] = False
    X = Features(texts, base.astype(np.float32), tuned=base[::-1].copy().astype(np.float32))
    head = LabelHead(features="dense", cv=3, embeddings="both").fit(X, y, honest=honest)
    assert head.dense_source_ == "both" and head.calibrated_on_ == int(honest.sum())
    with pytest.raises(ValueError, match="embeddings must be one of"):
        LabelHead(features="dense", embeddings="tunned").fit(X, y)
