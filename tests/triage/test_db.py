"""Every store on both databases of contract §8: an embedded SQLite file and a real PostgreSQL.

`db_url` (tests/_postgres.py) runs each test twice: on `sqlite:///...` and on a fresh database of the
PostgreSQL server the suite starts. Two store objects on one URL stand for two replicas.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from training.recurring import build_history_seed
from triage._db import Database
from triage._db_copy import copy_stores
from triage._history import HistoryRecord, TicketHistory
from triage._recurring import open_recurring
from triage._schema import metadata
from triage._spike import Incident, SpikeDetector
from triage.deliveries import DeliveryStore, TicketMemory
from triage.errors import DatabaseError, DataError
from triage.feedback import FeedbackStore
from triage.predictions import PredictionStore, QueueFilter
from triage.results import Prediction
from triage.settings import Settings

from .test_predictions import _result


def unit(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def rec(i: int, vec: np.ndarray) -> HistoryRecord:
    return HistoryRecord(ticket_id=f"T-{i}", created_at=1_700_000_000.0 + 60 * i, subject=f"s{i}",
                         text=f"ticket number {i} vpn", embedding=vec)


def test_a_migrated_database_is_exactly_the_schema(db_url: str) -> None:
    """The migrations build what triage/_schema.py declares, column for column, on both databases."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    db = Database(db_url)
    diff = compare_metadata(MigrationContext.configure(db._conn), metadata)
    db.close()
    assert diff == []


def test_history_shared_by_two_replicas(db_url: str) -> None:
    """What replica A appends, replica B finds after catch_up, with the same row ids and text; both reopen."""
    vecs = unit(np.random.default_rng(0), 30)
    a, b = TicketHistory(db_url, 16), TicketHistory(db_url, 16)
    rows = a.append([rec(i, vecs[i]) for i in range(20)])
    assert len(b) == 0 and sorted(b.catch_up()) == rows and len(b) == 20
    assert b.catch_up() == []  # nothing new: nothing twice
    found = b.search(vecs[10], "ticket number 10 vpn", before=2e9, k=1)
    assert b.details([found[0].row])[found[0].row]["ticket_id"] == "T-10"
    b.append([rec(25, vecs[25])])
    caught = a.catch_up()
    assert [a.details(caught)[r]["ticket_id"] for r in caught] == ["T-25"] and a.row_of("T-25") is not None
    a.set_meta("k", {"x": 1})
    a.set_meta("k", {"x": 2})  # an upsert on both databases
    assert b.meta("k") == {"x": 2}
    a.close()
    b.close()
    again = TicketHistory(db_url, 16)
    assert len(again) == 21 and again.row_of("T-25") is not None
    again.close()


def test_catch_up_finds_a_row_whose_commit_landed_after_a_later_one(pg_url: str) -> None:
    """PostgreSQL hands out ids at insert and commits in any order: the hole is looked for again."""
    vecs = unit(np.random.default_rng(1), 4)
    slow, fast, reader = TicketHistory(pg_url, 16), TicketHistory(pg_url, 16), TicketHistory(pg_url, 16)
    with slow.transaction():
        slow.append([rec(1, vecs[1])])  # takes the lower id, not committed yet
        fast.append([rec(2, vecs[2])])  # the higher id, committed first
        assert [reader.details([r])[r]["ticket_id"] for r in reader.catch_up()] == ["T-2"]
    assert [reader.details([r])[r]["ticket_id"] for r in reader.catch_up()] == ["T-1"]
    for h in (slow, fast, reader):
        h.close()


def test_a_failed_batch_leaves_nothing_in_the_database_or_the_index(db_url: str) -> None:
    vecs = unit(np.random.default_rng(2), 3)
    history = TicketHistory(db_url, 16)
    history.append([rec(0, vecs[0])])
    with pytest.raises(RuntimeError), history.transaction():
        history.append([rec(1, vecs[1])])
        raise RuntimeError("the request failed after the append")
    assert len(history) == 1 and history.row_of("T-1") is None
    other = TicketHistory(db_url, 16)
    assert len(other) == 1
    history.close()
    other.close()


