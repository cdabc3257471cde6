"""The review loop over HTTP (contract §5, §7): store a review, list reviews, list what awaits review.

`store_review` is the one way a review is stored, used by `POST /v1/feedback` and by the console's
Confirm / Correct, so both store exactly the same record (and take it out of the queue the same way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from api._auth import requires
from api._errors import excerpt
from api.deps import FeedbackDep, FeedbackReaderDep, PredictionsDep, TriageDep
from api.schemas import FeedbackIn, FeedbackList, FeedbackOut, ReviewQueueOut
from triage import Triage
from triage._data import parse_datetime
from triage._review import closest, known_values, ticket_known
from triage.errors import DataError
from triage.feedback import FeedbackStore
from triage.predictions import PredictionStore, QueueFilter
from triage.results import TicketResult

router = APIRouter()
DATE_TIME = {"format": "date-time"}  # said in the schema, so clients (and the fuzzer) send a parseable time


def record_for_review(store: PredictionStore, tickets: Sequence[Mapping[str, Any]],
                      results: Sequence[TicketResult]) -> None:
    """Keep what was served for the review queue; tickets without an id cannot be reviewed, so are skipped."""
    keep = [i for i, t in enumerate(tickets) if str(t.get("id") or "").strip()]
    if not keep:
        return
    try:
        store.record([tickets[i] for i in keep], [results[i] for i in keep])
    except DataError as exc:
        raise HTTPException(503, f"the predictions could not be stored for review: {exc}") from exc


def store_review(item: FeedbackIn, store: FeedbackStore, predictions: PredictionStore,
                 triage: Triage) -> dict[str, Any]:
    """Check a review against the served model, store it durably, take it out of the queue; the 201 body."""
    field = item.field.removeprefix("labels.")
    if field not in triage.heads:
        # the heads are the served model's, so a schema cannot list them: an unknown one is "not found"
        raise HTTPException(404, f"field '{excerpt(item.field)}' is not predicted by model "
                                 f"{triage.model_version}; use one of {sorted(triage.heads)}")
    known = known_values(triage, field)
    is_new = known is not None and item.correct.strip() not in known
    if is_new and not item.new_label:
        raise HTTPException(422, [_unknown_value(triage, field, item.correct.strip(), known or [])])
    record = store.add({**item.model_dump(), "field": field, "new_label": is_new,
                        "ticket_known": ticket_known(triage, item.ticket_id.strip()),
                        "model_version": item.model_version or triage.model_version})
    predictions.mark_reviewed(record.ticket_id, field, record.reviewer)
    return {"id": record.id, "stored": True, "accepted": record.accepted, "field": field,
            "created_at": record.created_at, "ticket_known": bool(record.ticket_known),
            "new_label": record.new_label, "truncated": item.cut}


@router.post("/v1/feedback", dependencies=[requires("l3")],
             response_model=FeedbackOut, status_code=201, tags=["review"],
             summary="Confirm or correct a prediction (used by the next `triage train --feedback`)",
             responses={404: {"description": "The served model does not predict that field"},
                        422: {"description": "Invalid fields, or a `correct` value the model does not know "
                                             "(the answer lists the known ones; send `new_label: true` for a new "
                                             "one)"}})
def feedback(item: FeedbackIn, store: FeedbackDep, predictions: PredictionsDep, triage: TriageDep) -> dict[str, Any]:
    return store_review(item, store, predictions, triage)


def _unknown_value(triage: Triage, field: str, value: str, known: list[str]) -> dict[str, Any]:
    """A refused `correct`, as a validation error: what is wrong, what the model knows, what to do."""
    near = closest(value, known)
    hint = f" Did you mean {', '.join(repr(v) for v in near)}?" if near else ""
    return {"loc": ["body", "correct"], "type": "unknown_label", "excerpt": excerpt(value), "known": known,
            "closest": near,
            "msg": f"'{excerpt(value)}' is not a {field} value model {triage.model_version} knows "
                   f"({len(known)} known: see `known`).{hint} Fix the typo, or send \"new_label\": true if it "
                   f"is a new {field} (it is learned once enough tickets carry it)."}


def parse_since(value: str | None, name: str = "since") -> float | None:
    """An ISO-8601 query time as unix seconds; a 422 naming the parameter (never echoing it whole) else."""
    try:
        start = parse_datetime(value)
    except (ValueError, OverflowError) as exc:
        raise HTTPException(422, [{"loc": ["query", name], "type": "datetime_parsing", "excerpt": excerpt(value),
                                   "msg": "cannot parse the time; use ISO-8601 such as 2026-11-23T15:00:00Z"}]
                            ) from exc
    return None if start is None else start.timestamp()


@router.get("/v1/feedback", dependencies=[requires("l3", "analyst")],
            response_model=FeedbackList, tags=["review"], summary="Stored reviews, newest first")
def list_feedback(store: FeedbackReaderDep,
                  ticket_id: Annotated[str | None, Query(max_length=200)] = None,
                  field: Annotated[str | None, Query(max_length=200)] = None,
                  reviewer: Annotated[str | None, Query(max_length=200)] = None,
                  since: Annotated[str | None, Query(max_length=64, json_schema_extra=DATE_TIME,
                                                     description="ISO-8601 time; reviews stored at or after it.")
                                   ] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    start = parse_since(since)
    if store is None:
        return {"items": []}
    found = store.query(ticket_id=ticket_id, field=None if field is None else field.removeprefix("labels."),
                        reviewer=reviewer,
                        since=None if start is None else datetime.fromtimestamp(start, UTC).isoformat(
                            timespec="seconds"), limit=limit)
    return {"items": [f.public() for f in found]}


@router.get("/v1/review/queue", dependencies=[requires("l3", "analyst")],
            response_model=ReviewQueueOut, tags=["review"],
            summary="Predictions awaiting a person's review, least sure (abstained) first")
def review_queue(predictions: PredictionsDep,
                 field: Annotated[str, Query(max_length=200, description="module, owner or a label name.")
                                  ] = "module",
                 module: Annotated[str | None, Query(max_length=500, description="Only tickets whose module "
                                                     "(answer, else top candidate) is this one or below it.")
                                   ] = None,
                 owner: Annotated[str | None, Query(max_length=500)] = None,
                 since: Annotated[str | None, Query(max_length=64, json_schema_extra=DATE_TIME,
                                                    description="Tickets created at or after this ISO-8601 time.")
                                  ] = None,
                 until: Annotated[str | None, Query(max_length=64, json_schema_extra=DATE_TIME,
                                                    description="Tickets created before it.")] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
    which = QueueFilter(field=field.removeprefix("labels."), module=module or None, owner=owner or None,
                        since=parse_since(since), until=parse_since(until, "until"))
    return {"field": which.field, "pending": predictions.pending(which),
            "items": [p.as_dict() for p in predictions.queue(which, limit=limit)]}
