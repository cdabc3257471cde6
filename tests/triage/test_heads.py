from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from triage.errors import NotTrainedError
from triage.heads import Features, LabelHead
from triage.heads._abstain import apply_temperature, choose_threshold, fit_temperature
from triage.heads._features import shared_transform


def toy(n: int = 240, seed: int = 0) -> tuple[Features, np.ndarray]:
    """Three labels with distinct vocabulary, Russian and English, plus noise."""
    rng = np.random.default_rng(seed)
    words = {"Почта": ["outlook", "письмо", "mail", "почтовый ящик"], "Сеть": ["vpn", "wifi", "сеть", "router"],
             "1С": ["1с", "отчёт", "ндс", "бухгалтерия"]}
    texts, labels = [], []
    for i in range(n):
        label = list(words)[i % 3]
        picked = rng.choice(words[label], size=2)
        noise = rng.choice(["срочно", "please help", "не работает", "error"], size=1)
        texts.append(" ".join([*picked, *noise]))
        labels.append(label)
    dense = rng.normal(size=(n, 8)).astype(np.float32)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    return Features(texts, dense), np.asarray(labels, dtype=object)


def test_estimator_contract() -> None:
    head = LabelHead(target="category", features="lexical", cv=3)
    assert clone(head).get_params() == head.get_params()
    assert not any(k.endswith("_") for k in vars(head))
    X, y = toy()
    assert head.fit(X, y) is head
    assert {"classes_", "threshold_", "temperature_", "model_", "risk_coverage_"} <= set(vars(head))


def test_learns_and_reports_calibrated_top_k() -> None:
    X, y = toy()
    head = LabelHead(target="category", features="hybrid", cv=3).fit(X.subset(range(180)), y[:180])
    test = X.subset(range(180, 240))
    assert (head.predict(test) == y[180:]).mean() > 0.9
    probs = head.predict_proba(test)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    results = head.predict_results(test)
    r = results[0]
    assert [t["p"] for t in r["top"]] == sorted((t["p"] for t in r["top"]), reverse=True)
    assert len(r["top"]) == 3 and 0 <= r["confidence"] <= 1
    assert all((res["value"] is None) == res["abstained"] for res in results)


def test_abstains_below_threshold() -> None:
    X, y = toy()
    head = LabelHead(target="category", features="lexical", cv=3).fit(X, y)
    head.threshold_ = 1.01  # nothing reaches it
    assert all(r["abstained"] and r["value"] is None and r["top"] for r in head.predict_results(X.subset([0, 1])))


def test_rare_classes_are_dropped_and_reported() -> None:
    X, y = toy()
    y = y.copy()
    y[0] = "Редкий"
    head = LabelHead(target="category", features="lexical", cv=3).fit(X, y)
    assert head.dropped_classes_ == ["Редкий"]
    assert "Редкий" not in head.classes_


def test_single_label_is_an_error() -> None:
    X, _ = toy(30)
    with pytest.raises(ValueError, match="at least two labels"):
        LabelHead(features="lexical").fit(X, np.asarray(["a"] * 30, dtype=object))


def test_unfitted_head_raises() -> None:
    X, _ = toy(6)
    with pytest.raises(NotTrainedError):
        LabelHead().predict_proba(X)


def test_temperature_fixes_overconfidence() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 500)
    logits = rng.normal(size=(500, 3))
    logits[np.arange(500), y] += 1.0  # right 60% of the time ...
    probs = apply_temperature(np.exp(logits * 5) / np.exp(logits * 5).sum(1, keepdims=True), 1.0)  # ... sure 95%
    t = fit_temperature(probs, y)
    assert t > 2
    calibrated = apply_temperature(probs, t)
    acc = (calibrated.argmax(1) == y).mean()
    assert abs(calibrated.max(1).mean() - acc) < abs(probs.max(1).mean() - acc)


def test_choose_threshold_reaches_precision() -> None:
    conf = np.linspace(1, 0, 100)
    correct = np.r_[np.ones(50), np.zeros(50)].astype(bool)
    thr, cov = choose_threshold(conf, correct, 0.9)
    covered = conf >= thr
    assert correct[covered].mean() >= 0.9
    assert cov == pytest.approx(covered.mean()) and cov >= 0.5
    assert choose_threshold(conf, np.zeros(100, bool), 0.9) == (1.01, 0.0)


