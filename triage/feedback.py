"""Reviewer feedback: L3 confirms or corrects a prediction, the next training learns from it.

An embedded SQLite file, so there is no server to run; WAL with
`synchronous=FULL` makes every acknowledged write survive `kill -9` and power
loss (a record is fsynced before the API answers). Only what a person typed
(`correct`) ever becomes a training label; the model's own `predicted` value
is kept for the acceptance report, never learned from.

Nothing is overwritten: every review is a row. When reviewers disagree about
the same (ticket, field), `resolve` settles it with one documented rule (see
there), used alike by training and by `triage report feedback`.

The schema carries a version (`PRAGMA user_version`); opening a store written
by an older release upgrades it in place, one that a newer release wrote is
refused rather than misread.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage.errors import DataError

# 0: the first store (no version set): no ticket_known, no new_label.
# 1: ticket_known (1/0; NULL for reviews stored before it was checked) and new_label (1/0).
# 2: source: where the review came from (NULL: the API; 'zammad', 'jira', 'znuny': a person's change in the
#    helpdesk, learned from its webhook; 'console': the review queue).
SCHEMA_VERSION = 2
_TABLE = """
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
    body TEXT,
    ticket_known INTEGER,
    new_label INTEGER NOT NULL DEFAULT 0,
    source TEXT
)"""
_UPGRADES = {  # from version N to N + 1
    0: ["ALTER TABLE feedback ADD COLUMN ticket_known INTEGER",
        "ALTER TABLE feedback ADD COLUMN new_label INTEGER NOT NULL DEFAULT 0"],
    1: ["ALTER TABLE feedback ADD COLUMN source TEXT"],
}
_INDEXES = ["CREATE INDEX IF NOT EXISTS feedback_ticket ON feedback (ticket_id, field)"]
COLUMNS = ("id", "ticket_id", "field", "predicted", "correct", "reviewer", "created_at", "model_version",
           "subject", "body", "ticket_known", "new_label", "source")


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
    ticket_known: bool | None = None  # None: stored before the service checked (schema 0)
    new_label: bool = False  # the reviewer said `correct` is a value the model has not seen yet
    source: str | None = None  # None: the API; a helpdesk name: learned from a person's change there

    @property
    def accepted(self) -> bool:
        return self.predicted is not None and self.predicted.strip() == self.correct.strip()

    def public(self) -> dict[str, Any]:
        """What `GET /v1/feedback` shows: the review, not the ticket text it may carry for training."""
        return {"id": self.id, "ticket_id": self.ticket_id, "field": self.field, "predicted": self.predicted,
                "correct": self.correct, "reviewer": self.reviewer, "created_at": self.created_at,
                "model_version": self.model_version, "accepted": self.accepted,
                "ticket_known": self.ticket_known, "new_label": self.new_label,
                "has_text": bool(self.subject or self.body), "source": self.source or "api"}


def _from_row(row: tuple[Any, ...]) -> Feedback:
    values = dict(zip(COLUMNS, row, strict=True))
    known = values.pop("ticket_known")
    values["ticket_known"] = None if known is None else bool(known)
    values["new_label"] = bool(values["new_label"])
    return Feedback(**values)


class FeedbackStore:
    """Append-only feedback log; safe to share between threads of one process and between processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
        except sqlite3.DatabaseError as exc:
            raise DataError(f"cannot open the feedback store ({exc})", file=str(self.path)) from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._upgrade()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise DataError(f"cannot open the feedback store ({exc}); is it a triage feedback database?",
                            file=str(self.path)) from exc
        except DataError:
            self._db.close()
            raise

    def _upgrade(self) -> None:
        """Create the table, or bring an older store to SCHEMA_VERSION in place (one transaction)."""
        self._db.execute("BEGIN IMMEDIATE")  # two processes opening an old store: one upgrades, one waits
        try:
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise DataError(f"feedback store schema {version} was written by a newer triage (this one reads "
                                f"up to {SCHEMA_VERSION}); upgrade triage", file=str(self.path))
            exists = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feedback'")
            if exists.fetchone() is None:
                self._db.execute(_TABLE)
            else:
                for step in range(version, SCHEMA_VERSION):
                    for sql in _UPGRADES[step]:
                        self._db.execute(sql)
            for sql in _INDEXES:
                self._db.execute(sql)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.commit()
        except BaseException:
            self._db.rollback()
            raise

    def add(self, record: Mapping[str, Any]) -> Feedback:
        """Store one event; returns it with its id once it is durable."""
        for name in ("ticket_id", "field", "correct", "reviewer"):
            if not str(record.get(name) or "").strip():
                raise DataError("required and must not be blank", field=name)
        known = record.get("ticket_known")
        row: dict[str, Any] = {"ticket_id": str(record["ticket_id"]).strip(), "field": str(record["field"]).strip(),
               "predicted": None if record.get("predicted") is None else str(record["predicted"]),
               "correct": str(record["correct"]).strip(), "reviewer": str(record["reviewer"]).strip(),
               "created_at": record.get("created_at") or datetime.now(UTC).isoformat(timespec="seconds"),
               "model_version": record.get("model_version"), "subject": record.get("subject"),
               "body": record.get("body"), "ticket_known": None if known is None else bool(known),
               "new_label": bool(record.get("new_label")), "source": record.get("source")}
        with self._lock, self._db:
            cur = self._db.execute(
                f"INSERT INTO feedback ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * (len(COLUMNS) - 1))})",
                [row[c] for c in COLUMNS[1:]])
        return Feedback(id=int(cur.lastrowid or 0), **row)

    def __iter__(self) -> Iterator[Feedback]:
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id").fetchall()
        return iter(_from_row(r) for r in rows)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def query(self, *, ticket_id: str | None = None, field: str | None = None, reviewer: str | None = None,
              since: str | None = None, limit: int = 100) -> list[Feedback]:
        """Stored reviews, newest first; `since` is an ISO-8601 UTC time compared with `created_at`."""
        where, params = [], []
        for column, value in (("ticket_id", ticket_id), ("field", field), ("reviewer", reviewer)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("created_at >= ?")
            params.append(since)
        sql = (f"SELECT {', '.join(COLUMNS)} FROM feedback {'WHERE ' + ' AND '.join(where) if where else ''} "
               "ORDER BY id DESC LIMIT ?")
        with self._lock:
            rows = self._db.execute(sql, [*params, limit]).fetchall()
        return [_from_row(r) for r in rows]

    def resolved(self) -> dict[tuple[str, str], Resolution]:
        """One settled answer per (ticket, field); see `resolve` for the rule."""
        return resolve(self)

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass(frozen=True)
class Resolution:
    """The settled answer for one (ticket, field), and the votes it was settled from."""

    review: Feedback  # the most recent review voting for the winning value
    votes: dict[str, list[str]]  # value -> the reviewers whose latest vote it is
    rule: str  # "single", "unanimous", "majority" or "tie: most recent"

    @property
    def correct(self) -> str:
        return self.review.correct

    @property
    def conflict(self) -> bool:
        return len(self.votes) > 1


def resolve(reviews: Iterable[Feedback]) -> dict[tuple[str, str], Resolution]:
    """Settle every (ticket, field) by the rule training and the report share.

    The rule: each reviewer has one vote, their latest review of that ticket and field (a reviewer
    who changes their mind replaces their own vote, never another's). The value with the most votes
    wins; a tie goes to the value voted most recently (stored last). Reviewer names are compared
    case-insensitively. Nothing is deleted: the losing votes stay in the store and in the report.
    """
    ballots: dict[tuple[str, str], dict[str, Feedback]] = {}
    for f in sorted(reviews, key=lambda r: r.id):
        ballots.setdefault((f.ticket_id, f.field), {})[f.reviewer.casefold()] = f
    out: dict[tuple[str, str], Resolution] = {}
    for key, ballot in ballots.items():
        counts = Counter(f.correct for f in ballot.values())
        newest: dict[str, Feedback] = {}
        for f in ballot.values():
            if f.correct not in newest or f.id > newest[f.correct].id:
                newest[f.correct] = f
        best = max(counts, key=lambda v: (counts[v], newest[v].id))
        tied = sum(1 for n in counts.values() if n == counts[best])
        rule = ("single" if len(ballot) == 1 else "unanimous" if len(counts) == 1
                else "majority" if tied == 1 else "tie: most recent")
        votes = {value: sorted(f.reviewer for f in ballot.values() if f.correct == value)
                 for value in sorted(counts, key=lambda v: (-counts[v], -newest[v].id))}
        out[key] = Resolution(review=newest[best], votes=votes, rule=rule)
    return out


def open_feedback(path: str | Path, *, must_exist: bool = False) -> FeedbackStore:
    """Open a store; `must_exist` for readers (training, reports), so a typo is not an empty report."""
    if must_exist and not Path(path).is_file():
        raise DataError("no feedback store here; the service writes it at TRIAGE_FEEDBACK_DB "
                        "(POST /v1/feedback)", file=str(path))
    return FeedbackStore(path)
