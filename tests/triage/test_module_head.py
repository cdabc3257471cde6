"""Module and owner heads on the bilingual demo history: hierarchy, abstention, evidence, rare modules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from triage import CachedEmbedder, ColumnMapping, load_tickets
from triage.heads import Features, ModuleHead, owner_head

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "tickets.csv"
FAST = {"alpha": 1e-4, "dense_weight": 2.0, "cv": 3}


@pytest.fixture(scope="module")
def demo(use_embedder, cache_dir):  # type: ignore[no-untyped-def]
    df = load_tickets([DEMO], ColumnMapping())
    cached = CachedEmbedder(use_embedder, cache_dir / "embeddings.sqlite")  # shared with the bundle in test_feedback
    feats = Features(df["text"].tolist(), cached.encode(df["text"].tolist(), kind="query"))
    cached.close()
    return df, feats


def _tickets(df, rows):  # type: ignore[no-untyped-def]
    return df[["id", "subject", "module", "owner"]].iloc[rows].to_dict("records")


@pytest.fixture(scope="module")
def fitted(demo):  # type: ignore[no-untyped-def]
    df, feats = demo
    rows = np.arange(0, len(df), 1)
    train, test = rows[rows % 5 != 0], rows[rows % 5 == 0]
    y = df["module"].to_numpy(dtype=object)
    head = ModuleHead(**FAST).fit(feats.subset(train), y[train], tickets=_tickets(df, train))
    return head, feats.subset(test), y[test], set(df["id"].iloc[train])


def test_blend_is_accurate_calibrated_and_abstains_consistently(fitted) -> None:  # type: ignore[no-untyped-def]
    head, test, y, _ = fitted
    results = head.predict_results(test)
    probs = head.predict_proba(test)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert (head.classes_[probs.argmax(axis=1)] == y).mean() > 0.8
    assert 0.0 <= head.knn_weight_ <= 1.0 and len(head.blend_search_) == 4
    for res in results:
        assert res["abstained"] == (res["value"] is None)
        assert [t["p"] for t in res["top"]] == sorted((t["p"] for t in res["top"]), reverse=True)
        if res["level"] == "module" and not res["abstained"]:
            assert res["confidence"] >= head.threshold_


def test_evidence_is_supporting_training_tickets_and_words(fitted) -> None:  # type: ignore[no-untyped-def]
    head, test, _, train_ids = fitted
    for res, text in zip(head.predict_results(test)[:20], test.texts[:20], strict=True):
        shown = res["value"] or res["top"][0]["value"]
        tickets = res["evidence"]["tickets"]
        assert tickets, "every suggestion comes with supporting tickets"
        assert all(t["ticket_id"] in train_ids for t in tickets)
        assert all(t["module"] == shown or t["module"].startswith(shown + "/") for t in tickets)
        assert [t["similarity"] for t in tickets] == sorted((t["similarity"] for t in tickets), reverse=True)
        assert all(t["owner"] and t["title"] for t in tickets)
        for term in res["evidence"]["terms"]:
            assert term["weight"] > 0
            assert all(word in text.lower() for word in term["term"].split())


def test_siblings_it_cannot_tell_apart_are_answered_with_their_parent(demo) -> None:  # type: ignore[no-untyped-def]
    df, feats = demo
    y = df["module"].to_numpy(dtype=object)
    # Every LAN and Wi-Fi ticket was filed once under each sibling: no text can separate them, their parent is certain.
    mixed = np.nonzero(np.isin(y, ["network/lan", "network/wifi"]))[0]
    rows = np.concatenate([np.arange(len(df)), mixed])
    labels = np.concatenate([y, np.where(y[mixed] == "network/lan", "network/wifi", "network/lan")])
    train = feats.subset(rows)
    head = ModuleHead(**FAST).fit(train, labels, tickets=_tickets(df, rows))
    results = head.predict_results(feats.subset(mixed))
    parents = [r for r in results if r["level"] == "parent"]
    assert len(parents) >= len(mixed) // 2
    for r in parents:
        assert r["value"] == "network" and not r["abstained"] and r["confidence"] >= head.threshold_
        assert r["top"][0]["value"].startswith("network/") and r["top"][0]["p"] < head.threshold_
        assert "network" in r["note"]
        assert all(t["module"].startswith("network/") for t in r["evidence"]["tickets"])
    # tickets of a sibling it can tell apart (VPN) keep their leaf
    vpn = np.nonzero(y == "network/vpn")[0][:10]
    assert [r["value"] for r in head.predict_results(feats.subset(vpn))].count("network/vpn") >= 8
    # a flat head (no separator) never does this
    flat = ModuleHead(**FAST, separator=None).fit(train, labels)
    assert all("level" not in r and r["value"] != "network" for r in flat.predict_results(feats.subset(mixed)))


def test_modules_with_too_few_tickets_are_not_predicted(demo) -> None:  # type: ignore[no-untyped-def]
    df, feats = demo
    y = df["module"].to_numpy(dtype=object).copy()
    y[:3] = "crm/new-module"
    head = ModuleHead(**FAST, min_class_size=5).fit(feats, y)
    assert head.dropped_classes_ == ["crm/new-module"] and head.label_counts_["crm/new-module"] == 3
    assert "crm/new-module" not in set(head.predict(feats.subset(np.arange(10))))
    assert head.summary()["label_counts"]["crm/new-module"] == 3


def test_owner_head_learns_who_resolved_similar_tickets(demo) -> None:  # type: ignore[no-untyped-def]
    df, feats = demo
    rows = np.arange(len(df))
    train, test = rows[rows % 4 != 0], rows[rows % 4 == 0]
    y = df["owner"].to_numpy(dtype=object)
    head = owner_head(**FAST).fit(feats.subset(train), y[train], tickets=_tickets(df, train))
    assert head.target == "owner" and head.separator is None
    res = head.predict_results(feats.subset(test))
    assert all("level" not in r for r in res)
    top3 = np.mean([y[i] in {t["value"] for t in r["top"]} for i, r in zip(test, res, strict=True)])
    assert top3 > 0.7  # the team and its people are few per module
    shown = res[0]["value"] or res[0]["top"][0]["value"]
    assert all(t["owner"] == shown for t in res[0]["evidence"]["tickets"])
