"""Thin routes: validate, call `Triage`, return. No logic lives here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Response

from api._auth import requires
from api._errors import excerpt
from api.deps import FeedbackDep, FeedbackReaderDep, StateDep, TriageDep
from api.schemas import (
    EscalationOut,
    FeedbackIn,
    FeedbackList,
    FeedbackOut,
    Health,
    KBSearchIn,
    KBSearchOut,
    ModelInfo,
    ProblemsOut,
    TicketIn,
    TriageResult,
)
from triage import Triage
from triage._data import parse_datetime
from triage._review import closest, known_values, ticket_known
from triage.results import EscalationResult, TicketResult

router = APIRouter()


def _classify(state: StateDep, triage: TriageDep, tickets: list[TicketIn]) -> list[TicketResult]:
    records = [t.model_dump() for t in tickets]
    with state.lock:
        results = triage.classify(records, batch_size=state.settings.batch_size)
    for ticket, result in zip(tickets, results, strict=True):
        result["truncated"] = bool(result.get("truncated")) or ticket.cut  # cut at the schema's limit
    state.metrics.observe_results(results)
    return results


@router.post("/v1/classify", dependencies=[requires("helpdesk", "agent")],
             response_model=TriageResult, response_model_exclude_unset=True,
             summary="Triage one ticket", tags=["triage"])
def classify(ticket: TicketIn, state: StateDep, triage: TriageDep) -> TicketResult:
    return _classify(state, triage, [ticket])[0]


@router.post("/v1/classify/batch", dependencies=[requires("helpdesk", "agent")],
             response_model=list[TriageResult], response_model_exclude_unset=True,
             summary="Triage a list of tickets", tags=["triage"])
def classify_batch(tickets: Annotated[list[TicketIn], Body()], state: StateDep,
                   triage: TriageDep) -> list[TicketResult]:
    if len(tickets) > state.settings.max_batch:
        raise HTTPException(413, f"{len(tickets)} tickets in one batch; the limit is {state.settings.max_batch} "
                                 "(TRIAGE_MAX_BATCH). Send several smaller batches.")
    return _classify(state, triage, tickets)


@router.post("/v1/escalations/score", dependencies=[requires("agent")],
             response_model=EscalationOut, tags=["triage"],
             summary="Is the escalation complete enough for L3?",
             responses={404: {"description": "The bundle has no completeness scorer"}})
def escalation_score(ticket: TicketIn, state: StateDep, triage: TriageDep,
                     threshold: Annotated[float | None, Query(ge=0, le=1, description="Override the ready "
                                                              "threshold for this call.")] = None,
                     ) -> EscalationResult:
    with state.lock:  # a bundle without a completeness scorer: BundleError, a 404 (api/_errors.py)
        return {**triage.score_escalation(ticket.model_dump(), threshold=threshold), "truncated": ticket.cut}


@router.post("/v1/kb/search", dependencies=[requires("agent")],
             response_model=KBSearchOut, summary="Search the knowledge base", tags=["kb"],
             responses={404: {"description": "No KB index is loaded"}})
def kb_search(request: KBSearchIn, state: StateDep, triage: TriageDep) -> dict[str, Any]:
    if triage.kb is None:
        raise HTTPException(404, "no knowledge-base index is loaded: build one with `triage kb build` and start "
                                 "the service with `triage serve --kb DIR` (or TRIAGE_KB_DIR)")
    with state.lock:
        return {"hits": triage.search_kb(request.query, k=request.k, sources=request.sources),
                "truncated": request.cut}


@router.post("/v1/feedback", dependencies=[requires("l3")],
             response_model=FeedbackOut, status_code=201, tags=["review"],
             summary="Confirm or correct a prediction (used by the next `triage train --feedback`)",
             responses={404: {"description": "The served model does not predict that field"},
                        422: {"description": "Invalid fields, or a `correct` value the model does not know "
                                             "(the answer lists the known ones; send `new_label: true` for a new "
                                             "one)"}})
def feedback(item: FeedbackIn, store: FeedbackDep, triage: TriageDep) -> dict[str, Any]:
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
    return {"id": record.id, "stored": True, "accepted": record.accepted, "field": field,
            "created_at": record.created_at, "ticket_known": bool(record.ticket_known),
            "new_label": record.new_label, "truncated": item.cut}


def _unknown_value(triage: Triage, field: str, value: str, known: list[str]) -> dict[str, Any]:
    """A refused `correct`, as a validation error: what is wrong, what the model knows, what to do."""
    near = closest(value, known)
    hint = f" Did you mean {', '.join(repr(v) for v in near)}?" if near else ""
    return {"loc": ["body", "correct"], "type": "unknown_label", "excerpt": excerpt(value), "known": known,
            "closest": near,
            "msg": f"'{excerpt(value)}' is not a {field} value model {triage.model_version} knows "
                   f"({len(known)} known: see `known`).{hint} Fix the typo, or send \"new_label\": true if it "
                   f"is a new {field} (it is learned once enough tickets carry it)."}


@router.get("/v1/feedback", dependencies=[requires("l3", "analyst")],
            response_model=FeedbackList, tags=["review"], summary="Stored reviews, newest first")
def list_feedback(store: FeedbackReaderDep,
                  ticket_id: Annotated[str | None, Query(max_length=200)] = None,
                  field: Annotated[str | None, Query(max_length=200)] = None,
                  reviewer: Annotated[str | None, Query(max_length=200)] = None,
                  since: Annotated[str | None, Query(max_length=64, description="ISO-8601 time; reviews "
                                                   "stored at or after it.")] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    try:
        start = parse_datetime(since)
    except (ValueError, OverflowError) as exc:
        raise HTTPException(422, [{"loc": ["query", "since"], "type": "datetime_parsing", "excerpt": excerpt(since),
                                   "msg": "cannot parse the time; use ISO-8601 such as 2026-11-23T15:00:00Z"}]
                            ) from exc
    if store is None:
        return {"items": []}
    found = store.query(ticket_id=ticket_id, field=None if field is None else field.removeprefix("labels."),
                        reviewer=reviewer, since=None if start is None else start.isoformat(timespec="seconds"),
                        limit=limit)
    return {"items": [f.public() for f in found]}


@router.get("/v1/problems", dependencies=[requires("agent", "analyst")],
            response_model=ProblemsOut, tags=["recurring"],
            summary="Known problems, most active first", responses={404: {"description": "No ticket history"}})
def problems(state: StateDep, triage: TriageDep) -> dict[str, Any]:
    if triage.recurring is None:
        raise HTTPException(404, "this model has no ticket history: retrain it with `triage train` "
                                 "(bundles from before the recurrence feature lack one)")
    with state.lock:
        return {"problems": triage.recurring.problem_listing()}


@router.get("/v1/model", dependencies=[requires("analyst")],
            response_model=ModelInfo, summary="Model version, training data and metrics",
            tags=["model"])
def model_info(triage: TriageDep) -> dict[str, Any]:
    m = triage.manifest
    kb = triage.kb
    return {"model_version": m["model_version"], "created_at": m.get("created_at"), "embedder": m["embedder"],
            "heads": m["heads"], "data": m["data"], "metrics": m["metrics"], "mlflow": m.get("mlflow"),
            "registry": triage.registry,
            "kb": None if kb is None else {"path": str(kb.root), "version": kb.version,
                                           **{k: kb.manifest[k] for k in ("created_at", "counts", "backend")}}}


@router.get("/healthz", response_model=Health, response_model_exclude_none=True, tags=["ops"],
            summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=Health, tags=["ops"], summary="The model is loaded and serving",
            responses={503: {"model": Health}})
def readyz(state: StateDep, response: Response) -> dict[str, Any]:
    if state.triage is None:
        response.status_code = 503
        return {"status": "loading"}
    return {"status": "ready", "model_version": state.triage.model_version}