def test_grid_search_picks_by_out_of_fold_f1() -> None:
    X, y = toy()
    head = LabelHead(target="category", features="hybrid", alpha=(1e-5, 1e-3), dense_weight=(1.0, 4.0), cv=3).fit(X, y)
    assert len(head.search_) == 4
    best = max(head.search_, key=lambda r: r["oof_macro_f1"])
    assert (head.alpha_, head.dense_weight_) == (best["alpha"], best["dense_weight"])
    assert head.summary()["search"] == head.search_


def test_heads_fitted_on_the_same_texts_share_one_tfidf_transform() -> None:
    X, y = toy()
    train, test = X.subset(range(180)), X.subset(range(180, 240))
    other = np.asarray([str(v)[::-1] for v in y[:180]], dtype=object)  # a second target on the same texts
    a = LabelHead(target="category", features="hybrid", cv=3).fit(train, y[:180])
    b = LabelHead(target="queue", features="hybrid", cv=3).fit(train, other)
    c = LabelHead(target="few", features="hybrid", cv=3).fit(train.subset(range(150)), y[:150])  # other texts
    batch = X.subset(range(180, 240))
    shared = [a.predict_proba(batch), b.predict_proba(batch), c.predict_proba(batch)]
    assert len(batch.memo) == 2  # a and b: one block; c learnt another vocabulary
    # sharing changes nothing: each head alone on a fresh batch gives the same probabilities
    for head, probs in zip((a, b, c), shared, strict=True):
        np.testing.assert_allclose(head.predict_proba(test.subset(range(60))), probs)


class _GuessingHead(LabelHead):
    """A head whose own out-of-fold view is a guess, so only the n-gram regression can help."""

    def _search(self, X: Features, y_idx: np.ndarray, fair: np.ndarray) -> tuple[object, np.ndarray]:
        matrix, oof = super()._search(X, y_idx, fair)
        rng = np.random.default_rng(1)
        return matrix, rng.dirichlet(np.ones(oof.shape[1]), size=len(oof))


def test_lexical_mix_is_chosen_out_of_fold_and_used_in_prediction() -> None:
    X, y = toy()
    head = _GuessingHead(target="category", features="hybrid", cv=3, lexical_share=(0.25, 0.75)).fit(X, y)
    scores = {row["lexical_share"]: row["oof_macro_f1"] for row in head.lexical_search_}
    assert set(scores) == {0.0, 0.25, 0.75}
    assert head.lexical_share_ == max(scores, key=scores.__getitem__) > 0
    assert scores[head.lexical_share_] > scores[0.0] + 0.3  # the words rescue a guessing head
    test = X.subset(list(range(10)))
    alone = np.zeros((10, len(head.classes_)))
    alone[:, head.model_.classes_] = head.model_.predict_proba(head._matrix(test))
    assert head.lexical_model_ is not None
    words = head.lexical_model_.predict_proba(shared_transform(head.lexical_, test))
    np.testing.assert_allclose(head._linear_proba(test), (1 - head.lexical_share_) * alone
                               + head.lexical_share_ * words)
    assert head.summary()["lexical_share"] == head.lexical_share_


def test_no_lexical_mix_when_off_or_without_words() -> None:
    X, y = toy()
    for head in (LabelHead(target="category", cv=3, lexical_share=0.0), LabelHead(target="category", cv=3,
                                                                                   features="dense")):
        head.fit(X, y)
        assert head.lexical_share_ == 0.0 and head.lexical_model_ is None and head.lexical_search_ == []
        full = np.zeros((len(y), len(head.classes_)))
        full[:, head.model_.classes_] = head.model_.predict_proba(head._matrix(X))
        np.testing.assert_allclose(head._linear_proba(X), full)


def test_bundles_from_before_the_lexical_mix_still_predict() -> None:
    X, y = toy()
    head = LabelHead(target="category", cv=3).fit(X, y)
    for name in ("lexical_share_", "lexical_model_", "lexical_search_"):
        delattr(head, name)
    assert (head.predict(X) == y).mean() > 0.9
    assert head.summary()["lexical_share"] == 0.0
