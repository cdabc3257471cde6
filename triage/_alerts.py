"""Incident alerts to a webhook and/or a Telegram chat, delivered off the request path.

Classification must never wait for, or fail because of, a chat service: events go onto a queue that
one daemon thread drains, retrying transient failures (network errors, 429, 5xx) with exponential
backoff and logging what it finally could not deliver. Where the Telegram chat has topics, an incident
opens a forum topic named after it (`[Инцидент][<module>] – <title> с HH:MM`), its updates go there and
the topic is closed when the incident ends; elsewhere updates reply to the incident's first message.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger("triage.alerts")


@dataclass
class AlertConfig:
    webhook_url: str | None = None
    telegram_token: str | None = None
    telegram_chat_id: str | None = None
    telegram_thread_id: int | None = None
    telegram_api_url: str = "https://api.telegram.org"
    retries: int = 4
    backoff_seconds: float = 0.5
    timeout_seconds: float = 5.0

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url or (self.telegram_token and self.telegram_chat_id))


@dataclass
class AlertEvent:
    kind: str  # 'open', 'update' or 'close'
    incident: str
    text: str
    payload: dict[str, Any] = field(default_factory=dict)


class AlertSender:
    """Queue + worker thread; `send` never blocks and never raises."""

    def __init__(self, config: AlertConfig) -> None:
        self.config = config
        self._queue: queue.Queue[AlertEvent | None] = queue.Queue()
        self._client = httpx.Client(timeout=config.timeout_seconds)
        self._first_message: dict[str, int] = {}  # incident -> Telegram message id to reply to
        self._topics: dict[str, int] = {}  # incident -> forum topic (message_thread_id) where the chat has topics
        self._forum: bool | None = None
        self.delivered: list[tuple[str, str]] = []  # (channel, incident) — what went out, for /v1/model and tests
        self.failed: list[tuple[str, str]] = []
        self._thread = threading.Thread(target=self._run, name="triage-alerts", daemon=True)
        self._thread.start()

    def send(self, event: AlertEvent) -> None:
        self._queue.put(event)

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (up to `timeout`), then stop the worker."""
        self._queue.put(None)
        self._thread.join(timeout)
        self._client.close()

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            try:
                self._deliver(event)
            except Exception:  # the worker must survive anything a channel does
                log.exception("alert %s for %s could not be delivered", event.kind, event.incident)

    def _deliver(self, event: AlertEvent) -> None:
        cfg = self.config
        if cfg.webhook_url:
            body = {"event": event.kind, "incident": event.incident, "text": event.text, **event.payload}
            self._post("webhook", cfg.webhook_url, body, event)
        if cfg.telegram_token and cfg.telegram_chat_id:
            self._telegram(event)

    def _method(self, name: str) -> str:
        return f"{self.config.telegram_api_url.rstrip('/')}/bot{self.config.telegram_token}/{name}"

    def _is_forum(self, event: AlertEvent) -> bool:
        """Whether the chat has topics (asked once): then each incident gets its own forum topic."""
        if self._forum is None:
            reply = self._post("telegram", self._method("getChat"), {"chat_id": self.config.telegram_chat_id}, event)
            self._forum = bool(((reply or {}).get("result") or {}).get("is_forum"))
        return self._forum

    def _telegram(self, event: AlertEvent) -> None:
        """Open: a topic named after the incident where the chat has topics, else a message replied to later."""
        cfg = self.config
        if event.kind == "open" and event.incident not in self._topics and self._is_forum(event):
            name = str(event.payload.get("header") or event.text.splitlines()[0])[:128]
            reply = self._post("telegram", self._method("createForumTopic"),
                               {"chat_id": cfg.telegram_chat_id, "name": name}, event)
            thread = ((reply or {}).get("result") or {}).get("message_thread_id")
            if thread is not None:
                self._topics[event.incident] = int(thread)
        body: dict[str, Any] = {"chat_id": cfg.telegram_chat_id, "text": event.text, "disable_web_page_preview": True}
        topic = self._topics.get(event.incident)
        if topic is not None:
            body["message_thread_id"] = topic
        else:
            if cfg.telegram_thread_id is not None:
                body["message_thread_id"] = cfg.telegram_thread_id
            if event.incident in self._first_message:
                body["reply_to_message_id"] = self._first_message[event.incident]
        reply = self._post("telegram", self._method("sendMessage"), body, event)
        message_id = ((reply or {}).get("result") or {}).get("message_id")
        if event.kind == "open" and message_id is not None:
            self._first_message[event.incident] = int(message_id)
        if event.kind == "close" and topic is not None:
            self._post("telegram", self._method("closeForumTopic"),
                       {"chat_id": cfg.telegram_chat_id, "message_thread_id": topic}, event)

    def _post(self, channel: str, url: str, body: dict[str, Any], event: AlertEvent) -> dict[str, Any] | None:
        cfg = self.config
        shown = url.split("/bot")[0] if channel == "telegram" else url  # never log the bot token
        for attempt in range(cfg.retries + 1):
            try:
                res = self._client.post(url, json=body)
                if res.status_code < 300:
                    self.delivered.append((channel, event.incident))
                    return res.json() if "json" in res.headers.get("content-type", "") else None
                retry = res.status_code == 429 or res.status_code >= 500
                reason = f"HTTP {res.status_code}: {res.text[:200]}"
            except httpx.HTTPError as exc:
                retry, reason = True, f"{type(exc).__name__}: {exc}"
            if not retry or attempt == cfg.retries:
                log.error("%s alert %s for %s failed after %d attempt(s) (%s): %s", channel, event.kind,
                          event.incident, attempt + 1, shown, reason)
                self.failed.append((channel, event.incident))
                return None
            log.warning("%s alert %s for %s: %s; retrying", channel, event.kind, event.incident, reason)
            time.sleep(cfg.backoff_seconds * 2 ** attempt)
        return None
