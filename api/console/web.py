"""What every console page shares: the page table (path, roles), rendering, CSRF checks, HTML errors.

The page table is the one place a page's roles are written: the route declares `page_roles(key)` and
the navigation shows a page only to keys holding one of the same roles, so the two cannot drift.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from api._auth import CONSOLE, Principal, SignInRequired, requires
from api.console.i18n import language, translator
from api.console.session import ANON_COOKIE, csrf_seed, sessions_of, set_cookie

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

PAGES: dict[str, tuple[str, tuple[str, ...]]] = {  # key -> (path, roles that may open it)
    "ticket": ("/ui/ticket", ("agent", "l3")),
    "review": ("/ui/review", ("l3",)),
    "incidents": ("/ui/incidents", ("agent", "l3", "analyst")),
    "problems": ("/ui/problems", ("agent", "l3", "analyst")),
    "escalations": ("/ui/escalations", ("analyst",)),
    "kb_gaps": ("/ui/kb-gaps", ("agent", "analyst")),
    "model": ("/ui/model", ("analyst",)),
}
ANY_ROLE = ("helpdesk", "agent", "analyst", "l3")


def page_roles(key: str) -> Any:
    """`dependencies=[page_roles("review")]`: the route's roles, from the page table."""
    return requires(*PAGES[key][1])


def nav_for(principal: Principal | None) -> list[dict[str, str]]:
    roles = principal.roles if principal is not None else frozenset()
    return [{"key": key, "path": path} for key, (path, allowed) in PAGES.items() if roles & set(allowed)]


def signed_in(request: Request) -> Principal | None:
    principal = getattr(request.state, "principal", None)
    return principal if isinstance(principal, Principal) and principal.roles else None


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page in the browser's language, with the navigation its key may use and a CSRF token for its forms."""
    lang = language(request)
    seed, fresh = csrf_seed(request), None
    if seed is None:
        seed = fresh = secrets.token_urlsafe(24)
    principal = signed_in(request)
    response = templates.TemplateResponse(request, name, {
        **context, "t": translator(lang), "lang": lang, "principal": principal, "nav": nav_for(principal),
        "csrf": sessions_of(request).csrf_token(seed), "path": request.url.path,
        "here": quote(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""), safe=""),
    }, status_code=status)
    if fresh is not None:
        set_cookie(request, response, ANON_COOKIE, fresh, max_age=None)
    response.headers["Cache-Control"] = "no-store"
    return response


def check_csrf(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> None:
    """Dependency of every console POST: the form's token must match this browser's seed."""
    if not sessions_of(request).csrf_ok(csrf_seed(request), csrf):
        raise HTTPException(403, "csrf")


CsrfChecked = Depends(check_csrf)


def local_path(value: str | None, default: str = "/ui") -> str:
    """A redirect target that stays on the console (no `//host`, no scheme): open redirects refused."""
    if value and value.startswith(CONSOLE) and not value.startswith("//") and "\\" not in value:
        return value
    return default


async def console_errors(request: Request, exc: Exception) -> Response:
    """HTTP errors on console pages as pages: sign-in for 401, a clear 'not allowed' for 403; JSON elsewhere."""
    assert isinstance(exc, StarletteHTTPException)
    if not request.url.path.startswith(CONSOLE):
        return await http_exception_handler(request, exc)
    if isinstance(exc, SignInRequired) or exc.status_code == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/sign-in?next={quote(target, safe='')}", status_code=303)
    t = translator(language(request))
    principal = signed_in(request)
    if exc.status_code == 403 and exc.detail == "csrf":
        message = t("csrf_failed")
    elif exc.status_code == 403 and principal is not None:
        route = request.scope.get("route")
        needed = _roles_needed(route)
        message = t("forbidden_text", name=principal.name, roles=", ".join(sorted(principal.roles)),
                    needed=", ".join(needed))
    else:
        message = str(exc.detail)
    return render(request, "error.html", status=exc.status_code, title=t("forbidden") if exc.status_code == 403
                  else t("error"), message=message)


def _roles_needed(route: Any) -> list[str]:
    from api._auth import roles_of

    return sorted(roles_of(route) or ())


def form_value(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def console_validation_errors(request: Request, exc: Exception) -> Response:
    """A bad query or form field on a console page: the page explains; the API keeps its JSON 422."""
    from fastapi.exceptions import RequestValidationError

    from api._errors import describe, validation_error

    if not request.url.path.startswith(CONSOLE):
        return await validation_error(request, exc)
    assert isinstance(exc, RequestValidationError)
    lines = [f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in map(describe, list(exc.errors())[:5])]
    t = translator(language(request))
    return render(request, "error.html", status=422, title=t("error"), message="; ".join(lines))
