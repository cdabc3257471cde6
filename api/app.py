"""FastAPI app factory. Settings are read and the bundle is loaded at start-up, never at import."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api import _errors, console
from api._auth import KeyRing, authorize, document_security, reload_keys
from api._catchup import catch_up_forever
from api._limits import BodyLimit
from api._metrics import RequestMetrics, drift_alert
from api._reload import Reloader, ReloadError
from api.admin import router as admin_router
from api.deps import ServiceState
from api.integrations import Integrations
from api.integrations import router as integrations_router
from api.review import router as review_router
from api.routes import router
from triage import Settings, Triage
from triage.errors import TriageError

log = logging.getLogger("triage.api")


def create_app(settings: Settings | None = None, triage: Triage | None = None) -> FastAPI:
    """Build the service; pass `triage` to serve an already-loaded model (tests, notebooks)."""
    settings = settings or Settings()
    if triage is None and settings.model_dir is None and settings.model_ref is None:
        raise TriageError("no model to serve: set TRIAGE_MODEL_DIR or run `triage serve --model REF`")
    state = ServiceState(settings=settings, triage=triage)
    if triage is not None:
        triage.completeness_threshold = settings.completeness_threshold
    keyring = KeyRing.from_settings(settings)  # refuses to build an open service unless TRIAGE_DEV_MODE=1
    reloader = Reloader(state, settings.model_dir, ref=settings.model_ref)
    alert = drift_alert(settings)
    reloader.on_swap = lambda new: state.metrics.watch_drift(new.manifest, settings, alert)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state.triage is None:
            state.triage = reloader.open_first()
            if state.triage.kb is not None:
                log.info("serving KB index %s v%s", settings.kb_dir, state.triage.kb.version)
            log.info("serving model %s", state.triage.model_version)
        state.metrics.set_model(state.triage.model_version)
        state.metrics.watch_drift(state.triage.manifest, settings, alert)
        hup = _on_sighup(reloader, lambda: reload_keys(app, settings))
        if Integrations.wanted(state):
            Integrations.open(state)  # resumes deliveries a stop interrupted
        poll = (asyncio.create_task(catch_up_forever(state, settings.catch_up_seconds))
                if settings.database_url else None)  # replicas on one database (api/_catchup.py)
        yield
        if poll is not None:
            poll.cancel()
        if state.integrations is not None:
            state.integrations.close()
        state.batcher.stop()  # the call in progress finishes; what still waits is refused with a 503
        if state.feedback is not None:
            state.feedback.close()
        if state.predictions is not None:
            state.predictions.close()
        if state.triage is not None:
            state.triage.close()
        if hup is not None:
            hup.remove_signal_handler(signal.SIGHUP)

    app = FastAPI(title="triage", version="0.1.0", lifespan=lifespan,
                  description="AI-assisted ticket triage: what a ticket is, who owns it, whether it is ready "
                              "for L3. Contract: docs/contract.md §4-§5. Auth and limits: SECURITY.md.",
                  dependencies=[Depends(authorize)], docs_url=None, redoc_url=None)
    app.state.service = state
    app.state.keyring, app.state.metrics, app.state.reloader = keyring, state.metrics, reloader
    _errors.install(app)  # 422s never echo what the caller sent
    app.include_router(router)
    app.include_router(review_router)
    app.include_router(admin_router)
    app.include_router(integrations_router)
    console.install(app, settings)  # /ui and the offline /docs, /redoc
    document_security(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestMetrics, metrics=state.metrics)
    return app


def _on_sighup(reloader: Reloader, keys: Callable[[], None]) -> asyncio.AbstractEventLoop | None:
    """`kill -HUP <pid>` re-reads the API keys and reloads the bundle (after `triage train --out` the same folder)."""
    if threading.current_thread() is not threading.main_thread():
        return None  # in-process test clients run the app off the main thread, where signals cannot be set

    def reload_quietly() -> None:
        keys()
        try:
            reloader.reload()
        except ReloadError as exc:
            log.error("SIGHUP reload failed: %s", exc)

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, reload_quietly))
    return loop
