"""The store behind the review queue: least sure first, filters, reviewed items leave, durable across reopen."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from triage.errors import DataError
from triage.predictions import PredictionStore, QueueFilter


def _result(tid: str, module: str | None, conf: float, top: str = "mail/exchange",
            owner: str = "i.petrov") -> dict:  # type: ignore[type-arg]
    head = {"value": module, "confidence": conf, "abstained": module is None,
            "top": [{"value": module or top, "p": conf}, {"value": "network/lan", "p": 1 - conf}],
            "evidence": {"tickets": [{"ticket_id": "T-9", "title": "old", "module": top, "owner": owner,
                                      "similarity": 0.9}], "terms": [{"term": "vpn", "weight": 0.3}]}}
    return {"ticket_id": tid, "model_version": "v1", "language": "ru",
            "labels": {"category": {"value": "Почта", "confidence": 0.9, "abstained": False,
                                    "top": [{"value": "Почта", "p": 0.9}]}},
            "module": {**head, "owners": [owner]},
            "owner": {"value": owner, "confidence": 0.7, "abstained": False, "top": [{"value": owner, "p": 0.7}]},
            "completeness": {"score": 0.4, "ready_for_l3": False, "threshold": 0.5, "items": {},
                             "missing": ["impact"], "prompts": {}},
            "truncated": False, "kb": []}


def test_least_sure_first_filters_and_reviewed_items_leave(tmp_path: Path) -> None:
    store = PredictionStore(tmp_path / "p.sqlite")
    tickets = [{"id": f"T-{i}", "subject": f"s{i}", "created_at": f"2026-11-2{i}T10:00:00Z", "agent": "anna",
                "info_requested": "true" if i == 1 else None} for i in range(1, 5)]
    results = [_result("T-1", "mail/exchange", 0.9), _result("T-2", None, 0.6, top="telephony/pbx"),
               _result("T-3", "mail/exchange", 0.5), _result("T-4", "telephony/softphone", 0.7)]
    store.record(tickets, results)  # type: ignore[arg-type]
    queue = store.queue(QueueFilter("module"))
    assert [p.ticket_id for p in queue] == ["T-2", "T-3", "T-4", "T-1"]  # abstained, then by rising confidence
    assert queue[0].abstained and queue[0].value is None and queue[0].module == "telephony/pbx"
    assert queue[0].evidence and queue[0].evidence["terms"][0]["term"] == "vpn"
    assert queue[0].detail["owners"] == ["i.petrov"] and queue[0].subject == "s2"
    assert [p.ticket_id for p in store.queue(QueueFilter("module", module="telephony"))] == ["T-2", "T-4"]
    assert store.queue(QueueFilter("module", module="tele")) == []  # a prefix is a whole path part
    since = datetime(2026, 11, 23, 10, tzinfo=UTC).timestamp()
    assert [p.ticket_id for p in store.queue(QueueFilter("module", since=since))] == ["T-3", "T-4"]
    assert store.pending(QueueFilter("category")) == 4 and store.pending_by_field()["owner"] == 4
    assert store.mark_reviewed("T-2", "module", "l3") and not store.mark_reviewed("T-2", "module", "l3")
    store.record(tickets[1:2], results[1:2])  # type: ignore[arg-type]  # classified again: stays reviewed
    assert [p.ticket_id for p in store.queue(QueueFilter("module"))] == ["T-3", "T-4", "T-1"]
    assert store.pending(QueueFilter("category")) == 4  # another field of the same ticket still waits
    rows = store.escalations()
    assert [r["id"] for r in rows] == ["T-1", "T-2", "T-3", "T-4"]
    assert rows[0]["info_requested"] is True and rows[1]["info_requested"] is None and rows[0]["agent"] == "anna"
    assert rows[0]["missing"] == ["impact"] and rows[0]["ready_for_l3"] is False
    store.close()
    again = PredictionStore(tmp_path / "p.sqlite")  # durable: a reopened store has the same queue
    assert [p.ticket_id for p in again.queue(QueueFilter("module"), limit=2)] == ["T-3", "T-4"]
    assert again.mark_all_reviewed([("T-3", "module", "x"), ("T-404", "module", "x")]) == 1
    assert len(again) == 4
    again.close()


def test_a_store_from_a_newer_release_or_not_a_database_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(DataError, match="prediction store"):
        PredictionStore(bad)
    import sqlite3

    newer = tmp_path / "newer.sqlite"
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(DataError, match="newer triage"):
        PredictionStore(newer)
