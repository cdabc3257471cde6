"""The delivery worker: triage each stored delivery, write back once, retry what fails, learn from people.

One daemon thread per service. It claims the oldest due delivery, reads it as an `Inbound`, learns
the reviews a person's field change implies, triages the ticket (the customer's words so far) under
the service's model lock, and writes back through the helpdesk's writer: the note when the advice
changed (never twice: the delivery's marker is looked for after an interrupted try), tags, fields
only where the ticket still has no value a person chose, and the optional acknowledgement. A
`HelpdeskError` that may pass is retried with exponential backoff; after `delivery_retries` tries,
or at once for one that cannot pass, the delivery is a dead letter.

Every few seconds it also ends quiet incidents (a `close` alert, a closed Telegram topic) and sends
the `resolved` follow-up to the tickets acknowledged as part of them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from api._batcher import BusyError
from api.deps import get_predictions
from api.integrations._ack import Templates
from api.integrations._inbound import Inbound, parse
from api.integrations._mapping import Mapping
from api.integrations._note import advice, digest, html, wiki
from api.integrations._writers import Writer
from triage.deliveries import Delivery, DeliveryStore, TicketMemory
from triage.errors import HelpdeskError
from triage.feedback import FeedbackStore
from triage.results import TicketResult, head_outputs

if TYPE_CHECKING:
    from api.deps import ServiceState

log = logging.getLogger("triage.integrations")
HOUSEKEEPING_SECONDS = 5.0


class DeliveryWorker:
    def __init__(self, state: ServiceState, store: DeliveryStore, mappings: dict[str, Mapping],
                 writers: dict[str, Writer], feedback: Callable[[], FeedbackStore] | None = None) -> None:
        self.state, self.store, self.mappings, self.writers = state, store, mappings, writers
        s = state.settings
        self.settings = s
        self.feedback = feedback
        self.templates = Templates(s.ack_templates)
        self.self_logins = {x.strip().lower() for x in s.helpdesk_self.split(",") if x.strip()}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="triage-deliveries", daemon=True)
        self._followups: dict[str, list[tuple[str, str, str | None]]] = {}  # incident -> (source, ref, language)

    def start(self) -> None:
        resumed = self.store.recover()
        if resumed:
            log.warning("%d deliveries were interrupted by a stop; resuming them (checked against the helpdesk "
                        "before writing)", resumed)
        self._update_gauges()
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        last_housekeeping = 0.0
        while not self._stop.is_set():
            if time.monotonic() - last_housekeeping >= HOUSEKEEPING_SECONDS:
                last_housekeeping = time.monotonic()
                self._housekeeping()
            delivery = self.store.claim()
            if delivery is None:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            self._process(delivery)

    def _process(self, d: Delivery) -> None:
        try:
            outcome = self.handle(d)
        except HelpdeskError as exc:
            self._failed(d, str(exc), exc.retry)
            return
        except Exception as exc:  # a bug or an unexpected answer: keep the delivery, retry it, log the trace
            log.exception("delivery %d (%s) failed", d.id, d.source)
            self._failed(d, f"{type(exc).__name__}: {exc}", True)
            return
        self.store.finish(d.id, outcome)
        metrics = self.state.metrics
        metrics.writebacks.labels(source=d.source, outcome=str(outcome.get("note"))).inc()
        metrics.writeback_seconds.labels(source=d.source).observe(max(0.0, time.time() - d.received_at))
        self._update_gauges()

    def _failed(self, d: Delivery, error: str, retry: bool) -> None:
        s = self.settings
        dead = not retry or d.attempts > s.delivery_retries
        delay = min(300.0, s.delivery_backoff_seconds * 2 ** (d.attempts - 1))
        self.store.fail(d.id, error, None if dead else time.time() + delay)
        (log.error if dead else log.warning)("delivery %d (%s) attempt %d failed: %s%s", d.id, d.source, d.attempts,
                                             error, " — dead letter" if dead else f"; retrying in {delay:.1f} s")
        self._update_gauges()

    def _update_gauges(self) -> None:
        for state, n in self.store.counts().items():
            self.state.metrics.deliveries.labels(state=state).set(n)

    def handle(self, d: Delivery) -> dict[str, Any]:
        """One delivery, start to end; what it did, for the listing."""
        mapping = self.mappings[d.source]
        inbound = parse(d.source, d.payload, mapping)
        memory = self.store.memory(d.source, inbound.ref)
        learned = self._learn(inbound, memory, mapping)
        body = _joined(memory.body, inbound.body)
        if inbound.body is None or not (body or inbound.subject).strip():
            memory.seen = {**(memory.seen or {}), **inbound.fields}
            self.store.remember(d.source, inbound.ref, memory)
            return {"note": "no new customer text", "learned": learned, "ticket_id": inbound.ticket_id}
        result = self._triage(inbound, body or "")
        writer = self.writers.get(d.source)
        adv = advice(result, lambda tid: self._link(writer, tid))
        outcome: dict[str, Any] = {"ticket_id": inbound.ticket_id, "learned": learned, "note": "unchanged"}
        memory.body = body
        if writer is None:
            outcome["note"] = "write-back not configured"
        else:
            h = digest(adv)
            if h != memory.advice_hash:
                marker = f"triage:{d.source}:{d.id}"
                if d.resumed and writer.has_note(inbound.ref, marker):
                    outcome["note"] = "already written"
                else:
                    writer.add_note(inbound.ref, (wiki if d.source == "jira" else html)(adv, marker))
                    outcome["note"] = "written"
                    outcome["draft"] = self._draft(writer, inbound, result, d)
                memory.advice_hash = h
            outcome.update(self._tags_and_fields(writer, inbound, result, memory, mapping))
            if self.settings.acknowledge and not memory.acknowledged:
                outcome["acknowledged"] = self._acknowledge(writer, d, inbound, result)
                memory.acknowledged = True
        memory.suggested = {k: None if v["value"] is None else str(v["value"]) for k, v in head_outputs(result).items()}
        memory.seen = {**(memory.seen or {}), **inbound.fields, **(memory.written or {})}
        self.store.remember(d.source, inbound.ref, memory)
        return outcome

    def _triage(self, inbound: Inbound, body: str) -> TicketResult:
        if self.state.triage is None:
            raise HelpdeskError("the model is not loaded yet", retry=True)
        try:
            result = self.state.batcher.classify([inbound.ticket(body)])[0]  # micro-batched with the API's requests
        except BusyError as exc:
            raise HelpdeskError(str(exc), retry=True) from exc
        self.state.metrics.observe_results([result])
        # the review queue (/ui/review) sees webhook tickets as it sees those of /v1/classify
        get_predictions(self.state).record([inbound.ticket(body)], [result])
        return result

    def _link(self, writer: Writer | None, ticket_id: str) -> str:
        template = self.settings.ticket_url
        if template.startswith(("http://", "https://")) or writer is None:
            return template.format(id=ticket_id)
        return writer.link(ticket_id)

    def _tags_and_fields(self, writer: Writer, inbound: Inbound, result: TicketResult, memory: TicketMemory,
                         mapping: Mapping) -> dict[str, Any]:
        outputs = head_outputs(result)
        tags = [str(outputs[h]["value"]) for h in mapping.tags if h in outputs and outputs[h]["value"] is not None]
        if tags:
            writer.add_tags(inbound.ref, tags)
        wanted: dict[str, str] = {}
        if self.settings.integrations_write_fields and mapping.write:
            heads = mapping.learn
            for name in mapping.write:
                out = outputs.get(heads.get(name, name))
                if out is not None and not out["abstained"] and out["value"] is not None:
                    wanted[name] = mapping.to_helpdesk(name, str(out["value"]))
        if wanted:  # read the ticket now: a value a person set since the webhook is never overwritten
            current = writer.fields(inbound.ref)
            wanted = {k: v for k, v in wanted.items() if mapping.is_default(k, current.get(k))}
            if wanted:
                writer.set_fields(inbound.ref, wanted)
                memory.written = {**(memory.written or {}), **wanted}
        return {"tags": tags, "fields": wanted}

    def _learn(self, inbound: Inbound, memory: TicketMemory, mapping: Mapping) -> list[dict[str, Any]]:
        """A person's change to a field the service suggested, as a review (`source` = the helpdesk)."""
        if self.feedback is None or memory.suggested is None or memory.seen is None:
            return []
        if inbound.actor and inbound.actor.strip().lower() in self.self_logins:
            return []  # the service's own writes are never learned from
        learned = []
        for name, head in mapping.learn.items():
            new, old = inbound.fields.get(name), memory.seen.get(name)
            if name in inbound.changed:
                old, new = inbound.changed[name]
            if head not in memory.suggested or new is None or new == old:
                continue
            review = {"ticket_id": inbound.ticket_id, "field": head, "predicted": memory.suggested[head],
                      "correct": mapping.from_helpdesk(name, new),
                      "reviewer": inbound.actor or f"{inbound.source} user",
                      "source": inbound.source, "ticket_known": True}
            self.feedback().add(review)
            get_predictions(self.state).mark_reviewed(inbound.ticket_id, head, str(review["reviewer"]))
            learned.append({"field": head, "correct": review["correct"]})
        return learned

    def _draft(self, writer: Writer, inbound: Inbound, result: TicketResult, d: Delivery) -> bool:
        """A confident KB answer as an internal draft for the agent; sent to nobody."""
        hits = result.get("kb") or []
        if not self.settings.kb_draft or not hits or float(hits[0]["score"]) < self.settings.kb_draft_min_score:
            return False
        top = hits[0]
        text = self.templates.render("draft", result.get("language"), title=top["title"], url=top.get("url") or "",
                                     snippet=top.get("snippet") or "")
        writer.add_note(inbound.ref, text + f"<p><small>triage-draft:{d.source}:{d.id}</small></p>")
        return True

    def _acknowledge(self, writer: Writer, d: Delivery, inbound: Inbound, result: TicketResult) -> str:
        lang = result.get("language")
        spike = getattr(getattr(self.state.triage, "recurring", None), "spike", None)
        incident = spike.incident_of(inbound.ticket_id) if spike is not None else None
        if incident is not None:
            since = time.strftime("%H:%M", time.gmtime(incident.started))
            text = self.templates.render("incident", lang, ticket_id=inbound.ticket_id, incident=incident.title,
                                         since=since)
            self._followups.setdefault(incident.key, []).append((d.source, inbound.ref, lang))
            kind = "incident"
        else:
            text, kind = self.templates.render("received", lang, ticket_id=inbound.ticket_id), "received"
        marker = f"<!-- triage-ack:{d.source}:{inbound.ref} -->"
        if not (d.resumed and writer.has_note(inbound.ref, marker)):
            writer.reply(inbound.ref, text + marker)
        return kind

    def _housekeeping(self) -> None:
        spike = getattr(getattr(self.state.triage, "recurring", None), "spike", None)
        if spike is None:
            return
        over = self.state.batcher.call(lambda _: spike.expire(time.time(), wall_clock=True))
        for incident in over:
            for source, ref, lang in self._followups.pop(incident.key, []):
                writer = self.writers.get(source)
                if writer is None:
                    continue
                try:
                    writer.reply(ref, self.templates.render("resolved", lang, incident=incident.title))
                except HelpdeskError as exc:
                    log.error("follow-up for %s %s failed: %s", source, ref, exc)


def _joined(before: str | None, new: str | None) -> str | None:
    """The customer's words so far: a new article appended, one already there (a resent trigger) not twice."""
    if before is None or new is None:
        return new if before is None else before
    return before if new.strip() in before else f"{before}\n\n{new}"
