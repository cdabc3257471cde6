"""The integrations of one service: the delivery store, the mappings, the writers and the worker, built once."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from api.integrations._mapping import Mapping, load_mappings
from api.integrations._worker import DeliveryWorker
from api.integrations._writers import Writer, writers
from triage.deliveries import DeliveryStore
from triage.feedback import FeedbackStore, open_feedback

if TYPE_CHECKING:
    from api.deps import ServiceState

_opening = threading.Lock()


@dataclass
class Integrations:
    store: DeliveryStore
    mappings: dict[str, Mapping]
    writers: dict[str, Writer]
    worker: DeliveryWorker

    @classmethod
    def open(cls, state: ServiceState) -> Integrations:
        """Build and start once; the mapping and template files are read here, so a bad one says its name."""
        with _opening:
            if state.integrations is not None:
                return state.integrations  # type: ignore[no-any-return]
            s = state.settings
            mappings = load_mappings(s.integrations_config)
            out = writers(s, mappings)
            store = DeliveryStore(s.deliveries_target)
            worker = DeliveryWorker(state, store, mappings, out, lambda: _feedback(state))
            worker.start()
            state.integrations = cls(store, mappings, out, worker)
            return state.integrations

    @staticmethod
    def wanted(state: ServiceState) -> bool:
        """At start-up: deliveries wait in the store (resume them), or a helpdesk is configured for write-back."""
        s = state.settings
        return s.stored(s.deliveries_db) or bool(s.zammad_url or s.jira_url or s.znuny_url)

    def close(self) -> None:
        self.worker.stop()
        self.store.close()


def _feedback(state: ServiceState) -> FeedbackStore:
    """The review store, opened on the first learned review (as `POST /v1/feedback` opens it)."""
    with state.opening_feedback:
        if state.feedback is None:
            state.feedback = open_feedback(state.settings.feedback_target)
        return state.feedback
