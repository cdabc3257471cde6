"""Predictions awaiting a person: what the service answered for each ticket, kept until L3 reviews it.

The ticket history keeps only the answered values (`predicted`), which is what search and spikes need. A
reviewer needs more: how sure each head was, whether it abstained, the runner-up candidates and the
evidence. This store keeps that, one row per (ticket, field), written when the service classifies a
ticket and committed before the API replies (its own SQLite file with WAL + `synchronous=FULL`, or the
shared `TRIAGE_DATABASE_URL` database: an answered ticket's prediction survives kill -9). A prediction
leaves the review queue once a review of that ticket and field is stored (`mark_reviewed`, called where
`POST /v1/feedback` stores one); classifying the ticket again updates the prediction but does not bring
a reviewed one back.

Per ticket it also keeps what the console's escalation-quality page counts: the completeness score and
missing items, the escalating agent and `info_requested` when the helpdesk sends them.

All SQL of this store is in this module, so it can move behind another database in one place.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage._data import parse_datetime
from triage._db import Database, describe
from triage._history_store import iso
from triage.errors import DatabaseError, DataError
from triage.results import TicketResult, head_outputs

_UPSERT_TICKET = """
INSERT INTO predicted_tickets (ticket_id, created_at, served_at, model_version, subject, language, module, owner,
                               agent, info_requested, completeness)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(ticket_id) DO UPDATE SET
    created_at = excluded.created_at, served_at = excluded.served_at, model_version = excluded.model_version,
    subject = excluded.subject, language = excluded.language, module = excluded.module, owner = excluded.owner,
    agent = COALESCE(excluded.agent, predicted_tickets.agent),
    info_requested = COALESCE(excluded.info_requested, predicted_tickets.info_requested),
    completeness = excluded.completeness
"""
_UPSERT_PREDICTION = """
INSERT INTO predictions (ticket_id, field, value, confidence, abstained, top, evidence, detail)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(ticket_id, field) DO UPDATE SET
    value = excluded.value, confidence = excluded.confidence, abstained = excluded.abstained, top = excluded.top,
    evidence = excluded.evidence, detail = excluded.detail
"""
_QUEUE_COLUMNS = ("p.ticket_id", "p.field", "p.value", "p.confidence", "p.abstained", "p.top", "p.evidence",
                  "p.detail", "t.subject", "t.created_at", "t.served_at", "t.model_version", "t.module", "t.owner")


@dataclass(frozen=True)
class Pending:
    """One prediction awaiting review, with what the reviewer needs to judge it."""

    ticket_id: str
    field: str
    value: str | None
    confidence: float
    abstained: bool
    top: list[dict[str, Any]]
    evidence: dict[str, Any] | None
    detail: dict[str, Any]
    subject: str
    created_at: str
    served_at: str
    model_version: str
    module: str | None
    owner: str | None

    def as_dict(self) -> dict[str, Any]:
        """`GET /v1/review/queue` item."""
        return {"ticket_id": self.ticket_id, "field": self.field, "predicted": self.value,
                "confidence": self.confidence, "abstained": self.abstained, "top": self.top,
                "evidence": self.evidence, "owners": self.detail.get("owners"), "level": self.detail.get("level"),
                "note": self.detail.get("note"), "subject": self.subject, "created_at": self.created_at,
                "served_at": self.served_at, "model_version": self.model_version, "module": self.module,
                "owner": self.owner}


@dataclass(frozen=True)
class QueueFilter:
    """Which pending predictions to list: one field, optionally one module / owner (or below), a date range."""

    field: str = "module"
    module: str | None = None  # this module or any below it (`telephony` matches `telephony/pbx-gateway`)
    owner: str | None = None
    since: float | None = None  # ticket created at or after (unix seconds)
    until: float | None = None  # ticket created before

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = ["p.field = ?", "p.reviewed_at IS NULL"]
        params: list[Any] = [self.field]
        if self.module:
            clauses.append("(t.module = ? OR substr(t.module, 1, ?) = ?)")
            params += [self.module, len(self.module) + 1, self.module + "/"]
        if self.owner:
            clauses.append("t.owner = ?")
            params.append(self.owner)
        if self.since is not None:
            clauses.append("t.created_at >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("t.created_at < ?")
            params.append(self.until)
        return " AND ".join(clauses), params


def _guess(out: Mapping[str, Any] | None) -> str | None:
    """A head's answer, else its top candidate: what a filter by module or owner should find."""
    if out is None:
        return None
    if out.get("value") is not None:
        return str(out["value"])
    top = out.get("top") or []
    return str(top[0]["value"]) if top else None


def _epoch(value: Any, default: float) -> float:
    try:
        parsed = parse_datetime(value) if value else None
    except (ValueError, OverflowError):
        parsed = None
    return default if parsed is None else parsed.timestamp()


