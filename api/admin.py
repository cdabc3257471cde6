"""Operator routes: hot reload and Prometheus metrics (role analyst)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from api._reload import ReloadError

router = APIRouter()


class ReloadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_dir: str | None = Field(None, max_length=4096, description="Bundle to load; default: the one serving "
                                  "(after retraining it in place).")


class ReloadOut(BaseModel):
    model_version: str
    previous: str | None
    model_dir: str


@router.post("/v1/admin/reload", response_model=ReloadOut, tags=["ops"], summary="Load a new bundle, swap atomically",
             responses={403: {"description": "Outside TRIAGE_MODEL_ROOT"}, 404: {"description": "No such folder"},
                        409: {"description": "Bundle rejected or reload busy; the old model keeps serving"}})
def reload(request: Request, body: Annotated[ReloadIn | None, Body()] = None) -> dict[str, Any]:
    try:
        return request.app.state.reloader.reload(body.model_dir if body else None)  # type: ignore[no-any-return]
    except ReloadError as exc:
        raise HTTPException(exc.status, str(exc)) from exc


@router.get("/metrics", tags=["ops"], summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
