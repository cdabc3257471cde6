"""Webhook routes: verify, read, store durably, answer 202. Triage and write-back happen after (the worker)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api._auth import requires
from api.deps import StateDep
from api.integrations._inbound import delivery_key, event_name, loads, parse
from api.integrations._schemas import problem, request_body
from api.integrations._service import Integrations

router = APIRouter(prefix="/v1/integrations", tags=["integrations"])


class DeliveryOut(BaseModel):
    delivery: int = Field(description="The stored delivery's id (`triage integrations deliveries`).")
    duplicate: bool = Field(description="This delivery id was received before; nothing more is done.")


def get_integrations(state: StateDep) -> Integrations:
    if state.integrations is None:  # the first webhook of a service that had none: open the store now
        return Integrations.open(state)
    return state.integrations  # type: ignore[no-any-return]


IntegrationsDep = Annotated[Integrations, Depends(get_integrations)]
_DOC: dict[int | str, dict[str, Any]] = {202: {"description": "Stored durably; triage and write-back follow"},
        401: {"description": "Bad or missing signature / key"},
        422: {"description": "Not a webhook body of this helpdesk (the answer says what is missing)"}}


async def _receive(source: str, request: Request, integrations: Integrations) -> dict[str, Any]:
    body = await request.body()
    try:
        payload = loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(422, f"the {source} webhook body is not JSON; send the helpdesk's default payload") from exc
    wrong = problem(source, payload)
    if wrong is not None:
        raise HTTPException(422, f"not a {source} webhook body: {wrong}; send the helpdesk's default payload "
                                 "(README, 'Helpdesk integrations')")
    try:
        parse(source, payload, integrations.mappings[source])
    except ValueError as exc:
        raise HTTPException(422, f"{exc}; check the webhook's payload (README, 'Helpdesk integrations') and "
                                 "TRIAGE_INTEGRATIONS_CONFIG") from exc
    headers = {k.lower(): v for k, v in request.headers.items()}
    key = delivery_key(source, headers, body)
    delivery, new = await run_in_threadpool(integrations.store.add, source, key, payload,
                                            event_name(source, headers, payload))
    if new:
        integrations.worker.wake()
    return {"delivery": delivery, "duplicate": not new}


@router.post("/zammad", dependencies=[requires("helpdesk")], status_code=202, response_model=DeliveryOut,
             openapi_extra=request_body("zammad"),
             summary="Zammad trigger webhook (default payload; X-Hub-Signature, X-Zammad-Delivery)", responses=_DOC)
async def zammad(request: Request, integrations: IntegrationsDep) -> dict[str, Any]:
    return await _receive("zammad", request, integrations)


@router.post("/jira", dependencies=[requires("helpdesk")], status_code=202, response_model=DeliveryOut,
             openapi_extra=request_body("jira"),
             summary="Jira webhook (jira:issue_created, jira:issue_updated)", responses=_DOC)
async def jira(request: Request, integrations: IntegrationsDep) -> dict[str, Any]:
    return await _receive("jira", request, integrations)


@router.post("/znuny", dependencies=[requires("helpdesk")], status_code=202, response_model=DeliveryOut,
             openapi_extra=request_body("znuny"),
             summary="Znuny / OTRS GenericInterface invoker (Ticket + Article)", responses=_DOC)
async def znuny(request: Request, integrations: IntegrationsDep) -> dict[str, Any]:
    return await _receive("znuny", request, integrations)
