"""The stored side of the ticket history: the record it stores, dates, the durable connection.

The tables are in `triage/_schema.py` (`tickets`, `meta`), in the store's own SQLite file or the shared
`TRIAGE_DATABASE_URL` database. Kept apart from `triage/_history.py` (the in-memory indexes and search)
so the stored format can be read by itself: training writes it, the service appends to it, and both
agree through this module.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triage._data import parse_datetime
from triage._db import Database, describe
from triage.errors import DatabaseError, HistoryError

UPSERT = """
INSERT INTO tickets (ticket_id, created_at, text_hash, subject, text, embedding, source, module, answer,
                     labels, predicted, problem_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(ticket_id) DO UPDATE SET
    created_at = excluded.created_at, text_hash = excluded.text_hash, subject = excluded.subject,
    text = excluded.text, embedding = excluded.embedding,
    source = CASE WHEN tickets.source = 'train' THEN 'train' ELSE excluded.source END,
    module = COALESCE(excluded.module, tickets.module), answer = COALESCE(excluded.answer, tickets.answer),
    labels = COALESCE(excluded.labels, tickets.labels), predicted = COALESCE(excluded.predicted, tickets.predicted),
    problem_id = COALESCE(excluded.problem_id, tickets.problem_id)
RETURNING id
"""
SET_META = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"


def to_epoch(value: Any) -> float | None:
    """ISO strings, datetimes and pandas timestamps as unix seconds; None when absent (NaT included)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if not value.strip():
            return None
        value = parse_datetime(value)  # ISO-8601 or a common export format, as training reads it; ValueError else
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    raise HistoryError(f"created_at must be a date, got {value!r}")


def order_times(values: Sequence[Any], step: float = 1e-3) -> list[float | None]:
    """Ordering times for tickets in input order, so undated tickets keep their place (contract §3).

    An undated ticket is placed just after the nearest dated ticket above it (a ticket listed after
    another was opened after it, as exports list them); undated tickets at the top go just before the
    first dated one. `step` seconds apart keeps their input order without crossing a real neighbour
    closer than that. With no date at all every entry stays None: the caller decides (arrival time in
    the service, row number in training).
    """
    given = [to_epoch(v) for v in values]
    dated = [i for i, t in enumerate(given) if t is not None]
    if not dated:
        return given
    out: list[float | None] = list(given)
    first = dated[0]
    for i in range(first):
        out[i] = float(given[first]) - step * (first - i)  # type: ignore[arg-type]
    last, gap = float(given[first]), 0  # type: ignore[arg-type]
    for i in range(first, len(given)):
        t = given[i]
        if t is None:
            gap += 1
            out[i] = last + step * gap
        else:
            last, gap = t, 0
    return out


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class HistoryRecord:
    """One ticket as the history keeps it."""

    ticket_id: str
    created_at: float
    subject: str
    text: str
    embedding: np.ndarray
    source: str = "classified"
    module: str | None = None
    answer: str | None = None
    labels: dict[str, Any] | None = None
    predicted: dict[str, Any] | None = None
    problem_id: int | None = None


@dataclass
class Match:
    """An earlier ticket found for a query: its row id, fused score and plain cosine."""

    row: int
    score: float
    cosine: float
    info: dict[str, Any] = field(default_factory=dict)


def connect(target: str | Path) -> Database:
    """Open (or create) a history: a SQLite file or a database URL; refuses one a newer triage wrote."""
    try:
        return Database(target)
    except DatabaseError as exc:
        raise HistoryError(f"cannot open the ticket history {describe(target)}: {exc}. Check TRIAGE_HISTORY_DB or "
                           "TRIAGE_DATABASE_URL points at a writable database") from exc


def record_params(r: HistoryRecord) -> tuple[Any, ...]:
    vec = np.asarray(r.embedding, np.float32).reshape(-1)
    return (str(r.ticket_id), float(r.created_at), text_hash(r.text), r.subject or "", r.text, vec.tobytes(),
            r.source, r.module or None, r.answer or None,
            json.dumps(r.labels, ensure_ascii=False) if r.labels else None,
            json.dumps(r.predicted, ensure_ascii=False) if r.predicted else None, r.problem_id)


def read_ticket(db: Database, ticket_id: str) -> dict[str, Any] | None:
    """One stored ticket's text and what is known of it, for showing it again (the console's ticket view)."""
    row = db.execute("SELECT ticket_id, created_at, subject, text, source, module, answer, labels, predicted "
                     "FROM tickets WHERE ticket_id = ?", (ticket_id,)).fetchone()
    if row is None:
        return None
    tid, created, subject, text, source, module, answer, labels, predicted = row
    return {"ticket_id": tid, "created_at": iso(created), "subject": subject, "text": text, "source": source,
            "module": module, "answer": answer, "labels": json.loads(labels) if labels else {},
            "predicted": json.loads(predicted) if predicted else {}}


def recent_tickets(db: Database, since: float, limit: int) -> list[tuple[int, str, str]]:
    """(row id, ticket id, text) of the newest classified tickets created at or after `since`."""
    return [(int(r), str(t), str(x)) for r, t, x in db.execute(
        "SELECT id, ticket_id, text FROM tickets WHERE source = 'classified' AND created_at >= ? "
        "ORDER BY created_at DESC LIMIT ?", (since, limit))]