def test_reviews_stored_through_one_replica_are_listed_by_another(db_url: str) -> None:
    a, b = FeedbackStore(db_url), FeedbackStore(db_url)
    first = a.add({"ticket_id": "T-1", "field": "module", "predicted": "a/x", "correct": "a/y", "reviewer": "ann",
                   "ticket_known": True, "new_label": False})
    second = b.add({"ticket_id": "T-1", "field": "module", "correct": "a/z", "reviewer": "bob", "new_label": True})
    assert second.id > first.id
    listed = a.query(ticket_id="T-1")
    assert [(f.reviewer, f.ticket_known, f.new_label) for f in listed] == [("bob", None, True), ("ann", True, False)]
    assert len(b) == 2 and b.query(reviewer="ann", since="2000-01-01")[0].correct == "a/y"
    assert a.resolved()[("T-1", "module")].rule == "tie: most recent"
    a.close()
    b.close()


def test_review_queue_on_both(db_url: str) -> None:
    store = PredictionStore(db_url)
    tickets = [{"id": f"T-{i}", "subject": f"s{i}", "created_at": f"2026-11-2{i}T10:00:00Z", "info_requested": "1"}
               for i in range(1, 4)]
    store.record(tickets, [_result("T-1", "mail/exchange", 0.9), _result("T-2", None, 0.6, top="telephony/pbx"),
                           _result("T-3", "telephony/softphone", 0.7)])  # type: ignore[list-item]
    other = PredictionStore(db_url)
    assert [p.ticket_id for p in other.queue(QueueFilter("module"))] == ["T-2", "T-3", "T-1"]
    assert [p.ticket_id for p in other.queue(QueueFilter("module", module="telephony"))] == ["T-2", "T-3"]
    assert store.mark_reviewed("T-2", "module", "l3") and not other.mark_reviewed("T-2", "module", "l3")
    assert other.pending(QueueFilter("module")) == 2 and other.pending(QueueFilter("category")) == 3
    assert other.choices("module") == ["mail/exchange", "telephony/pbx", "telephony/softphone"]
    assert other.mark_all_reviewed([("T-3", "module", "x"), ("T-9", "module", "x")]) == 1
    assert other.escalations()[0]["info_requested"] is True and len(other) == 3
    store.close()
    other.close()


def test_deliveries_are_claimed_once_across_replicas(db_url: str) -> None:
    a, b = DeliveryStore(db_url), DeliveryStore(db_url)
    first, new = a.add("zammad", "k1", {"a": 1}, "trigger", now=100.0)
    again, new_again = b.add("zammad", "k1", {"a": 1}, "trigger", now=101.0)
    assert new and not new_again and first == again
    claimed = a.claim(now=100.0)
    assert claimed is not None and claimed.attempts == 1 and b.claim(now=100.0) is None
    b.finish(first, {"note": "written"})
    assert a.counts() == {"pending": 0, "working": 0, "done": 1, "dead": 0}
    a.remember("zammad", "81", TicketMemory("h", {"category": "Сеть"}, None, {"group": "x"}, "text", True))
    assert b.memory("zammad", "81").acknowledged is True
    a.close()
    b.close()


def test_incidents_live_in_the_shared_history(db_url: str) -> None:
    history = TicketHistory(db_url, 16)
    spikes = SpikeDetector(history, threshold=0.9)
    inc = Incident("I-1", np.ones(16, np.float32), None, "VPN down", "network", 100.0, 200.0, ["T-1"], 200.0)
    spikes._save(inc)
    inc.tickets.append("T-2")
    spikes._save(inc)  # the same incident grows: one row
    other = SpikeDetector(TicketHistory(db_url, 16), threshold=0.9)
    assert [(i.key, i.tickets) for i in other.incidents] == [("I-1", ["T-1", "T-2"])]
    assert [i.key for i in other.recent(150.0)] == ["I-1"]
    inc.tickets.append("T-3")
    inc.last = 300.0
    spikes._save(inc)  # replica A's incident grows; B takes it in with its catch-up, once
    assert other.refresh() == 1 and other.incidents[0].tickets == ["T-1", "T-2", "T-3"] and other.refresh() == 0
    history.close()
    other.history.close()


