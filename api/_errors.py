"""Error answers that leak nothing the caller sent.

FastAPI's default 422 echoes each failing value (`input`): a customer's e-mail, or the whole
270 KB body of a ticket, would travel back and land in client and proxy logs. Here a 422 says
where (`loc`), what is wrong (`msg`, `type`) and at most a short masked `excerpt` of the value:
40 characters, e-mails, phones, cards and secrets replaced (`triage._privacy.mask`), every other
digit shown as `#`. Routes that must name a value in their own 4xx use `excerpt` too.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from triage._privacy import mask
from triage.errors import BundleError, HistoryError, TriageError

EXCERPT = 40  # characters of a refused value a caller gets back, at most
MAX_ERRORS = 50  # a 256-ticket batch with a bad field in each needs no 256 lines to be understood
_SCAN = 2_000  # mask only a prefix: even "[KEY]" for 32 hex chars leaves more than EXCERPT characters of it
_ANY_AT = re.compile(r"\S*@\S*")  # "ivan@corp": not an address mask() recognises, still a person's
_DIGIT = re.compile(r"\d")


def excerpt(value: Any) -> str:
    """At most EXCERPT characters of `value`, personal data and digits masked, white space folded."""
    text = " ".join(str(value)[:_SCAN].split())
    text = _DIGIT.sub("#", _ANY_AT.sub("[EMAIL]", mask(text)))
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def _message(msg: Any) -> str:
    """A validator's message, masked and bounded, in case one quotes the value it refused."""
    text = mask(str(msg))
    return text if len(text) <= 300 else text[:299] + "…"


def _location(loc: Any) -> list[int | str]:
    # a path part can be a key the caller chose (a dict field, a JSON position): bounded and masked as well
    return [part if isinstance(part, int) else excerpt(part) for part in (loc or ())]


def describe(error: dict[str, Any]) -> dict[str, Any]:
    """One pydantic error as the caller sees it: no `input`, only numeric limits from `ctx`."""
    out: dict[str, Any] = {"loc": _location(error.get("loc")), "msg": _message(error.get("msg", "")),
                           "type": str(error.get("type", "value_error"))}
    limits = {k: v for k, v in (error.get("ctx") or {}).items()
              if isinstance(v, int | float) and not isinstance(v, bool)}
    if limits:
        out["ctx"] = limits
    value = error.get("input")
    if isinstance(value, str) and value:
        out["excerpt"] = excerpt(value)
    return out


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """The app's only RequestValidationError handler (422)."""
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    detail = [describe(e) for e in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        detail.append({"loc": [], "msg": f"and {len(errors) - MAX_ERRORS} more errors like these",
                       "type": "too_many_errors"})
    return JSONResponse(status_code=422, content={"detail": detail})


# The library's errors a route can meet, mapped once to an answer (most specific first). Anything else
# is a bug and stays a 500, so it is seen.
STATUS: tuple[tuple[type[TriageError], int], ...] = ((BundleError, 404), (HistoryError, 503))


async def triage_error(request: Request, exc: Exception) -> JSONResponse:
    """A TriageError raised by a route: its status (ReloadError carries one) and its message."""
    assert isinstance(exc, TriageError)
    status = getattr(exc, "status", None) or next((code for kind, code in STATUS if isinstance(exc, kind)), None)
    if status is None:
        raise exc
    return JSONResponse(status_code=status, content={"detail": str(exc)}, headers=getattr(exc, "headers", None))


def install(app: FastAPI) -> None:
    """The app's exception handlers: the error hierarchy is mapped here, not route by route."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(TriageError, triage_error)