def _flag(value: Any) -> int | None:
    """`info_requested` as a helpdesk may send it (true, "1", "yes", "false"...); None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool | int):
        return int(bool(value))
    return int(str(value).strip().lower() in ("1", "true", "yes", "y", "да"))


class PredictionStore:
    """The service's served predictions and their review state; safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = path if "://" in str(path) else Path(path)  # a SQLite file, or a database URL
        try:
            self._db = Database(self.path)
        except DatabaseError as exc:
            raise DataError(f"cannot open the prediction store ({exc}); is it a triage predictions database?",
                            file=describe(self.path)) from exc

    # --- writing -------------------------------------------------------------------------------
    def record(self, tickets: Sequence[Mapping[str, Any]], results: Sequence[TicketResult],
               now: float | None = None) -> None:
        """Store each ticket's head outputs (one transaction, durable on return), in input order."""
        now = time.time() if now is None else now
        ticket_rows, rows = [], []
        for ticket, result in zip(tickets, results, strict=True):
            tid = result["ticket_id"]
            heads = head_outputs(result)
            comp = result.get("completeness")
            ticket_rows.append((
                tid, _epoch(ticket.get("created_at"), now), now, result["model_version"],
                str(ticket.get("subject") or "").strip()[:300] or str(ticket.get("body") or "").strip()[:120],
                result.get("language"), _guess(heads.get("module")), _guess(heads.get("owner")),
                str(ticket["agent"])[:200] if ticket.get("agent") else None, _flag(ticket.get("info_requested")),
                None if comp is None else json.dumps({"score": comp["score"], "ready_for_l3": comp["ready_for_l3"],
                                                      "missing": comp["missing"]})))
            for field, out in heads.items():
                extra = {k: v for k, v in out.items() if k in ("owners", "level", "note")}
                evidence = out.get("evidence")
                rows.append((tid, field, out["value"], float(out["confidence"]), int(bool(out["abstained"])),
                             json.dumps(out["top"], ensure_ascii=False),
                             None if evidence is None else json.dumps(evidence, ensure_ascii=False),
                             json.dumps(extra, ensure_ascii=False)))
        with self._db.transaction():
            self._db.executemany(_UPSERT_TICKET, ticket_rows)
            self._db.executemany(_UPSERT_PREDICTION, rows)

    def mark_reviewed(self, ticket_id: str, field: str, reviewer: str, now: float | None = None) -> bool:
        """A review of (ticket, field) is stored: it leaves the queue. False when it was not in the store."""
        cur = self._db.execute("UPDATE predictions SET reviewed_at = ?, reviewer = ? WHERE ticket_id = ? AND "
                               "field = ? AND reviewed_at IS NULL",
                               (time.time() if now is None else now, reviewer, ticket_id, field))
        return cur.rowcount > 0

    def mark_all_reviewed(self, reviews: Iterable[tuple[str, str, str]]) -> int:
        """(ticket_id, field, reviewer) of reviews stored elsewhere (a feedback store older than this one)."""
        now = time.time()
        changed = self._db.executemany("UPDATE predictions SET reviewed_at = ?, reviewer = ? WHERE ticket_id = ? "
                                       "AND field = ? AND reviewed_at IS NULL",
                                       [(now, reviewer, tid, field) for tid, field, reviewer in reviews])
        return max(changed, 0)

    # --- reading -------------------------------------------------------------------------------
    def queue(self, which: QueueFilter, limit: int = 50, offset: int = 0) -> list[Pending]:
        """Pending predictions, least sure first: abstentions, then by rising confidence, then oldest."""
        where, params = which.where()
        sql = (f"SELECT {', '.join(_QUEUE_COLUMNS)} FROM predictions p JOIN predicted_tickets t USING (ticket_id) "
               f"WHERE {where} ORDER BY p.abstained DESC, p.confidence ASC, t.created_at ASC, p.ticket_id "
               "LIMIT ? OFFSET ?")
        found = self._db.execute(sql, [*params, limit, offset])
        return [Pending(tid, field, value, float(conf), bool(abst), json.loads(top),
                        json.loads(evidence) if evidence else None, json.loads(detail) if detail else {},
                        subject, iso(created), iso(served), version, module, owner)
                for tid, field, value, conf, abst, top, evidence, detail, subject, created, served, version, module,
                owner in found]

    def pending(self, which: QueueFilter) -> int:
        where, params = which.where()
        row = self._db.execute(f"SELECT COUNT(*) FROM predictions p JOIN predicted_tickets t USING (ticket_id) "
                               f"WHERE {where}", params).fetchone()
        return int(row[0])

    def pending_by_field(self) -> dict[str, int]:
        rows = self._db.execute("SELECT field, COUNT(*) FROM predictions WHERE reviewed_at IS NULL "
                                "GROUP BY field ORDER BY field")
        return {str(f): int(n) for f, n in rows}

    def choices(self, column: str) -> list[str]:
        """Distinct best-guess modules or owners of tickets with something pending, for the filter pickers."""
        if column not in ("module", "owner"):
            raise ValueError(column)
        rows = self._db.execute(f"SELECT DISTINCT t.{column} FROM predicted_tickets t JOIN predictions p "
                                f"USING (ticket_id) WHERE p.reviewed_at IS NULL AND t.{column} IS NOT NULL ORDER BY 1")
        return [str(r[0]) for r in rows]

    def escalations(self, since: float | None = None) -> list[dict[str, Any]]:
        """Every scored ticket (created at or after `since`): the rows escalation quality is computed from."""
        sql = ("SELECT ticket_id, created_at, module, owner, agent, info_requested, completeness "
               "FROM predicted_tickets WHERE completeness IS NOT NULL")
        params: list[Any] = []
        if since is not None:
            sql, params = sql + " AND created_at >= ?", [since]
        found = self._db.execute(sql + " ORDER BY created_at", params)
        out = []
        for tid, created, module, owner, agent, info, comp in found:
            c = json.loads(comp)
            out.append({"id": tid, "created_at": iso(created), "module": module, "owner": owner, "agent": agent,
                        "info_requested": None if info is None else bool(info), "score": c["score"],
                        "ready_for_l3": c["ready_for_l3"], "missing": list(c["missing"])})
        return out

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM predicted_tickets").fetchone()[0])

    def close(self) -> None:
        self._db.close()


def open_predictions(path: str | Path) -> PredictionStore:
    return PredictionStore(path)
