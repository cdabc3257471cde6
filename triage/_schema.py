"""Every table triage keeps, as SQLAlchemy Core metadata: one schema for SQLite and PostgreSQL (contract §8).

The stores write SQL that both dialects read alike (upserts with `ON CONFLICT`, `RETURNING`); this
module is what the migrations in `triage/_migrations/` build, and `tests/triage/test_db.py` checks
that a freshly migrated database matches it column for column. A change to a table is a new
migration revision plus the matching change here.

Who owns what: `tickets`, `meta`, `problems` and `incidents` are the ticket history (`_history.py`,
`_problems.py`, `_spike.py`); `feedback` the reviews; `predicted_tickets` and `predictions` the review
queue; `deliveries` and `helpdesk_tickets` the helpdesk integrations (in the SQLite files of releases
before this schema that table was called `tickets`; the first migration renames it).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

tickets = Table(
    "tickets", metadata,
    Column("id", Integer, primary_key=True),  # the vector id in the store; never reused
    Column("ticket_id", Text, nullable=False, unique=True),
    Column("created_at", Double, nullable=False),  # unix seconds, UTC
    Column("text_hash", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("embedding", LargeBinary, nullable=False),  # float32, unit length
    Column("source", Text, nullable=False),  # 'train' or 'classified'
    Column("module", Text), Column("answer", Text),
    Column("labels", Text), Column("predicted", Text),  # JSON objects: true and predicted labels
    Column("problem_id", Integer),
)
Index("tickets_created", tickets.c.created_at)

meta = Table("meta", metadata, Column("key", Text, primary_key=True), Column("value", Text, nullable=False))

problems = Table(
    "problems", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("title", Text, nullable=False), Column("size", Integer, nullable=False),
    Column("module", Text), Column("answer", Text),
    Column("first_seen", Double), Column("last_seen", Double),
    Column("centroid", LargeBinary, nullable=False),
)

incidents = Table(
    "incidents", metadata,
    Column("key", Text, primary_key=True), Column("anchor", LargeBinary, nullable=False),
    Column("problem_id", Integer), Column("title", Text, nullable=False), Column("module", Text),
    Column("started", Double, nullable=False), Column("last", Double, nullable=False),
    Column("tickets", Text, nullable=False), Column("last_update", Double, nullable=False),
    Column("closed", Double),
)

feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Text, nullable=False), Column("field", Text, nullable=False),
    Column("predicted", Text), Column("correct", Text, nullable=False),
    Column("reviewer", Text, nullable=False), Column("created_at", Text, nullable=False),
    Column("model_version", Text), Column("subject", Text), Column("body", Text),
    Column("ticket_known", Integer),
    Column("new_label", Integer, nullable=False, server_default=text("0")),
    Column("source", Text),
    sqlite_autoincrement=True,
)
Index("feedback_ticket", feedback.c.ticket_id, feedback.c.field)

predicted_tickets = Table(
    "predicted_tickets", metadata,
    Column("ticket_id", Text, primary_key=True),
    Column("created_at", Double, nullable=False), Column("served_at", Double, nullable=False),
    Column("model_version", Text, nullable=False), Column("subject", Text, nullable=False),
    Column("language", Text), Column("module", Text), Column("owner", Text), Column("agent", Text),
    Column("info_requested", Integer), Column("completeness", Text),
)
Index("predicted_tickets_created", predicted_tickets.c.created_at)

predictions = Table(
    "predictions", metadata,
    Column("ticket_id", Text, primary_key=True), Column("field", Text, primary_key=True),
    Column("value", Text), Column("confidence", Double, nullable=False),
    Column("abstained", Integer, nullable=False), Column("top", Text, nullable=False),
    Column("evidence", Text), Column("detail", Text),
    Column("reviewed_at", Double), Column("reviewer", Text),
)
Index("predictions_queue", predictions.c.field, predictions.c.reviewed_at, predictions.c.abstained,
      predictions.c.confidence)

deliveries = Table(
    "deliveries", metadata,
    Column("id", Integer, primary_key=True),
    Column("source", Text, nullable=False),  # zammad | jira | znuny
    Column("key", Text, nullable=False),  # the helpdesk's delivery id (X-Zammad-Delivery, ...)
    Column("event", Text), Column("payload", Text, nullable=False),
    Column("received_at", Double, nullable=False),
    Column("state", Text, nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("resumed", Integer, nullable=False, server_default=text("0")),
    Column("next_at", Double, nullable=False),
    Column("last_error", Text), Column("outcome", Text), Column("done_at", Double),
    UniqueConstraint("source", "key"),
    sqlite_autoincrement=True,
)
Index("deliveries_due", deliveries.c.state, deliveries.c.next_at)

helpdesk_tickets = Table(
    "helpdesk_tickets", metadata,
    Column("source", Text, primary_key=True), Column("ref", Text, primary_key=True),
    Column("advice_hash", Text), Column("suggested", Text), Column("written", Text), Column("seen", Text),
    Column("body", Text), Column("acknowledged", Integer, nullable=False, server_default=text("0")),
    Column("updated_at", Double, nullable=False),
)

# The order `triage db migrate` copies them in, and the tables whose integer ids come from a sequence.
COPY_ORDER = ("meta", "problems", "tickets", "incidents", "feedback", "predicted_tickets", "predictions",
              "deliveries", "helpdesk_tickets")
SERIAL = {"tickets": "id", "feedback": "id", "deliveries": "id"}
