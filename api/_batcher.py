"""Dynamic micro-batching: concurrent requests share one model call.

A model call costs about the same for one ticket as for eight of a batch (the transformer's
per-call overhead, the heads' vectorised algebra), so one call per request under one lock gave 8
single-ticket clients half the throughput of `POST /v1/classify/batch` (issue 19). Here one worker
thread makes every model call. A request queues its tickets and waits; the worker takes what is
waiting (FIFO, up to `TRIAGE_MICROBATCH_MAX_TICKETS`), and when it finds less than that it waits up
to `TRIAGE_MICROBATCH_WAIT_MS` after the oldest arrival for company, then answers every request
from one `Triage.classify_requests` call. That call keeps each request's own semantics (id-less
tickets numbered within their request, undated ones placed within it) and the history's: the
tickets of one micro-batch are searched and recorded in `created_at` order, each seeing the earlier.

Deadlines: a request that the worker has not started within `TRIAGE_REQUEST_DEADLINE_MS` (or the
shorter `X-Triage-Deadline-Ms` it sent) leaves the queue and gets a 503 saying nothing was done, so
a retry is safe; a started call always finishes, because its tickets may already be in the history.

Other model work (KB search, escalation scores, problem listings, the console's pages) runs on the
same worker as exclusive jobs (`call`), so nothing else touches the model's mutable state. The
fair lock (`api/_fairlock.py`) is held around each job only so that a hot reload, which takes it to
warm the new model up and to detach the old one's history, waits its turn and no longer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from triage import Triage
from triage._history import to_epoch
from triage.errors import TriageError
from triage.results import TicketResult

log = logging.getLogger("triage.api.batcher")
T = TypeVar("T")


class BusyError(TriageError):
    """The model did not start this request before its deadline (or the service is stopping): a 503."""

    status = 503
    headers: ClassVar[dict[str, str]] = {"Retry-After": "1"}


@dataclass(eq=False)
class _Job:
    tickets: Sequence[Mapping[str, Any]] | None  # None: an exclusive call
    fn: Callable[[Triage], Any] | None
    record: bool
    deadline: float  # time.monotonic() by which the worker must have started it
    queued: float = field(default_factory=time.monotonic)
    future: Future[Any] = field(default_factory=Future)
    started: bool = False

    @property
    def size(self) -> int:
        return len(self.tickets) if self.tickets is not None else 0


class MicroBatcher:
    """The model's one worker thread, started on first use; `state` is the app's ServiceState."""

    def __init__(self, state: Any) -> None:
        settings = state.settings
        self.state = state
        self.max_tickets = int(settings.microbatch_max_tickets)
        self.max_wait = float(settings.microbatch_wait_ms) / 1000
        self.deadline = float(settings.request_deadline_ms) / 1000
        self._queue: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    # --- what routes call ------------------------------------------------------------------
    def classify(self, tickets: Sequence[Mapping[str, Any]], *, record: bool = True,
                 deadline_ms: float | None = None) -> list[TicketResult]:
        """These tickets' results, from a model call shared with whatever else is waiting."""
        if not tickets:
            return []
        return self._wait(self._submit(_Job(tickets, None, record, self._deadline(deadline_ms))))  # type: ignore[no-any-return]

    def call(self, fn: Callable[[Triage], T], *, deadline_ms: float | None = None) -> T:
        """`fn(model)` on the worker thread, alone: for anything else that reads or writes the model's state."""
        return self._wait(self._submit(_Job(None, fn, False, self._deadline(deadline_ms))))  # type: ignore[no-any-return]

    def queued_tickets(self) -> int:
        with self._cond:
            return sum(j.size for j in self._queue)

    def stop(self, timeout: float = 30) -> None:
        """Finish the running call, refuse what still waits (503), end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # --- queueing ------------------------------------------------------------------------
    def _deadline(self, deadline_ms: float | None) -> float:
        limit = self.deadline if deadline_ms is None else min(self.deadline, deadline_ms / 1000)
        return time.monotonic() + limit

    def _submit(self, job: _Job) -> _Job:
        with self._cond:
            if self._stopping:
                raise BusyError("the service is shutting down and takes no new work; retry on another replica "
                                "or in a few seconds")
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="triage-model", daemon=True)
                self._thread.start()
            self._queue.append(job)
            self._cond.notify_all()
        return job

    def _wait(self, job: _Job) -> Any:
        try:
            return job.future.result(timeout=max(0.0, job.deadline - time.monotonic()))
        except FutureTimeout:
            with self._cond:
                if not job.started:  # still queued: withdraw it, nothing of it was done
                    self._queue.remove(job)
                    raise self._late(job) from None
            return job.future.result()  # started before the deadline: it finishes

    def _late(self, job: _Job) -> BusyError:
        self._count("deadline")
        waited = (time.monotonic() - job.queued) * 1000
        ahead = sum(j.size for j in self._queue)
        return BusyError(f"the model was busy: this request waited {waited:.0f} ms, past its deadline "
                         f"(TRIAGE_REQUEST_DEADLINE_MS={self.deadline * 1000:.0f}, or a shorter X-Triage-Deadline-Ms), "
                         f"with {ahead} tickets still queued, and was not processed (nothing was stored). Retry in a "
                         "second, send tickets together to POST /v1/classify/batch, or run more replicas.")

    # --- the worker ------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            jobs = self._take()
            if jobs is None:
                return
            self._serve(jobs)

    def _take(self) -> list[_Job] | None:
        """The next model call's jobs: an exclusive call alone, or classify jobs up to `max_tickets`."""
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait()
            if self._stopping:
                for job in self._queue:
                    job.future.set_exception(BusyError("the service stopped before this request was processed "
                                                       "(nothing was stored); retry on another replica"))
                self._queue.clear()
                return None
            until = self._queue[0].queued + self.max_wait
            while (self._queue[0].fn is None and sum(j.size for j in self._queue) < self.max_tickets
                   and (left := until - time.monotonic()) > 0 and not self._stopping):
                self._cond.wait(left)  # an idle model waits a moment for company
            jobs = [self._queue.popleft()]
            if jobs[0].fn is None:
                total = jobs[0].size
                while (self._queue and self._queue[0].fn is None and self._queue[0].record == jobs[0].record
                       and total + self._queue[0].size <= self.max_tickets):
                    total += self._queue[0].size
                    jobs.append(self._queue.popleft())
            for job in jobs:
                job.started = True
            return jobs

    def _serve(self, jobs: list[_Job]) -> None:
        metrics = getattr(self.state, "metrics", None)
        now = time.monotonic()
        try:
            with self.state.lock:  # a reload's warm-up and history hand-over wait for the call in progress
                triage = self.state.triage
                if triage is None:
                    raise BusyError("the model is not loaded yet; retry in a few seconds (see /readyz)")
                if jobs[0].fn is not None:
                    jobs[0].future.set_result(jobs[0].fn(triage))
                    return
                if metrics is not None:
                    metrics.observe_batch(len(jobs), sum(j.size for j in jobs), [now - j.queued for j in jobs])
                self._classify(triage, jobs)
        except BaseException as exc:  # every waiter gets an answer, whatever happened
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    def _classify(self, triage: Triage, jobs: list[_Job]) -> None:
        batch_size = int(self.state.settings.batch_size)
        try:
            answers = triage.classify_requests([j.tickets or [] for j in jobs], batch_size=batch_size,
                                               record=jobs[0].record)
        except Exception:
            if len(jobs) == 1:
                raise
            # nothing of a failed call was stored (the history commits once, at its end): one bad request
            # must not fail its neighbours, so each is tried again alone
            log.warning("a micro-batch of %d requests failed; retrying them one by one", len(jobs))
            now = time.time()  # an undated ticket is dated on arrival, about now
            for job in sorted(jobs, key=lambda j: _first_time(j, now)):  # still in created_at order
                try:
                    job.future.set_result(triage.classify_requests([job.tickets or []], batch_size=batch_size,
                                                                   record=job.record)[0])
                except Exception as exc:
                    job.future.set_exception(exc)
            return
        for job, results in zip(jobs, answers, strict=True):
            job.future.set_result(results)

    def _count(self, outcome: str) -> None:
        metrics = getattr(self.state, "metrics", None)
        if metrics is not None:
            metrics.refused.labels(reason=outcome).inc()


def _first_time(job: _Job, now: float) -> float:
    """When a request's earliest ticket was created, for replaying a failed micro-batch in time order."""
    times = [t for t in (to_epoch(x.get("created_at")) for x in job.tickets or []) if t is not None]
    return min(times, default=now)
