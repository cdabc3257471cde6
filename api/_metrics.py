"""Prometheus metrics and the one structured log line per request.

Each app owns its registry (tests build several apps in one process). Route labels are the route
*templates*, and anything unmatched is `unmatched`, so a fuzzer or a scanner cannot blow up label
cardinality. Nothing here sees a ticket text: results are counted, requests are timed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from triage._prediction_drift import DriftMonitor, HeadDrift
from triage.results import TicketResult, head_outputs

access = logging.getLogger("triage.access")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("triage_requests_total", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("triage_request_seconds", "Request latency by route", ["method", "route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.predictions = Counter("triage_predictions_total", "Head outputs, answered or abstained",
                                   ["head", "outcome"], registry=r)
        self.truncated = Counter("triage_truncated_texts_total", "Texts longer than the embedder window", registry=r)
        self.model = Gauge("triage_model_info", "The model version served (value 1)", ["model_version"], registry=r)
        self.reloads = Counter("triage_reloads_total", "Model reloads by result", ["result"], registry=r)
        self.deliveries = Gauge("triage_deliveries", "Helpdesk deliveries by state (dead = dead letters)", ["state"],
                                registry=r)
        self.writebacks = Counter("triage_writebacks_total", "Deliveries worked off, by helpdesk and what the note "
                                  "did", ["source", "outcome"], registry=r)
        self.writeback_seconds = Histogram("triage_writeback_seconds", "From webhook received to write-back done",
                                           ["source"], buckets=(*LATENCY_BUCKETS, 30.0, 60.0, 300.0), registry=r)
        self.psi = Gauge("triage_prediction_psi", "PSI of the head's served predictions (rolling window) against "
                         "its held-out predictions at training", ["head"], registry=r)
        self.confidence = Gauge("triage_prediction_mean_confidence", "Mean confidence of the head's served "
                                "predictions in the rolling window", ["head"], registry=r)
        self.drifted = Gauge("triage_prediction_drift", "1 while the head's PSI is past TRIAGE_DRIFT_PSI_THRESHOLD",
                             ["head"], registry=r)
        self.batch_requests = Histogram("triage_microbatch_requests", "Requests answered by one model call "
                                        "(its count is the number of model calls)", buckets=(1, 2, 4, 8, 16, 32, 64),
                                        registry=r)
        self.batch_tickets = Histogram("triage_microbatch_tickets", "Tickets in one model call",
                                       buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512), registry=r)
        self.queue_wait = Histogram("triage_queue_wait_seconds", "From a request queued to its model call started",
                                    buckets=LATENCY_BUCKETS, registry=r)
        self.refused = Counter("triage_refused_total", "Requests answered 503 before the model started them",
                               ["reason"], registry=r)
        self.drift: DriftMonitor | None = None

    def observe_batch(self, requests: int, tickets: int, waits: Sequence[float]) -> None:
        """One micro-batched model call: how many requests and tickets shared it, how long each waited."""
        self.batch_requests.observe(requests)
        self.batch_tickets.observe(tickets)
        for wait in waits:
            self.queue_wait.observe(wait)

    def watch_drift(self, manifest: dict[str, Any], settings: Any, alert: Any | None = None) -> None:
        """A fresh rolling window for the model now served (after start-up and every reload)."""
        self.drift = DriftMonitor(manifest, settings.drift_window, settings.drift_psi_threshold,
                                  settings.drift_min_predictions, alert)
        for gauge in (self.psi, self.confidence, self.drifted):
            gauge.clear()

    def _observe_drift(self, results: Sequence[TicketResult]) -> None:
        if self.drift is None:
            return
        self.drift.observe([head_outputs(r) for r in results])
        for d in self.drift.report():
            if d.psi is not None:
                self.psi.labels(head=d.head).set(d.psi)
                self.drifted.labels(head=d.head).set(1 if d.drifted else 0)
            if d.mean_confidence is not None:
                self.confidence.labels(head=d.head).set(d.mean_confidence)

    def set_model(self, version: str) -> None:
        self.model.clear()
        self.model.labels(model_version=version).set(1)

    def observe_results(self, results: Sequence[TicketResult]) -> None:
        for result in results:
            for head, out in head_outputs(result).items():
                self.predictions.labels(head=head, outcome="abstained" if out["abstained"] else "answered").inc()
            if result["truncated"]:
                self.truncated.inc()
        self._observe_drift(results)
        if results:
            access.info("classified", extra={"ticket_ids": [r["ticket_id"] for r in results][:50],
                                             "model_version": results[0]["model_version"]})


class RequestMetrics:
    """ASGI middleware: time every HTTP request, count it, log one line (route, status, latency, key name)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # if the app raises before answering, the server answers 500

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self._record(scope, status, time.perf_counter() - start)

    def _record(self, scope: dict[str, Any], status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope.get("method", "")
        self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
        self.metrics.latency.labels(method=method, route=route).observe(seconds)
        principal = (scope.get("state") or {}).get("principal")
        access.info("request", extra={"method": method, "route": route, "status": status,
                                      "latency_ms": round(seconds * 1000, 2),
                                      "key": getattr(principal, "name", None)})


def drift_alert(settings: Any) -> Any | None:
    """A callable sending a drift alert through the incident channels (webhook, Telegram), or None."""
    from triage._alerts import AlertConfig, AlertEvent, AlertSender

    config = AlertConfig(webhook_url=settings.alert_webhook_url, telegram_token=settings.telegram_bot_token,
                         telegram_chat_id=settings.telegram_chat_id, telegram_thread_id=settings.telegram_thread_id,
                         telegram_api_url=settings.telegram_api_url)
    if not config.enabled:
        return None
    sender = AlertSender(config)

    def send(drift: HeadDrift) -> None:
        sender.send(AlertEvent("open", f"drift-{drift.head}", f"[Дрейф][{drift.head}] "
                               + drift.sentence(settings.drift_psi_threshold),
                               {"kind": "drift", "head": drift.head, "psi": drift.psi}))
    return send
