"""Reviewer feedback: L3 confirms or corrects a prediction, the next training learns from it.

An embedded SQLite file, so there is no server to run; WAL with
`synchronous=FULL` makes every acknowledged write survive `kill -9` and power
loss (a record is fsynced before the API answers). Only what a person typed
(`correct`) ever becomes a training label; the model's own `predicted` value
is kept for the acceptance report, never learned from.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage.errors import DataError

SCHEMA = """
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
COLUMNS = ("id", "ticket_id", "field", "predicted", "correct", "reviewer", "created_at", "model_version",
           "subject", "body")


@dataclass(frozen=True)
class Feedback:
    id: int
    ticket_id: str
    field: str
    predicted: str | None
    correct: str
    reviewer: str
    created_at: str
    model_version: str | None = None
    subject: str | None = None
    body: str | None = None

    @property
    def accepted(self) -> bool:
        return self.predicted is not None and self.predicted.strip() == self.correct.strip()


class FeedbackStore:
    """Append-only feedback log; safe to share between threads of one process and between processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise DataError(f"cannot open the feedback store ({exc}); is it a triage feedback database?",
                            file=str(self.path)) from exc

    def add(self, record: Mapping[str, Any]) -> Feedback:
        """Store one event; returns it with its id once it is durable."""
        for name in ("ticket_id", "field", "correct", "reviewer"):
            if not str(record.get(name) or "").strip():
                raise DataError("required and must not be blank", field=name)
        row: dict[str, Any] = {"ticket_id": str(record["ticket_id"]).strip(), "field": str(record["field"]).strip(),
               "predicted": None if record.get("predicted") is None else str(record["predicted"]),
               "correct": str(record["correct"]).strip(), "reviewer": str(record["reviewer"]).strip(),
               "created_at": record.get("created_at") or datetime.now(UTC).isoformat(timespec="seconds"),
               "model_version": record.get("model_version"), "subject": record.get("subject"),
               "body": record.get("body")}
        with self._lock, self._db:
            cur = self._db.execute(
                f"INSERT INTO feedback ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * (len(COLUMNS) - 1))})",
                [row[c] for c in COLUMNS[1:]])
        return Feedback(id=int(cur.lastrowid or 0), **row)

    def __iter__(self) -> Iterator[Feedback]:
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id").fetchall()
        return iter(Feedback(*r) for r in rows)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def latest(self) -> dict[tuple[str, str], Feedback]:
        """The last word per (ticket, field): a later review overrides an earlier one."""
        return {(f.ticket_id, f.field): f for f in self}

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_feedback(path: str | Path, *, must_exist: bool = False) -> FeedbackStore:
    """Open a store; `must_exist` for readers (training, reports), so a typo is not an empty report."""
    if must_exist and not Path(path).is_file():
        raise DataError("no feedback store here; the service writes it at TRIAGE_FEEDBACK_DB "
                        "(POST /v1/feedback)", file=str(path))
    return FeedbackStore(path)
