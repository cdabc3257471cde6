"""Helpdesk deliveries: every webhook is stored before it is answered, then worked off exactly once.

A helpdesk retries a webhook it got no 2xx for, and a service can die between its answer and the write-
back. So the webhook route only *stores* the delivery (committed before the 2xx: its own SQLite file
with WAL + `synchronous=FULL`, or the shared `TRIAGE_DATABASE_URL` database) under the helpdesk's own
delivery id — a repeat is recognised and does nothing — and a worker claims it, triages it and writes
back. A claim that a crash interrupted (`working`) goes back to `pending` at the next start, marked
`resumed`, so the worker first asks the helpdesk whether the note is already there (each note carries
the delivery's marker) before writing it: one note, however the process died.

States: `pending` (to do, from `next_at`), `working` (claimed), `done` (outcome says what happened),
`dead` (gave up after the configured tries; `triage integrations deliveries --retry` revives it).

`helpdesk_tickets` keeps, per helpdesk ticket, what the service last advised and the field values it last saw:
the first is how an unchanged advice is not written twice, the second how a person's change to a
field the service suggested is told from the service's own write.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage._db import Database, describe
from triage.errors import DatabaseError, DataError

STATES = ("pending", "working", "done", "dead")


@dataclass(frozen=True)
class Delivery:
    id: int
    source: str
    key: str
    event: str | None
    payload: dict[str, Any]
    received_at: float
    state: str
    attempts: int
    resumed: bool
    next_at: float
    last_error: str | None
    outcome: dict[str, Any] | None
    done_at: float | None

    def public(self) -> dict[str, Any]:
        """The listing's view: no payload (it carries customer data)."""
        return {"id": self.id, "source": self.source, "key": self.key, "event": self.event,
                "received_at": self.received_at, "state": self.state, "attempts": self.attempts,
                "last_error": self.last_error, "outcome": self.outcome, "done_at": self.done_at}


_COLUMNS = ("id", "source", "key", "event", "payload", "received_at", "state", "attempts", "resumed", "next_at",
            "last_error", "outcome", "done_at")


def _delivery(row: tuple[Any, ...]) -> Delivery:
    v = dict(zip(_COLUMNS, row, strict=True))
    v["payload"] = json.loads(v["payload"])
    v["outcome"] = None if v["outcome"] is None else json.loads(v["outcome"])
    v["resumed"] = bool(v["resumed"])
    return Delivery(**v)


@dataclass
class TicketMemory:
    """What the service knows it did to one helpdesk ticket."""

    advice_hash: str | None = None
    suggested: dict[str, str | None] | None = None  # None for a head that abstained
    written: dict[str, str] | None = None
    seen: dict[str, str] | None = None
    body: str | None = None
    acknowledged: bool = False