def _bundle(tmp_path: Path, vecs: np.ndarray) -> Path:
    n = len(vecs)
    df = pd.DataFrame({"id": [f"T-{i}" for i in range(n)], "subject": [f"s{i}" for i in range(n)],
                       "text": [f"ticket {i}" for i in range(n)], "answer": ["fix"] * n,
                       "created_at": pd.to_datetime([1_700_000_000 + 60 * i for i in range(n)], unit="s", utc=True)})
    folder = tmp_path / "bundle" / "history"
    folder.mkdir(parents=True)
    build_history_seed(df, vecs, "test-embedder", folder, [])
    return folder.parent


MANIFEST = {"model_version": "v1", "embedder": {"id": "test-embedder"}}


def test_a_bundle_seeds_the_shared_history_once(db_url: str, tmp_path: Path) -> None:
    vecs = unit(np.random.default_rng(3), 40)
    bundle = _bundle(tmp_path, vecs)
    first = open_recurring(bundle, MANIFEST, 16, live=db_url)
    second = open_recurring(bundle, MANIFEST, 16, live=db_url)  # a second replica starting on the same bundle
    assert first is not None and second is not None and len(first.history) == len(second.history) == 40
    first.observe([{"id": "NEW-1", "created_at": "2030-01-01T00:00:00Z", "subject": "x"}], vecs[5:6], ["again"],
                  [Prediction()])
    assert second.history.catch_up() and second.history.row_of("NEW-1") is not None
    first.close()
    second.close()


def test_sqlite_stores_of_a_release_move_into_one_database(db_url: str, tmp_path: Path) -> None:
    """`triage db migrate`: the separate SQLite files of an embedded deployment, ids kept, into one database."""
    vecs = unit(np.random.default_rng(4), 30)
    old = tmp_path / "old"
    history = TicketHistory(old / "h.sqlite", 16)
    history.append([rec(i, vecs[i]) for i in range(30)])
    history.close()
    reviews = FeedbackStore(old / "feedback.sqlite")
    reviews.add({"ticket_id": "T-3", "field": "module", "correct": "a/y", "reviewer": "ann"})
    reviews.close()
    deliveries = DeliveryStore(old / "deliveries.sqlite")
    deliveries.add("zammad", "k1", {"a": 1})
    deliveries.remember("zammad", "81", TicketMemory(advice_hash="h"))
    deliveries.close()
    target = db_url.replace("triage.sqlite", "new.sqlite")
    copied = copy_stores([old / "h.sqlite", old / "feedback.sqlite", old / "deliveries.sqlite"], target)
    assert copied == {"tickets": 30, "feedback": 1, "deliveries": 1, "helpdesk_tickets": 1}
    moved = TicketHistory(target, 16)
    hit = moved.search(vecs[7], "ticket number 7 vpn", before=2e9, k=1)[0]
    assert moved.details([hit.row])[hit.row]["ticket_id"] == "T-7" and len(moved) == 30
    assert moved.append([rec(40, vecs[0])]) == [31]  # the id sequence continues after the copied ids
    moved.close()
    assert FeedbackStore(target).query()[0].reviewer == "ann"
    with pytest.raises(DatabaseError, match="already holds rows in tickets"):
        copy_stores([old / "h.sqlite"], target)  # a second run would duplicate: refused


