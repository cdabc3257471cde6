"""Replicas on one database: each keeps its own vector index and takes in what the others stored.

With `TRIAGE_DATABASE_URL` set, the service asks the database every `TRIAGE_CATCH_UP_SECONDS`
(0.5 s by default) for ticket rows it has not indexed (`TicketHistory.catch_up`: by row id, holes
included), so a ticket replica A stored is found by replica B's similar-ticket search within about a
second (contract §8 asks for 2). Polling by id, not LISTEN/NOTIFY, works the same on SQLite and costs
one indexed query per interval; open incidents are read again at the same time, so a burst spread
over replicas grows one incident. Reviews, the review queue and deliveries need nothing: every
replica reads them from the database on each request.
"""

from __future__ import annotations

import asyncio
import logging

from api.deps import ServiceState
from triage import Triage

log = logging.getLogger("triage.api")


async def catch_up_forever(state: ServiceState, seconds: float) -> None:
    """Until cancelled (the service stops): index other replicas' tickets; a failed poll is logged, not fatal."""
    failing = False
    while True:
        await asyncio.sleep(seconds)
        triage = state.triage
        if triage is None or triage.recurring is None:
            continue
        try:  # on the model's thread, between micro-batches: the history and incidents it appends to
            rows = await asyncio.to_thread(state.batcher.call, _take_in)
        except Exception as exc:  # the database is away for a moment: keep serving, try again
            if not failing:
                log.warning("cannot take in other replicas' tickets: %s", exc)
            failing = True
            continue
        if failing:
            log.info("taking in other replicas' tickets again")
        failing = False
        if rows:
            log.debug("took in tickets other replicas stored", extra={"tickets": len(rows)})


def _take_in(triage: Triage) -> list[object]:
    """Other replicas' tickets into this one's index, and the incidents they opened (updated, not doubled)."""
    recurring = triage.recurring
    if recurring is None:  # a reload swapped in a model without a history
        return []
    rows = recurring.history.catch_up()
    if recurring.spike is not None:
        recurring.spike.refresh()
    return list(rows)
