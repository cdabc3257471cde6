"""Console pages that look across tickets: incidents, known problems, escalation quality, KB gaps, the model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.console.web import page_roles, render
from api.deps import PredictionsDep, StateDep, TriageDep
from triage._history_store import iso, recent_tickets
from triage.escalation_quality import quality

router = APIRouter(include_in_schema=False)
DAY = 86400.0


def _timeline(triage: Any, tickets: list[str]) -> list[dict[str, Any]]:
    """(time, running count) of an incident's tickets, oldest first: the chart under each incident."""
    history = triage.recurring.history
    times = sorted(float(history.created[r]) for r in (history.row_of(t) for t in tickets) if r is not None)
    return [{"t": iso(when), "n": i + 1} for i, when in enumerate(times)]


@router.get("/ui/incidents", response_class=HTMLResponse, dependencies=[page_roles("incidents")])
def incidents(request: Request, state: StateDep, triage: TriageDep) -> Response:
    recurring = triage.recurring
    spike = recurring.spike if recurring is not None else None
    if spike is None:
        return render(request, "incidents.html", available=False, open=[], today=[])
    now = time.time()
    found = state.batcher.call(lambda _: [  # on the model's thread: the history is being appended to
        {"key": inc.key, "title": inc.title, "module": inc.module, "started": iso(inc.started),
         "last": iso(inc.last), "tickets": list(inc.tickets), "open": spike.is_open(inc, now),
         "problem": None if inc.problem_id is None else f"P-{inc.problem_id}",
         "timeline": _timeline(triage, inc.tickets)} for inc in spike.recent(now - DAY)])
    return render(request, "incidents.html", available=True, open=[i for i in found if i["open"]],
                  today=[i for i in found if not i["open"]])


@router.get("/ui/problems", response_class=HTMLResponse, dependencies=[page_roles("problems")])
def problems(request: Request, state: StateDep, triage: TriageDep) -> Response:
    recurring = triage.recurring
    if recurring is None:
        return render(request, "problems.html", available=False, problems=[])
    def gather(_: Any) -> tuple[list[dict[str, Any]], dict[str, list[int]], dict[str, list[str]]]:
        listing = recurring.problem_listing()
        return listing, recurring.problem_series(days=14), _members(recurring, [p["id"] for p in listing[:50]])

    listing, series, members = state.batcher.call(gather)  # on the model's thread, beside the appends
    rows = [{**p, "series": series.get(p["id"], []), "members": members.get(p["id"], [])} for p in listing[:50]]
    return render(request, "problems.html", available=True, problems=rows)


def _members(recurring: Any, keys: list[str], per: int = 8) -> dict[str, list[str]]:
    """The newest ticket ids of each problem, so a problem links to its tickets."""
    history = recurring.history
    created, assigned = history.created, history.problems
    out: dict[str, list[str]] = {}
    for key in keys:
        rows = [int(r) for r in (assigned == int(key[2:])).nonzero()[0]]
        rows = sorted(rows, key=lambda r: -created[r])[:per]
        details = history.details(rows)
        out[key] = [details[r]["ticket_id"] for r in rows if r in details]
    return out


@router.get("/ui/escalations", response_class=HTMLResponse, dependencies=[page_roles("escalations")])
def escalations(request: Request, predictions: PredictionsDep,
                by: Annotated[Literal["module", "owner", "agent"], Query()] = "module",
                period: Annotated[Literal["day", "week", "month"], Query()] = "day",
                days: Annotated[int, Query(ge=1, le=3650)] = 90) -> Response:
    figures = quality(predictions.escalations(since=time.time() - days * DAY), by=by, period=period)
    return render(request, "escalations.html", q=figures, by=by, period=period, days=days)


@router.get("/ui/kb-gaps", response_class=HTMLResponse, dependencies=[page_roles("kb_gaps")])
def kb_gaps(request: Request, state: StateDep, triage: TriageDep,
            days: Annotated[int, Query(ge=1, le=365)] = 30,
            min_score: Annotated[float, Query(ge=0, le=1)] = 0.86) -> Response:
    """Groups of recent tickets no article answers well, from the embeddings the history already holds."""
    if triage.kb is None or triage.recurring is None:
        return render(request, "kb_gaps.html", available=False, gaps=[], poor=0, n=0, min_score=min_score,
                      days=days)
    from triage._kb import find_gaps

    history, kb = triage.recurring.history, triage.kb

    def gaps(_: Any) -> tuple[list[Any], list[Any], int]:  # on the model's thread: it embeds, reads the history
        recent = [r for r in recent_tickets(history.db, time.time() - days * DAY, 1000) if history.row_of(r[1])
                  is not None]
        if not recent:
            return recent, [], 0
        frame = pd.DataFrame({"id": [r[1] for r in recent], "text": [r[2] for r in recent]})
        vectors = history.vectors(pd.Series([r[0] for r in recent]).to_numpy())
        found, poor = find_gaps(kb, triage.embedder, frame, min_score=min_score, min_size=2, vectors=vectors)
        return recent, found, poor

    recent, found, poor = state.batcher.call(gaps)
    return render(request, "kb_gaps.html", available=True, gaps=[g.as_dict() for g in found[:30]], poor=poor,
                  n=len(recent), min_score=min_score, days=days)


def _plots(triage: Any) -> list[str]:
    folder = Path(triage.bundle) / "plots" if triage.bundle is not None else None
    return sorted(p.name for p in folder.glob("*.png")) if folder is not None and folder.is_dir() else []


def _scalars(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per head, the metrics that are single numbers or short strings (tables and curves stay in the bundle)."""
    out: dict[str, dict[str, Any]] = {}
    for head, values in metrics.items():
        if isinstance(values, dict):
            out[head] = {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()
                         if isinstance(v, int | float | str | bool) or v is None}
    return out


@router.get("/ui/model", response_class=HTMLResponse, dependencies=[page_roles("model")])
def model(request: Request, triage: TriageDep) -> Response:
    m = triage.manifest
    return render(request, "model.html", m=m, data=m.get("data", {}), metrics=_scalars(m.get("metrics", {})),
                  plots=_plots(triage), mlflow=m.get("mlflow") or {}, kb=triage.kb)


@router.get("/ui/model/plots/{name}", dependencies=[page_roles("model")])
def plot(name: str, triage: TriageDep) -> Response:
    if name not in _plots(triage):  # only the bundle's own plots, by exact name: no path is ever built from input
        raise HTTPException(404, "no such plot in the bundle")
    assert triage.bundle is not None
    return FileResponse(Path(triage.bundle) / "plots" / name, media_type="image/png")
