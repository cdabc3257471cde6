"""Baseline: every store's tables in one schema; takes in the SQLite files of earlier releases as they are.

Earlier releases kept each store in its own SQLite file, created with `CREATE TABLE IF NOT EXISTS`
and versioned by `PRAGMA user_version`. On such a file this revision only adds what is missing: the
columns later releases added in place (feedback's `ticket_known`, `new_label`, `source`; incidents'
`closed`), the deliveries' per-ticket memory renamed from `tickets` to `helpdesk_tickets` (the ticket
history owns `tickets` now that every store can share one database), and the other stores' tables.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

T, F, N, B = sa.Text, sa.Double, sa.Integer, sa.LargeBinary
TABLES: dict[str, Callable[[], list[Any]]] = {
    "tickets": lambda: [sa.Column("id", N, primary_key=True), sa.Column("ticket_id", T, nullable=False, unique=True),
                        sa.Column("created_at", F, nullable=False), sa.Column("text_hash", T, nullable=False),
                        sa.Column("subject", T, nullable=False), sa.Column("text", T, nullable=False),
                        sa.Column("embedding", B, nullable=False), sa.Column("source", T, nullable=False),
                        sa.Column("module", T), sa.Column("answer", T), sa.Column("labels", T),
                        sa.Column("predicted", T), sa.Column("problem_id", N)],
    "meta": lambda: [sa.Column("key", T, primary_key=True), sa.Column("value", T, nullable=False)],
    "problems": lambda: [sa.Column("id", N, primary_key=True, autoincrement=False),
                         sa.Column("title", T, nullable=False), sa.Column("size", N, nullable=False),
                         sa.Column("module", T), sa.Column("answer", T), sa.Column("first_seen", F),
                         sa.Column("last_seen", F), sa.Column("centroid", B, nullable=False)],
    "incidents": lambda: [sa.Column("key", T, primary_key=True), sa.Column("anchor", B, nullable=False),
                          sa.Column("problem_id", N), sa.Column("title", T, nullable=False), sa.Column("module", T),
                          sa.Column("started", F, nullable=False), sa.Column("last", F, nullable=False),
                          sa.Column("tickets", T, nullable=False), sa.Column("last_update", F, nullable=False),
                          sa.Column("closed", F)],
    "feedback": lambda: [sa.Column("id", N, primary_key=True), sa.Column("ticket_id", T, nullable=False),
                         sa.Column("field", T, nullable=False), sa.Column("predicted", T),
                         sa.Column("correct", T, nullable=False), sa.Column("reviewer", T, nullable=False),
                         sa.Column("created_at", T, nullable=False), sa.Column("model_version", T),
                         sa.Column("subject", T), sa.Column("body", T), sa.Column("ticket_known", N),
                         sa.Column("new_label", N, nullable=False, server_default=sa.text("0")),
                         sa.Column("source", T)],
    "predicted_tickets": lambda: [sa.Column("ticket_id", T, primary_key=True),
                                  sa.Column("created_at", F, nullable=False), sa.Column("served_at", F, nullable=False),
                                  sa.Column("model_version", T, nullable=False),
                                  sa.Column("subject", T, nullable=False), sa.Column("language", T),
                                  sa.Column("module", T), sa.Column("owner", T), sa.Column("agent", T),
                                  sa.Column("info_requested", N), sa.Column("completeness", T)],
    "predictions": lambda: [sa.Column("ticket_id", T, primary_key=True), sa.Column("field", T, primary_key=True),
                            sa.Column("value", T), sa.Column("confidence", F, nullable=False),
                            sa.Column("abstained", N, nullable=False), sa.Column("top", T, nullable=False),
                            sa.Column("evidence", T), sa.Column("detail", T), sa.Column("reviewed_at", F),
                            sa.Column("reviewer", T)],
    "deliveries": lambda: [sa.Column("id", N, primary_key=True), sa.Column("source", T, nullable=False),
                           sa.Column("key", T, nullable=False), sa.Column("event", T),
                           sa.Column("payload", T, nullable=False), sa.Column("received_at", F, nullable=False),
                           sa.Column("state", T, nullable=False, server_default=sa.text("'pending'")),
                           sa.Column("attempts", N, nullable=False, server_default=sa.text("0")),
                           sa.Column("resumed", N, nullable=False, server_default=sa.text("0")),
                           sa.Column("next_at", F, nullable=False), sa.Column("last_error", T),
                           sa.Column("outcome", T), sa.Column("done_at", F), sa.UniqueConstraint("source", "key")],
    "helpdesk_tickets": lambda: [sa.Column("source", T, primary_key=True), sa.Column("ref", T, primary_key=True),
                                 sa.Column("advice_hash", T), sa.Column("suggested", T), sa.Column("written", T),
                                 sa.Column("seen", T), sa.Column("body", T),
                                 sa.Column("acknowledged", N, nullable=False, server_default=sa.text("0")),
                                 sa.Column("updated_at", F, nullable=False)],
}
AUTOINCREMENT = {"feedback", "deliveries"}  # as the earlier files had them: ids never reused after a delete
INDEXES: list[tuple[str, str, list[str]]] = [
           ("tickets_created", "tickets", ["created_at"]), ("feedback_ticket", "feedback", ["ticket_id", "field"]),
           ("predicted_tickets_created", "predicted_tickets", ["created_at"]),
           ("predictions_queue", "predictions", ["field", "reviewed_at", "abstained", "confidence"]),
           ("deliveries_due", "deliveries", ["state", "next_at"])]
ADDED_LATER: dict[str, list[sa.Column[Any]]] = {"feedback": [sa.Column("ticket_known", N),
                            sa.Column("new_label", N, nullable=False, server_default=sa.text("0")),
                            sa.Column("source", T)],
               "incidents": [sa.Column("closed", F)]}


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    found = set(inspector.get_table_names())
    if "tickets" in found and "ref" in {c["name"] for c in inspector.get_columns("tickets")}:
        op.rename_table("tickets", "helpdesk_tickets")  # a deliveries file of an earlier release
        found = (found - {"tickets"}) | {"helpdesk_tickets"}
    for name, columns in TABLES.items():
        if name not in found:
            kwargs = {"sqlite_autoincrement": True} if name in AUTOINCREMENT else {}
            op.create_table(name, *columns(), **kwargs)
        else:
            have = {c["name"] for c in sa.inspect(bind).get_columns(name)}
            for column in ADDED_LATER.get(name, []):
                if column.name not in have:
                    op.add_column(name, column)
    for index, table, names in INDEXES:
        if index not in {i["name"] for i in sa.inspect(bind).get_indexes(table)}:
            op.create_index(index, table, names)
