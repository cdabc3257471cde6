"""FastAPI app factory. Settings are read and the bundle is loaded at start-up, never at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api._limits import BodyLimit
from api.deps import ServiceState
from api.routes import router
from triage import Settings, Triage, load_triage
from triage._kb import open_kb
from triage._recurring import recurring_from_settings
from triage.errors import TriageError

log = logging.getLogger("triage.api")


def create_app(settings: Settings | None = None, triage: Triage | None = None) -> FastAPI:
    """Build the service; pass `triage` to serve an already-loaded model (tests, notebooks)."""
    settings = settings or Settings()
    if triage is None and settings.model_dir is None:
        raise TriageError("no model to serve: set TRIAGE_MODEL_DIR or run `triage serve --model DIR`")
    state = ServiceState(settings=settings, triage=triage)
    if triage is not None:
        triage.completeness_threshold = settings.completeness_threshold

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state.triage is None:
            assert settings.model_dir is not None
            state.triage = load_triage(settings.model_dir, cache_dir=settings.cache_dir,
                                       owners_file=settings.owners_file)
            state.triage.completeness_threshold = settings.completeness_threshold
            if settings.kb_dir is not None:
                state.triage.kb = open_kb(settings.kb_dir, state.triage.embedder, settings)
                state.triage.kb_top_k = settings.kb_top_k
                log.info("serving KB index %s v%s", settings.kb_dir, state.triage.kb.version)
            state.triage.classify([{"subject": "warm-up", "body": "прогрев модели"}])  # first call compiles
            state.triage.recurring = recurring_from_settings(settings.model_dir, state.triage.manifest,
                                                             state.triage.embedder.dim, settings)
            log.info("serving model %s", state.triage.model_version)
        yield
        if state.feedback is not None:
            state.feedback.close()
        if state.triage is not None and state.triage.recurring is not None:
            state.triage.recurring.close()

    app = FastAPI(title="triage", version="0.1.0", lifespan=lifespan,
                  description="AI-assisted ticket triage: what a ticket is, who owns it, whether it is ready "
                              "for L3. Contract: triage-contract.md §4-§5.")
    app.state.service = state
    app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    return app
