"""Reviewer feedback: L3 confirms or corrects a prediction, the next training learns from it.

An embedded SQLite file by default, so there is no server to run, or the shared
`TRIAGE_DATABASE_URL` database, so every replica lists every review (`triage/_db.py`);
either way a record is committed (SQLite: WAL, `synchronous=FULL`, fsynced) before the API
answers, so an acknowledged review survives `kill -9` and power loss. Only what a person typed
(`correct`) ever becomes a training label; the model's own `predicted` value
is kept for the acceptance report, never learned from.

Nothing is overwritten: every review is a row. When reviewers disagree about
the same (ticket, field), `resolve` settles it with one documented rule (see
there), used alike by training and by `triage report feedback`.

The schema is migrated on open (`triage/_migrations/`): a store written by an
older release is upgraded in place, one that a newer release wrote is refused
rather than misread.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage._db import Database, describe
from triage.errors import DatabaseError, DataError

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
        self.path = path if "://" in str(path) else Path(path)  # a SQLite file, or a database URL
        try:
            self._db = Database(self.path)
        except DatabaseError as exc:
            raise DataError(f"cannot open the feedback store ({exc}); is it a triage feedback database?",
                            file=describe(self.path)) from exc

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
        stored = {**row, "ticket_known": None if known is None else int(bool(known)),
                  "new_label": int(row["new_label"])}  # integers on both databases
        new = self._db.execute(f"INSERT INTO feedback ({', '.join(COLUMNS[1:])}) VALUES "
                               f"({', '.join('?' * (len(COLUMNS) - 1))}) RETURNING id",
                               [stored[c] for c in COLUMNS[1:]])
        return Feedback(id=int(new.fetchone()[0]), **row)

    def __iter__(self) -> Iterator[Feedback]:
        rows = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id")
        return iter(_from_row(tuple(r)) for r in rows)

    def __len__(self) -> int:
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
        return [_from_row(tuple(r)) for r in self._db.execute(sql, [*params, limit])]

    def resolved(self) -> dict[tuple[str, str], Resolution]:
        """One settled answer per (ticket, field); see `resolve` for the rule."""
        return resolve(self)

    def close(self) -> None:
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
    if must_exist and "://" not in str(path) and not Path(path).is_file():
        raise DataError("no feedback store here; the service writes it at TRIAGE_FEEDBACK_DB "
                        "(POST /v1/feedback)", file=str(path))
    return FeedbackStore(path)
