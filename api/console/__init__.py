"""The web console (`/ui`) and the offline API docs (`/docs`, `/redoc`), served by the service itself.

Server-rendered Jinja2 pages with htmx and a little plain JavaScript; every asset is vendored under
`static/` (no build step, nothing fetched from the internet). Sign-in exchanges an API key for a signed
session cookie (`session.py`); each page declares its roles in the page table (`web.py`) like every
other route; a Content-Security-Policy lets pages load only what the service serves (`headers.py`).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.console import docs, insight, pages, review_pages
from api.console.headers import SecurityHeaders
from api.console.session import Sessions
from api.console.web import HERE, console_errors, console_validation_errors
from triage import Settings


def install(app: FastAPI, settings: Settings) -> None:
    app.state.sessions = Sessions(settings.session_secret, settings.session_hours)
    for module in (pages, review_pages, insight, docs):
        app.include_router(module.router)
    app.mount("/ui/static", StaticFiles(directory=str(HERE / "static")), name="console-static")
    app.add_exception_handler(StarletteHTTPException, console_errors)
    app.add_exception_handler(RequestValidationError, console_validation_errors)
    app.add_middleware(SecurityHeaders)