def test_a_deliveries_file_of_an_earlier_release_keeps_its_ticket_memory(tmp_path: Path) -> None:
    """Its per-ticket table was called `tickets`; the history owns that name now."""
    path = tmp_path / "deliveries.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, key TEXT NOT NULL,
            event TEXT, payload TEXT NOT NULL, received_at REAL NOT NULL, state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0, resumed INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL,
            last_error TEXT, outcome TEXT, done_at REAL, UNIQUE (source, key));
        CREATE TABLE tickets (source TEXT NOT NULL, ref TEXT NOT NULL, advice_hash TEXT, suggested TEXT,
            written TEXT, seen TEXT, body TEXT, acknowledged INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL,
            PRIMARY KEY (source, ref));
        INSERT INTO tickets VALUES ('zammad', '81', 'h1', NULL, NULL, NULL, 'words', 1, 5.0);
        PRAGMA user_version = 1;""")
    db.close()
    store = DeliveryStore(path)
    assert store.memory("zammad", "81") == TicketMemory("h1", None, None, None, "words", True)
    store.close()
    history = TicketHistory(path, 16)  # the same file can now hold a history too
    assert len(history) == 0
    history.close()


@pytest.mark.parametrize("url, message", [
    ("mysql://u@h/db", "unsupported database"), ("sqlite://", "needs a file path"),
    ("postgresql:///nohost", "needs a host"), ("not a url", "not a database URL")])
def test_a_bad_database_url_fails_at_start(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(database_url=url)


def test_an_unreachable_database_is_a_clear_error_without_the_password(tmp_path: Path) -> None:
    from api.testing import free_port

    url = f"postgresql://triage:s3cret@127.0.0.1:{free_port()}/triage"
    with pytest.raises(DataError) as caught:
        FeedbackStore(url)
    assert "s3cret" not in str(caught.value) and "127.0.0.1" in str(caught.value)


def test_db_commands_upgrade_migrate_and_refuse_by_name(db_url: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from triage.cli import load_commands

    cli = load_commands()
    done = CliRunner().invoke(cli, ["db", "upgrade", "--url", db_url])
    assert done.exit_code == 0, done.output
    source = tmp_path / "old-feedback.sqlite"
    store = FeedbackStore(source)
    store.add({"ticket_id": "T-1", "field": "module", "correct": "a/y", "reviewer": "ann"})
    store.close()
    done = CliRunner().invoke(cli, ["db", "migrate", "--from", str(source), "--to", db_url])
    assert done.exit_code == 0, done.output
    assert "Copied" in done.output and "1 feedback" in done.output
    assert [f.reviewer for f in FeedbackStore(db_url).query()] == ["ann"]
    missing = CliRunner().invoke(cli, ["db", "migrate", "--from", str(tmp_path / "nope.sqlite"), "--to", db_url])
    assert missing.exit_code == 1 and "no such store" in missing.output
    bad = CliRunner().invoke(cli, ["db", "upgrade", "--url", "mysql://u@h/db"])
    assert bad.exit_code == 2 and "unsupported database" in bad.output


def test_a_history_file_of_an_earlier_release_opens_with_its_tickets_and_incidents(tmp_path: Path) -> None:
    """As the releases before the shared schema wrote it: tickets, meta, problems, incidents without `closed`."""
    path = tmp_path / "old.history.sqlite"
    vec = unit(np.random.default_rng(5), 1)[0]
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE tickets (id INTEGER PRIMARY KEY, ticket_id TEXT NOT NULL UNIQUE, created_at REAL NOT NULL,
            text_hash TEXT NOT NULL, subject TEXT NOT NULL, text TEXT NOT NULL, embedding BLOB NOT NULL,
            source TEXT NOT NULL, module TEXT, answer TEXT, labels TEXT, predicted TEXT, problem_id INTEGER);
        CREATE INDEX tickets_created ON tickets(created_at);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE incidents (key TEXT PRIMARY KEY, anchor BLOB NOT NULL, problem_id INTEGER, title TEXT NOT NULL,
            module TEXT, started REAL NOT NULL, last REAL NOT NULL, tickets TEXT NOT NULL, last_update REAL NOT NULL);
        PRAGMA user_version = 1;""")
    db.execute("INSERT INTO tickets (ticket_id, created_at, text_hash, subject, text, embedding, source) "
               "VALUES ('OLD-1', 1.7e9, 'h', 's', 'printer jams', ?, 'classified')", (vec.tobytes(),))
    db.execute("INSERT INTO incidents VALUES ('I-1', ?, NULL, 'Printers', NULL, 1.0, 2.0, '[\"OLD-1\"]', 2.0)",
               (vec.tobytes(),))
    db.commit()
    db.close()
    history = TicketHistory(path, 16)
    assert history.row_of("OLD-1") == 1 and len(history) == 1
    assert [i.key for i in SpikeDetector(history, threshold=0.9).incidents] == ["I-1"]  # `closed` added, NULL
    history.close()
