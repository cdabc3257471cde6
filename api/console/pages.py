"""Console pages for signing in and out, the language, the home page and the ticket view."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api._auth import KeyRing, requires
from api._keys import hash_key
from api.console.i18n import LANGS, language, translator
from api.console.session import LANG_COOKIE, SESSION_COOKIE, current, sessions_of, set_cookie
from api.console.web import ANY_ROLE, CsrfChecked, local_path, page_roles, render, signed_in
from api.deps import StateDep, TriageDep
from api.schemas import MAX_BODY, MAX_SUBJECT
from triage._history_store import read_ticket
from triage.results import TicketResult

router = APIRouter(include_in_schema=False)
SIGNED_IN = requires(*ANY_ROLE)  # any key may sign out and see the home page


@router.get("/ui/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    return render(request, "sign_in.html", next=local_path(next), error=None)


@router.post("/ui/sign-in", response_class=HTMLResponse, dependencies=[CsrfChecked])
def sign_in(request: Request, key: Annotated[str, Form(max_length=500)] = "",
            next: Annotated[str | None, Form(max_length=2000)] = None) -> Response:
    """A known key opens a session; anything else gets the sign-in page again with what to do (401)."""
    ring: KeyRing = request.app.state.keyring
    digest = hash_key(key.strip())
    if ring.dev_mode or digest not in ring.keys:
        t = translator(language(request))
        return render(request, "sign_in.html", status=401 if not ring.dev_mode else 200, next=local_path(next),
                      error=t("wrong_key") if not ring.dev_mode else None)
    cookie, _ = sessions_of(request).issue(digest)
    response = RedirectResponse(local_path(next), status_code=303)
    set_cookie(request, response, SESSION_COOKIE, cookie, max_age=int(sessions_of(request).lifetime))
    return response


@router.post("/ui/sign-out", dependencies=[SIGNED_IN, CsrfChecked])
def sign_out(request: Request) -> Response:
    session = current(request)
    if session is not None:
        sessions_of(request).end(session)
    response = RedirectResponse("/ui/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/ui/lang/{code}")
def switch_language(request: Request, code: str,
                    next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    """Remember the chosen language (a year) and go back where the switch was pressed."""
    if code not in LANGS:
        raise HTTPException(404, f"language must be one of {', '.join(LANGS)}")
    response = RedirectResponse(local_path(next), status_code=303)
    set_cookie(request, response, LANG_COOKIE, code, max_age=365 * 86400)
    return response


@router.get("/ui", response_class=HTMLResponse, dependencies=[SIGNED_IN])
def home(request: Request) -> Response:
    return render(request, "home.html", principal_name=getattr(signed_in(request), "name", ""))


def _analyse(state: StateDep, triage: TriageDep, ticket: dict[str, Any]) -> TicketResult:
    """Everything the service knows about a ticket, without storing it again (record=False)."""
    return state.batcher.classify([ticket], record=False)[0]  # with others' record=False calls (api/_batcher.py)


@router.get("/ui/ticket", response_class=HTMLResponse, dependencies=[page_roles("ticket")])
def ticket_page(request: Request, state: StateDep, triage: TriageDep,
                id: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    result, stored, missing = None, None, None
    if id and id.strip():
        history = triage.recurring.history if triage.recurring is not None else None
        stored = read_ticket(history.db, id.strip()) if history is not None else None
        if stored is None:
            missing = id.strip()
        else:
            result = _analyse(state, triage, {"id": stored["ticket_id"], "subject": "", "body": stored["text"],
                                              "created_at": stored["created_at"]})
    return render(request, "ticket.html", result=result, stored=stored, missing=missing, ticket_id=id or "",
                  subject="", body="")


@router.post("/ui/ticket", response_class=HTMLResponse, dependencies=[page_roles("ticket"), CsrfChecked])
def ticket_paste(request: Request, state: StateDep, triage: TriageDep,
                 subject: Annotated[str, Form()] = "", body: Annotated[str, Form()] = "") -> Response:
    subject, body = subject[:MAX_SUBJECT], body[:MAX_BODY]
    result = _analyse(state, triage, {"id": "pasted", "subject": subject, "body": body}) \
        if (subject.strip() or body.strip()) else None
    return render(request, "ticket.html", result=result, stored=None, missing=None, ticket_id="", subject=subject,
                  body=body)
