"""Operator routes: hot reload and Prometheus metrics (role analyst)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from api._auth import requires

router = APIRouter()


class ReloadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_dir: str | None = Field(None, max_length=4096, description="Bundle to load, or a registry reference "
                                  "(models:/triage/<version>, models:/triage@<alias>); default: the one serving, "
                                  "re-resolved when it is a registry alias (after `triage promote`).")


class ReloadOut(BaseModel):
    model_version: str
    previous: str | None
    model_dir: str
    registry: dict[str, Any] | None = None


@router.post("/v1/admin/reload", dependencies=[requires("analyst")],
             response_model=ReloadOut, tags=["ops"], summary="Load a new bundle, swap atomically",
             responses={403: {"description": "Outside TRIAGE_MODEL_ROOT"}, 404: {"description": "No such folder"},
                        409: {"description": "Bundle rejected or reload busy; the old model keeps serving"}})
def reload(request: Request, body: Annotated[ReloadIn | None, Body()] = None) -> dict[str, Any]:
    # a refused reload is a ReloadError carrying its status (403/404/409), answered by api/_errors.py
    return request.app.state.reloader.reload(body.model_dir if body else None)  # type: ignore[no-any-return]


@router.get("/metrics", dependencies=[requires("analyst")],
            tags=["ops"], summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
