"""The review queue page (contract §7): least sure first, Confirm or Correct, stored as POST /v1/feedback stores.

A decision is posted as a form (htmx swaps the item for its outcome; without JavaScript the page
reloads). It goes through `api.review.store_review`, the same function as `POST /v1/feedback`, with the
signed-in key's name as `reviewer`, so the console can store nothing the API would refuse.
"""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.console.web import CsrfChecked, form_value, page_roles, render, signed_in
from api.deps import FeedbackDep, PredictionsDep, TriageDep
from api.review import parse_since, store_review
from api.schemas import FeedbackIn
from triage._review import known_values
from triage.predictions import QueueFilter

router = APIRouter(include_in_schema=False)
PAGE = 50


def _filters(field: str, module: str | None, owner: str | None, since: str | None, until: str | None) -> QueueFilter:
    return QueueFilter(field=field.removeprefix("labels."), module=module or None, owner=owner or None,
                       since=parse_since(since or None), until=parse_since(until or None, "until"))


@router.get("/ui/review", response_class=HTMLResponse, dependencies=[page_roles("review")])
def review(request: Request, predictions: PredictionsDep, triage: TriageDep,
           field: Annotated[str, Query(max_length=200)] = "module",
           module: Annotated[str | None, Query(max_length=500)] = None,
           owner: Annotated[str | None, Query(max_length=500)] = None,
           since: Annotated[str | None, Query(max_length=64)] = None,
           until: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    which = _filters(field, module, owner, since, until)
    fields = [f for f in triage.heads if f != "completeness"]
    if which.field not in fields:
        raise HTTPException(404, f"the served model predicts {', '.join(fields)}")
    items = predictions.queue(which, limit=PAGE)
    return render(request, "review.html", items=items, field=which.field, fields=fields,
                  known=known_values(triage, which.field) or [], pending=predictions.pending(which),
                  modules=predictions.choices("module"), owners=predictions.choices("owner"),
                  f={"module": module or "", "owner": owner or "", "since": since or "", "until": until or ""},
                  query=urlencode({k: v for k, v in {"field": which.field, "module": module, "owner": owner,
                                                     "since": since, "until": until}.items() if v}))


@router.post("/ui/review/decide", response_class=HTMLResponse, dependencies=[page_roles("review"), CsrfChecked])
async def decide(request: Request, store: FeedbackDep, predictions: PredictionsDep, triage: TriageDep) -> Response:
    """Confirm (`action=confirm`: the prediction, or the top candidate of an abstention) or correct it."""
    form = await request.form()
    principal = signed_in(request)
    assert principal is not None  # the route's roles ran first
    action, field = form_value(form, "action"), form_value(form, "field")
    predicted = form_value(form, "predicted") or None
    if action == "confirm":
        correct, new = form_value(form, "candidate") or (predicted or ""), False
    else:
        new = form_value(form, "is_new") == "1"
        correct = form_value(form, "new_value") if new else form_value(form, "correct")
    outcome: dict[str, Any] = {"ticket_id": form_value(form, "ticket_id"), "field": field, "correct": correct,
                               "confirmed": action == "confirm", "error": None}
    try:
        item = FeedbackIn(ticket_id=outcome["ticket_id"], field=field, predicted=predicted, correct=correct,
                          reviewer=principal.name, new_label=new, model_version=form_value(form, "model_version")
                          or None)
        await _store(item, store, predictions, triage)
    except ValidationError as exc:
        outcome["error"] = "; ".join(str(e["msg"]) for e in exc.errors()[:3])
    except HTTPException as exc:
        detail = exc.detail
        outcome["error"] = detail[0]["msg"] if isinstance(detail, list) and detail else str(detail)
    if request.headers.get("hx-request") != "true":  # no JavaScript: back to the queue
        if outcome["error"]:
            return render(request, "error.html", status=422, title="", message=outcome["error"])
        back = form_value(form, "back")
        return RedirectResponse("/ui/review" + (f"?{back}" if back and "//" not in back else ""), status_code=303)
    return render(request, "review_outcome.html", o=outcome, reviewer=principal.name, at=time.strftime("%H:%M"))


async def _store(item: FeedbackIn, store: Any, predictions: Any, triage: Any) -> None:
    """Stored off the event loop: the write waits for an fsync."""
    from starlette.concurrency import run_in_threadpool

    await run_in_threadpool(store_review, item, store, predictions, triage)
