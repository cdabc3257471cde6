"""Stand-in helpdesks and Bot API for tests, benchmarks and a local try-out: the documented endpoints only.

No Zammad, Jira, Znuny or Telegram can run on a test machine, so these implement the calls the
service makes, as each vendor documents them — Zammad's REST API (`/api/v1/ticket_articles`,
`/api/v1/tags/add`, `/api/v1/tickets/{id}`), Jira's platform REST API v2 (issue, comment), Znuny's
GenericTicketConnectorREST (`/Ticket/:TicketID`) and the Bot API methods the gateway and alerts use
— check the credentials, record every call, and fail on demand (`fail(n, status)` for the next n
calls, `error_rate` for a random share), so retries and dead letters are tested against real HTTP.

`Standin.serve()` runs one on 127.0.0.1 in a thread under a real uvicorn server.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from api.testing import free_port


@dataclass
class Standin:
    token: str = "standin-token"
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    articles: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tags: dict[str, list[str]] = field(default_factory=dict)
    error_rate: float = 0.0
    delay: float = 0.0  # seconds a write waits, after it is recorded, before it is answered (a kill falls there)
    _fail: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    _server: uvicorn.Server | None = None

    def fail(self, n: int, status: int = 503) -> None:
        with self._lock:
            self._fail.extend([status] * n)

    def _record(self, method: str, path: str, body: Any) -> int | None:
        """Record the call; the status to fail it with, if it must fail."""
        with self._lock:
            self.calls.append((method, path, body))
            if self._fail:
                return self._fail.pop(0)
            if self.error_rate and random.random() < self.error_rate:
                return 503
        return None

    def notes(self, ref: str) -> list[dict[str, Any]]:
        return [a for a in self.articles.get(str(ref), []) if a.get("internal")]

    def app(self) -> FastAPI:
        raise NotImplementedError

    def serve(self) -> Standin:
        port = free_port()
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        threading.Thread(target=self._server.run, daemon=True).start()
        deadline = time.time() + 10
        while not self._server.started and time.time() < deadline:
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True


def _guard(standin: Standin, request: Request, body: Any, auth_ok: bool) -> None:
    if not auth_ok:
        raise HTTPException(401, "bad credentials")
    status = standin._record(request.method, request.url.path, body)
    if status is not None:
        raise HTTPException(status, "injected failure")


class ZammadStandin(Standin):
    def app(self) -> FastAPI:
        app = FastAPI()

        async def checked(request: Request) -> Any:
            body = await request.json() if request.method in ("POST", "PUT") else None
            _guard(self, request, body, request.headers.get("authorization") == f"Token token={self.token}")
            return body

        @app.post("/api/v1/ticket_articles")
        async def article(request: Request) -> dict[str, Any]:
            body = await checked(request)
            tid = str(body["ticket_id"])
            with self._lock:
                entry = {**body, "id": sum(len(v) for v in self.articles.values()) + 1}
                self.articles.setdefault(tid, []).append(entry)
            await asyncio.sleep(self.delay)
            return entry

        @app.get("/api/v1/ticket_articles/by_ticket/{tid}")
        async def by_ticket(tid: str, request: Request) -> list[dict[str, Any]]:
            await checked(request)
            return list(self.articles.get(tid, []))

        @app.post("/api/v1/tags/add")
        async def tag(request: Request) -> bool:
            body = await checked(request)
            with self._lock:
                tags = self.tags.setdefault(str(body["o_id"]), [])
                if body["item"] not in tags:
                    tags.append(body["item"])
            return True

        @app.get("/api/v1/tickets/{tid}")
        async def ticket(tid: str, request: Request) -> dict[str, Any]:
            await checked(request)
            return self.tickets.setdefault(tid, {"id": int(tid)})

        @app.put("/api/v1/tickets/{tid}")
        async def update(tid: str, request: Request) -> dict[str, Any]:
            body = await checked(request)
            with self._lock:
                self.tickets.setdefault(tid, {"id": int(tid)}).update(body)
            return self.tickets[tid]

        return app


class JiraStandin(Standin):
    user: str = "triage@example.com"

    def app(self) -> FastAPI:
        app = FastAPI()

        async def checked(request: Request) -> Any:
            raw = await request.body()
            body = await request.json() if raw else None
            import base64
            basic = "Basic " + base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
            _guard(self, request, body, request.headers.get("authorization") in (basic, f"Bearer {self.token}"))
            return body

        def issue_json(key: str, request: Request) -> dict[str, Any]:
            issue = self.tickets.setdefault(key, {"labels": [], "components": []})
            return {"id": key, "key": key, "self": f"{str(request.base_url).rstrip('/')}/rest/api/2/issue/{key}",
                    "fields": issue}

        @app.get("/rest/api/2/issue/{key}")
        async def get_issue(key: str, request: Request) -> dict[str, Any]:
            await checked(request)
            return issue_json(key, request)

        @app.put("/rest/api/2/issue/{key}")
        async def put_issue(key: str, request: Request) -> Response:
            body = await checked(request) or {}
            with self._lock:
                issue = self.tickets.setdefault(key, {"labels": [], "components": []})
                for op in (body.get("update") or {}).get("labels", []):
                    if op.get("add") and op["add"] not in issue["labels"]:
                        issue["labels"].append(op["add"])
                for op in (body.get("update") or {}).get("components", []):
                    if op.get("add"):
                        issue["components"].append(op["add"])
                for op in (body.get("update") or {}).get("priority", []):
                    issue["priority"] = op.get("set")
            return Response(status_code=204)

        @app.get("/rest/api/2/issue/{key}/comment")
        async def comments(key: str, request: Request) -> dict[str, Any]:
            await checked(request)
            found = list(self.articles.get(key, []))
            return {"comments": found, "startAt": 0, "maxResults": len(found), "total": len(found)}

        @app.post("/rest/api/2/issue/{key}/comment", status_code=201)
        async def comment(key: str, request: Request) -> dict[str, Any]:
            body = await checked(request)
            internal = any(p.get("key") == "sd.public.comment" and (p.get("value") or {}).get("internal")
                           for p in body.get("properties") or [])
            with self._lock:
                entry = {**body, "id": str(sum(len(v) for v in self.articles.values()) + 1), "internal": internal,
                         "self": f"{str(request.base_url).rstrip('/')}/rest/api/2/issue/{key}/comment"}
                self.articles.setdefault(key, []).append(entry)
            return entry

        return app


class ZnunyStandin(Standin):
    user: str = "triage"

    def app(self) -> FastAPI:
        app = FastAPI()

        def ok(creds: dict[str, Any]) -> bool:
            return creds.get("UserLogin") == self.user and creds.get("Password") == self.token

        @app.get("/Ticket/{tid}")
        async def get(tid: str, request: Request) -> Any:
            params = dict(request.query_params)
            if not ok(params):
                return {"Error": {"ErrorCode": "TicketGet.AuthFail", "ErrorMessage": "authentication failed"}}
            _guard(self, request, None, True)
            ticket = self.tickets.setdefault(tid, {"TicketID": tid})
            return {"Ticket": [{**ticket, "Article": list(self.articles.get(tid, []))}]}

        @app.patch("/Ticket/{tid}")
        async def update(tid: str, request: Request) -> Any:
            body = await request.json()
            if not ok(body):
                return JSONResponse({"Error": {"ErrorCode": "TicketUpdate.AuthFail",
                                               "ErrorMessage": "authentication failed"}})
            _guard(self, request, body, True)
            with self._lock:
                ticket = self.tickets.setdefault(tid, {"TicketID": tid})
                ticket.update(body.get("Ticket") or {})
                for d in body.get("DynamicField") or []:
                    ticket.setdefault("DynamicField", []).append(d)
                article = body.get("Article")
                if article:
                    self.articles.setdefault(tid, []).append(
                        {**article, "internal": not article.get("IsVisibleForCustomer")})
            return {"TicketID": tid, "TicketNumber": ticket.get("TicketNumber", tid)}

        return app


@dataclass
class TelegramStandin(Standin):
    """Bot API: getMe, getUpdates (from `updates`), sendMessage, getChat, createForumTopic, closeForumTopic."""

    forum: bool = True
    updates: list[dict[str, Any]] = field(default_factory=list)
    topics: dict[int, dict[str, Any]] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)

    def push(self, chat_id: int, text: str, thread: int | None = None) -> int:
        """Queue a user's message as the Bot API would deliver it; returns its update_id."""
        with self._lock:
            uid = 1000 + len(self.updates)
            message = {"message_id": uid, "date": int(time.time()), "text": text,
                       "chat": {"id": chat_id, "type": "supergroup", "is_forum": self.forum},
                       "from": {"id": 7, "is_bot": False, "first_name": "Duty"}}
            if text.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            if thread is not None:
                message["message_thread_id"] = thread
            self.updates.append({"update_id": uid, "message": message})
            return uid

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/bot{token}/{method}")
        async def call(token: str, method: str, request: Request) -> Any:
            raw = await request.body()
            kind = request.headers.get("content-type", "")
            if "json" in kind:
                body: dict[str, Any] = json.loads(raw) if raw else {}
            else:  # python-telegram-bot posts form fields, JSON-encoding the structured ones
                body = {k: _maybe_json(str(v)) for k, v in (await request.form()).items()}
            if token != self.token:
                return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
            status = self._record("POST", method, body)
            if status is not None:
                return JSONResponse({"ok": False, "error_code": status, "description": "injected"}, status)
            result = self._answer(method, body)
            if method == "getUpdates" and not result:  # long polling: wait a little rather than spin
                await asyncio.sleep(min(0.2, float(body.get("timeout") or 0)))
            return {"ok": True, "result": result}

        return app

    def _answer(self, method: str, body: dict[str, Any]) -> Any:
        now = int(time.time())
        if method == "getMe":
            return {"id": 42, "is_bot": True, "first_name": "triage", "username": "triage_bot"}
        if method == "getUpdates":
            offset = int(body.get("offset") or 0)
            return [u for u in self.updates if u["update_id"] >= offset]
        if method == "getChat":
            return {"id": int(body["chat_id"]), "type": "supergroup", "title": "duty", "is_forum": self.forum}
        if method == "createForumTopic":
            thread = 500 + len(self.topics)
            self.topics[thread] = {"name": body["name"], "closed": False}
            return {"message_thread_id": thread, "name": body["name"], "icon_color": 7322096}
        if method == "closeForumTopic":
            self.topics[int(body["message_thread_id"])]["closed"] = True
            return True
        if method == "sendMessage":
            self.sent.append(body)
            return {"message_id": 9000 + len(self.sent), "date": now, "text": body.get("text"),
                    "chat": {"id": int(body["chat_id"]), "type": "supergroup"}}
        return True


def _maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value
