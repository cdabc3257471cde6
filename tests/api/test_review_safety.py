"""Reviews that cannot poison training: unknown values refused, unknown tickets flagged, conflicts kept and
settled by one rule, and a store written by the old code upgraded in place."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from training._feedback import apply_feedback
from training.cli import app as cli_app
from triage import open_triage
from triage._db import SQLITE_STAMP
from triage.errors import DataError
from triage.feedback import FeedbackStore, open_feedback, resolve

from .._small_bundle import small_bundle, small_settings

# The store as the first release wrote it (no user_version, no ticket_known / new_label), verbatim.
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT NOT NULL,
    field TEXT NOT NULL,
    predicted TEXT,
    correct TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    created_at TEXT NOT NULL,
    model_version TEXT,
    subject TEXT,
    body TEXT
);
CREATE INDEX IF NOT EXISTS feedback_ticket ON feedback (ticket_id, field);
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory, use_embedder, cache_dir):  # type: ignore[no-untyped-def]
    data, result = small_bundle(tmp_path_factory, use_embedder, cache_dir)
    root = tmp_path_factory.mktemp("review-service")
    settings = small_settings(root, cache_dir)
    triage = open_triage(result.bundle, settings, embedder=use_embedder, kb=None, alerts=False)
    with TestClient(create_app(settings, triage=triage)) as client:
        yield client, root / "feedback.sqlite", pd.read_csv(data, dtype=str)


def _count(db: Path) -> int:
    if not db.is_file():
        return 0
    return int(sqlite3.connect(db).execute("SELECT COUNT(*) FROM feedback").fetchone()[0])


def _review(**fields: object) -> dict[str, object]:
    return {"ticket_id": "T-0001", "field": "module", "predicted": "erp-1c/reports", "correct": "erp-1c/reports",
            "reviewer": "i.petrov", **fields}


def test_a_typo_is_refused_with_the_known_values_and_what_to_do(service) -> None:  # type: ignore[no-untyped-def]
    client, db, _ = service
    before = _count(db)
    res = client.post("/v1/feedback", json=_review(field="category", predicted="Почта", correct="Почтаа"))
    assert res.status_code == 422, res.text
    [error] = res.json()["detail"]
    assert error["loc"] == ["body", "correct"] and error["type"] == "unknown_label"
    assert "Почта" in error["known"] and "Телефония" in error["known"] and "Почтаа" not in error["known"]
    assert error["closest"][0] == "Почта"
    assert "new_label" in error["msg"] and "typo" in error["msg"]
    typo = client.post("/v1/feedback", json=_review(correct="mail/exchnge"))
    assert typo.status_code == 422 and "mail/exchange" in typo.json()["detail"][0]["closest"]
    known = typo.json()["detail"][0]["known"]
    assert {"mail", "telephony"} <= set(known)  # parents the module head may answer with
    assert _count(db) == before  # nothing stored


def test_owners_file_values_are_known_and_a_new_label_is_stored_when_said(service) -> None:  # type: ignore[no-untyped-def]
    client, db, _ = service
    on_duty = client.post("/v1/feedback", json=_review(field="owner", predicted="team-1c", correct="i.petrov"))
    assert on_duty.status_code == 201, on_duty.text  # a person from the owners file is a known owner
    res = client.post("/v1/feedback", json=_review(ticket_id="T-0002", correct="iam/sso", new_label=True))
    assert res.status_code == 201, res.text
    assert res.json()["new_label"] is True and res.json()["ticket_known"] is True
    known = client.post("/v1/feedback", json=_review(ticket_id="T-0003", new_label=True))
    assert known.status_code == 201 and known.json()["new_label"] is False  # a value it knows is not new
    stored = {f.id: f for f in open_feedback(db, must_exist=True)}
    assert stored[res.json()["id"]].new_label and stored[res.json()["id"]].correct == "iam/sso"
    assert not stored[known.json()["id"]].new_label


def test_unknown_ticket_is_stored_but_flagged(service) -> None:  # type: ignore[no-untyped-def]
    client, db, data = service
    seen = client.post("/v1/feedback", json=_review(ticket_id=data["id"].iloc[10]))
    unseen = client.post("/v1/feedback", json=_review(ticket_id="NEVER-SEEN-1", reviewer="k.belov"))
    assert seen.status_code == unseen.status_code == 201
    assert seen.json()["ticket_known"] is True and unseen.json()["ticket_known"] is False
    classified = client.post("/v1/classify", json={"id": "FRESH-1", "subject": "Принтер не печатает",
                                                   "body": "HP на третьем этаже, замятие бумаги"})
    assert classified.status_code == 200  # a ticket the service classified joins the history
    fresh = client.post("/v1/feedback", json=_review(ticket_id="FRESH-1", correct="hardware/printers"))
    assert fresh.json()["ticket_known"] is True
    stored = {f.id: f for f in open_feedback(db, must_exist=True)}
    assert stored[unseen.json()["id"]].ticket_known is False and stored[seen.json()["id"]].ticket_known is True
    listed = client.get("/v1/feedback", params={"ticket_id": "NEVER-SEEN-1"}).json()["items"]
    assert [(i["ticket_id"], i["ticket_known"], i["reviewer"]) for i in listed] == [
        ("NEVER-SEEN-1", False, "k.belov")]


def test_conflicting_reviews_are_all_kept_and_listed_newest_first(service) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = service
    for reviewer, correct in (("a.smirnova", "network/vpn"), ("r.gusev", "network/lan"),
                              ("e.volkova", "network/vpn")):
        res = client.post("/v1/feedback", json=_review(ticket_id="T-0100", predicted="network/lan",
                                                       correct=correct, reviewer=reviewer))
        assert res.status_code == 201
    items = client.get("/v1/feedback", params={"ticket_id": "T-0100", "field": "module"}).json()["items"]
    assert [(i["reviewer"], i["correct"]) for i in items] == [
        ("e.volkova", "network/vpn"), ("r.gusev", "network/lan"), ("a.smirnova", "network/vpn")]
    assert [i["id"] for i in items] == sorted((i["id"] for i in items), reverse=True)
    assert "body" not in items[0] and items[0]["has_text"] is False
    assert len(client.get("/v1/feedback", params={"limit": 2}).json()["items"]) == 2
    assert client.get("/v1/feedback", params={"since": "2999-01-01T00:00:00Z"}).json()["items"] == []
    bad = client.get("/v1/feedback", params={"since": "someday ivan@example.com"})
    assert bad.status_code == 422 and "ivan@example.com" not in bad.text


def _store(path: Path, votes: list[tuple[str, str, str]]) -> FeedbackStore:
    store = FeedbackStore(path)
    for ticket, reviewer, correct in votes:
        store.add({"ticket_id": ticket, "field": "module", "predicted": "a/x", "correct": correct,
                   "reviewer": reviewer})
    return store


def test_the_rule_majority_of_latest_votes_tie_to_the_most_recent(tmp_path: Path) -> None:
    store = _store(tmp_path / "fb.sqlite", [
        ("T-1", "ann", "a/y"), ("T-1", "bob", "a/y"), ("T-1", "cat", "a/z"),  # majority beats the latest vote
        ("T-2", "ann", "a/y"), ("T-2", "bob", "a/z"),  # tie: the most recent wins
        ("T-3", "ann", "a/y"), ("T-3", "bob", "a/z"), ("T-3", "Ann", "a/z"),  # ann changed her mind: one vote
        ("T-4", "ann", "a/y"),
    ])
    settled = store.resolved()
    assert len(store) == 9  # nothing overwritten
    assert (settled[("T-1", "module")].correct, settled[("T-1", "module")].rule) == ("a/y", "majority")
    assert settled[("T-1", "module")].votes == {"a/y": ["ann", "bob"], "a/z": ["cat"]}
    assert (settled[("T-2", "module")].correct, settled[("T-2", "module")].rule) == ("a/z", "tie: most recent")
    assert (settled[("T-3", "module")].correct, settled[("T-3", "module")].rule) == ("a/z", "unanimous")
    assert not settled[("T-3", "module")].conflict and settled[("T-1", "module")].conflict
    assert settled[("T-4", "module")].rule == "single"
    later = resolve(reversed(list(store)))  # "latest" is by storage order, not by the order reviews are read
    assert {k: r.correct for k, r in later.items()} == {k: r.correct for k, r in settled.items()}
    store.close()


def test_training_and_the_report_use_the_rule_and_show_the_conflicts(tmp_path: Path) -> None:
    db = tmp_path / "fb.sqlite"
    _store(db, [("T-1", "ann", "a/y"), ("T-1", "bob", "a/y"), ("T-1", "cat", "a/z"),
                ("T-2", "ann", "a/y"), ("T-2", "bob", "a/z"), ("T-3", "ann", "a/x")]).close()
    frame = pd.DataFrame({"id": ["T-1", "T-2", "T-3"], "subject": ["s"] * 3, "body": ["b"] * 3,
                          "module": ["a/x", "a/x", "a/x"]})
    relabelled, stats = apply_feedback(frame, db, ["module"])
    assert relabelled["module"].tolist() == ["a/y", "a/z", "a/x"]  # majority; tie -> most recent; confirmed
    assert stats.conflicts == 2 and stats.reviews == 3 and stats.relabelled == 2
    out = tmp_path / "report.json"
    res = CliRunner().invoke(cli_app, ["report", "feedback", "--feedback", str(db), "--json", str(out)],
                             terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "conflicting reviews" in res.output and "T-1" in res.output and "tie: most recent" in res.output
    conflicts = {c["ticket_id"]: c for c in json.loads(out.read_text(encoding="utf-8"))["conflicts"]}
    assert set(conflicts) == {"T-1", "T-2"}
    assert conflicts["T-1"]["resolved"] == "a/y" and conflicts["T-1"]["rule"] == "majority"
    assert conflicts["T-1"]["votes"] == [{"value": "a/y", "reviewers": ["ann", "bob"]},
                                         {"value": "a/z", "reviewers": ["cat"]}]


def test_a_store_written_by_the_old_code_is_upgraded_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    old = sqlite3.connect(db)
    old.executescript(OLD_SCHEMA)
    old.execute("INSERT INTO feedback (ticket_id, field, predicted, correct, reviewer, created_at, subject) "
                "VALUES ('T-1', 'module', 'a/x', 'a/y', 'ann', '2026-01-01T10:00:00+00:00', 'VPN')")
    old.commit()
    assert old.execute("PRAGMA user_version").fetchone()[0] == 0
    old.close()
    store = open_feedback(db, must_exist=True)
    [kept] = list(store)
    assert (kept.ticket_id, kept.correct, kept.subject) == ("T-1", "a/y", "VPN")
    assert kept.ticket_known is None and kept.new_label is False  # never checked: unknown, not "false"
    added = store.add({"ticket_id": "T-2", "field": "module", "correct": "a/z", "reviewer": "bob",
                       "ticket_known": False, "new_label": True})
    store.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SQLITE_STAMP  # migrated: older releases refuse it
    columns = [row[1] for row in conn.execute("PRAGMA table_info(feedback)")]
    assert columns[-3:] == ["ticket_known", "new_label", "source"]
    conn.close()
    again = FeedbackStore(db)  # opening an up-to-date store changes nothing
    assert [(f.id, f.ticket_known, f.new_label) for f in again] == [(1, None, False), (added.id, False, True)]
    again.close()
    newer = sqlite3.connect(db)
    newer.execute("PRAGMA user_version = 7")
    newer.commit()
    newer.close()
    with pytest.raises(DataError, match="newer triage"):
        FeedbackStore(db)
