"""Annotated dependencies: routes declare what they need, the app state provides it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request

from api._batcher import MicroBatcher
from api._fairlock import FairLock
from api._metrics import Metrics
from triage import Settings, Triage
from triage.errors import DataError
from triage.feedback import FeedbackStore, open_feedback
from triage.predictions import PredictionStore, open_predictions


@dataclass
class ServiceState:
    settings: Settings
    triage: Triage | None = None
    # Every model call runs on the batcher's one thread, concurrent requests sharing a call (api/_batcher.py);
    # it holds the fair lock around each call, so a hot reload that takes the lock waits its turn, no longer.
    lock: FairLock = field(default_factory=FairLock)
    batcher: MicroBatcher = field(init=False)
    feedback: FeedbackStore | None = None
    metrics: Metrics = field(default_factory=Metrics)
    integrations: Any = None  # api.integrations.Integrations, once a helpdesk is configured or a webhook came
    predictions: PredictionStore | None = None
    opening: threading.Lock = field(default_factory=threading.Lock)  # the prediction store opens once
    opening_feedback: threading.Lock = field(default_factory=threading.Lock)  # and the feedback store

    def __post_init__(self) -> None:
        self.batcher = MicroBatcher(self)


def get_state(request: Request) -> ServiceState:
    return request.app.state.service  # type: ignore[no-any-return]


def get_triage(state: Annotated[ServiceState, Depends(get_state)]) -> Triage:
    if state.triage is None:
        raise HTTPException(503, "the model is not loaded yet; retry in a few seconds (see /readyz)")
    return state.triage


def get_feedback(state: Annotated[ServiceState, Depends(get_state)]) -> FeedbackStore:
    """Opened on the first review, so a service nobody reviews on never creates the file."""
    with state.opening_feedback:
        if state.feedback is None:
            try:
                state.feedback = open_feedback(state.settings.feedback_target)
            except DataError as exc:
                raise HTTPException(503, f"feedback cannot be stored: {exc}; check TRIAGE_FEEDBACK_DB or "
                                    "TRIAGE_DATABASE_URL") from exc
        return state.feedback


def read_feedback(state: Annotated[ServiceState, Depends(get_state)]) -> FeedbackStore | None:
    """The store for listing; None while nobody has reviewed (listing must not create the file)."""
    if state.feedback is None and not state.settings.stored(state.settings.feedback_db):
        return None
    return get_feedback(state)


def get_predictions(state: Annotated[ServiceState, Depends(get_state)]) -> PredictionStore:
    """The served predictions (the review queue), opened on first use.

    A store created beside an existing feedback store takes in its reviews, so a ticket reviewed before
    the queue existed does not come back into it when classified again.
    """
    with state.opening:
        if state.predictions is None:
            fresh = not state.settings.stored(state.settings.predictions_path)
            try:
                store = open_predictions(state.settings.predictions_target)
            except DataError as exc:
                raise HTTPException(503, f"predictions cannot be stored: {exc}; check TRIAGE_PREDICTIONS_DB or "
                                    "TRIAGE_DATABASE_URL"
                                    ) from exc
            reviews = read_feedback(state) if fresh else None
            if reviews is not None:
                store.mark_all_reviewed((f.ticket_id, f.field, f.reviewer) for f in reviews)
            state.predictions = store
        return state.predictions


def get_deadline(x_triage_deadline_ms: Annotated[int, Header(
        ge=1, le=600_000, description="How long this request may wait for the model, in ms; the service "
        "allows at most TRIAGE_REQUEST_DEADLINE_MS. Past it: a 503 and nothing is done.")] = 600_000) -> int:
    return x_triage_deadline_ms


StateDep = Annotated[ServiceState, Depends(get_state)]
DeadlineDep = Annotated[int, Depends(get_deadline)]
TriageDep = Annotated[Triage, Depends(get_triage)]
FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback)]
FeedbackReaderDep = Annotated[FeedbackStore | None, Depends(read_feedback)]
PredictionsDep = Annotated[PredictionStore, Depends(get_predictions)]
