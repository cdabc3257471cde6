"""Thin routes: validate, call `Triage`, return. No logic lives here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Response

from api._auth import requires
from api.deps import DeadlineDep, PredictionsDep, StateDep, TriageDep
from api.review import record_for_review
from api.schemas import (
    EscalationOut,
    Health,
    KBSearchIn,
    KBSearchOut,
    ModelInfo,
    ProblemsOut,
    TicketIn,
    TriageResult,
)
from triage import Triage
from triage.predictions import PredictionStore
from triage.results import EscalationResult, TicketResult

router = APIRouter()


def _classify(state: StateDep, tickets: list[TicketIn], predictions: PredictionStore,
              deadline_ms: int) -> list[TicketResult]:
    records = [t.model_dump() for t in tickets]
    results = state.batcher.classify(records, deadline_ms=deadline_ms)  # shares a model call (api/_batcher.py)
    for ticket, result in zip(tickets, results, strict=True):
        result["truncated"] = bool(result.get("truncated")) or ticket.cut  # cut at the schema's limit
    state.metrics.observe_results(results)
    record_for_review(predictions, records, results)
    return results


@router.post("/v1/classify", dependencies=[requires("helpdesk", "agent")],
             response_model=TriageResult, response_model_exclude_unset=True,
             summary="Triage one ticket", tags=["triage"])
def classify(ticket: TicketIn, state: StateDep, triage: TriageDep, predictions: PredictionsDep,
             deadline_ms: DeadlineDep) -> TicketResult:
    return _classify(state, [ticket], predictions, deadline_ms)[0]


@router.post("/v1/classify/batch", dependencies=[requires("helpdesk", "agent")],
             response_model=list[TriageResult], response_model_exclude_unset=True,
             summary="Triage a list of tickets", tags=["triage"])
def classify_batch(tickets: Annotated[list[TicketIn], Body()], state: StateDep, triage: TriageDep,
                   predictions: PredictionsDep, deadline_ms: DeadlineDep) -> list[TicketResult]:
    if len(tickets) > state.settings.max_batch:
        raise HTTPException(413, f"{len(tickets)} tickets in one batch; the limit is {state.settings.max_batch} "
                                 "(TRIAGE_MAX_BATCH). Send several smaller batches.")
    return _classify(state, tickets, predictions, deadline_ms)


@router.post("/v1/escalations/score", dependencies=[requires("agent")],
             response_model=EscalationOut, tags=["triage"],
             summary="Is the escalation complete enough for L3?",
             responses={404: {"description": "The bundle has no completeness scorer"}})
def escalation_score(ticket: TicketIn, state: StateDep, triage: TriageDep,
                     threshold: Annotated[float | None, Query(ge=0, le=1, description="Override the ready "
                                                              "threshold for this call.")] = None,
                     ) -> EscalationResult:
    record = ticket.model_dump()  # a bundle without a completeness scorer: BundleError, a 404 (api/_errors.py)
    scored = state.batcher.call(lambda model: model.score_escalation(record, threshold=threshold))
    return {**scored, "truncated": ticket.cut}


@router.post("/v1/kb/search", dependencies=[requires("agent")],
             response_model=KBSearchOut, summary="Search the knowledge base", tags=["kb"],
             responses={404: {"description": "No KB index is loaded"}})
def kb_search(request: KBSearchIn, state: StateDep, triage: TriageDep) -> dict[str, Any]:
    if triage.kb is None:
        raise HTTPException(404, "no knowledge-base index is loaded: build one with `triage kb build` and start "
                                 "the service with `triage serve --kb DIR` (or TRIAGE_KB_DIR)")
    hits = state.batcher.call(lambda model: model.search_kb(request.query, k=request.k, sources=request.sources))
    return {"hits": hits, "truncated": request.cut}


@router.get("/v1/problems", dependencies=[requires("agent", "analyst")],
            response_model=ProblemsOut, tags=["recurring"],
            summary="Known problems, most active first", responses={404: {"description": "No ticket history"}})
def problems(state: StateDep, triage: TriageDep) -> dict[str, Any]:
    if triage.recurring is None:
        raise HTTPException(404, "this model has no ticket history: retrain it with `triage train` "
                                 "(bundles from before the recurrence feature lack one)")
    return {"problems": state.batcher.call(_problem_listing)}


def _problem_listing(model: Triage) -> list[dict[str, Any]]:
    if model.recurring is None:  # detached by a reload since the route looked
        raise HTTPException(503, "the model is being reloaded; retry in a second")
    return model.recurring.problem_listing()


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