class DeliveryStore:
    """The durable queue of deliveries and the per-ticket memory; safe across threads and processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = path if "://" in str(path) else Path(path)  # a SQLite file, or a database URL
        try:
            self._db = Database(self.path)
        except DatabaseError as exc:
            raise DataError(f"cannot open the delivery store ({exc}); is it a triage deliveries database?",
                            file=describe(self.path)) from exc

    @contextmanager
    def _tx(self) -> Iterator[Database]:
        with self._db.transaction():
            yield self._db

    def add(self, source: str, key: str, payload: dict[str, Any], event: str | None = None,
            now: float | None = None) -> tuple[int, bool]:
        """Store a delivery (durable on return); `(id, False)` when this key was delivered before."""
        now = time.time() if now is None else now
        with self._tx() as db:  # ON CONFLICT: two replicas given the same delivery at once store it once
            new = db.execute("INSERT INTO deliveries (source, key, event, payload, received_at, next_at) "
                             "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, key) DO NOTHING RETURNING id",
                             (source, key, event, json.dumps(payload, ensure_ascii=False), now, now)).fetchone()
            if new is not None:
                return int(new[0]), True
            row = db.execute("SELECT id FROM deliveries WHERE source = ? AND key = ?", (source, key)).fetchone()
            return int(row[0]), False

    def recover(self) -> int:
        """At start-up: claims a dead process left `working` are to do again, checked against the helpdesk."""
        with self._tx() as db:
            return db.execute("UPDATE deliveries SET state = 'pending', resumed = 1 WHERE state = 'working'"
                              ).rowcount

    def claim(self, now: float | None = None) -> Delivery | None:
        """The oldest due delivery, now `working` with one more attempt; None when nothing is due."""
        now = time.time() if now is None else now
        # SQLite's write lock lets one claimer in at a time; on PostgreSQL replicas skip each other's row
        lock = " FOR UPDATE SKIP LOCKED" if self._db.dialect == "postgresql" else ""
        with self._tx() as db:
            row = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM deliveries WHERE state = 'pending' AND "
                             f"next_at <= ? ORDER BY next_at, id LIMIT 1{lock}", (now,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE deliveries SET state = 'working', attempts = attempts + 1 WHERE id = ?", (row[0],))
        d = _delivery(row)
        return Delivery(**{**d.__dict__, "state": "working", "attempts": d.attempts + 1})

    def finish(self, delivery_id: int, outcome: dict[str, Any], now: float | None = None) -> None:
        with self._tx() as db:
            db.execute("UPDATE deliveries SET state = 'done', outcome = ?, done_at = ?, last_error = NULL "
                       "WHERE id = ?", (json.dumps(outcome, ensure_ascii=False), time.time() if now is None else now,
                                        delivery_id))

    def fail(self, delivery_id: int, error: str, retry_at: float | None) -> None:
        """A failed attempt: due again at `retry_at`, or dead when it is None. The next try re-checks the helpdesk."""
        state = "dead" if retry_at is None else "pending"
        with self._tx() as db:
            db.execute("UPDATE deliveries SET state = ?, next_at = COALESCE(?, next_at), last_error = ?, resumed = 1 "
                       "WHERE id = ?", (state, retry_at, error[:500], delivery_id))

    def retry(self, ids: list[int] | None = None, now: float | None = None) -> int:
        """Dead deliveries (all, or these ids) to do again, with a fresh count of attempts."""
        now = time.time() if now is None else now
        where, params = "state = 'dead'", [now]
        if ids:
            where += f" AND id IN ({', '.join('?' * len(ids))})"
            params += ids
        with self._tx() as db:
            return db.execute(f"UPDATE deliveries SET state = 'pending', attempts = 0, next_at = ? WHERE {where}",
                              params).rowcount

    def get(self, delivery_id: int) -> Delivery | None:
        row = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        return None if row is None else _delivery(row)

    def list(self, state: str | None = None, source: str | None = None, limit: int = 50) -> list[Delivery]:
        """Newest first."""
        clauses, params = [], []
        for name, value in (("state", state), ("source", source)):
            if value is not None:
                clauses.append(f"{name} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM deliveries {where} ORDER BY id DESC LIMIT ?",
                                [*params, int(limit)])
        return [_delivery(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """Deliveries per state (every state present, zeros included), for /metrics and the CLI."""
        found = {str(k): int(n) for k, n in self._db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state")}
        return {s: int(found.get(s, 0)) for s in STATES}

    def memory(self, source: str, ref: str) -> TicketMemory:
        row = self._db.execute("SELECT advice_hash, suggested, written, seen, body, acknowledged FROM helpdesk_tickets "
                               "WHERE source = ? AND ref = ?", (source, ref)).fetchone()
        if row is None:
            return TicketMemory()
        suggested, written, seen = (None if v is None else json.loads(v) for v in row[1:4])
        return TicketMemory(row[0], suggested, written, seen, row[4], bool(row[5]))

    def remember(self, source: str, ref: str, memory: TicketMemory) -> None:
        values = [None if v is None else json.dumps(v, ensure_ascii=False)
                  for v in (memory.suggested, memory.written, memory.seen)]
        with self._tx() as db:
            db.execute("INSERT INTO helpdesk_tickets (source, ref, advice_hash, suggested, written, seen, body, "
                       "acknowledged, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, ref) "
                       "DO UPDATE SET "
                       "advice_hash = excluded.advice_hash, suggested = excluded.suggested, "
                       "written = excluded.written, seen = excluded.seen, body = excluded.body, "
                       "acknowledged = excluded.acknowledged, updated_at = excluded.updated_at",
                       (source, ref, memory.advice_hash, *values, memory.body, int(memory.acknowledged), time.time()))

    def close(self) -> None:
        self._db.close()
