"""Write-back clients: the internal note, tags/labels, fields and the public reply, per helpdesk.

Zammad goes through `zammad_py` and Jira through `jira` (the maintained clients); Znuny has no
Python client, so its GenericTicketConnector REST web service is called with httpx. Every failure
becomes a `HelpdeskError` whose `retry` says whether trying again can help (5xx, 429, timeouts) or
not (a wrong token, a deleted ticket), which is all the worker needs to know.

Each writer also answers `has_note(ref, marker)`, so a delivery interrupted after its note went out
is not written twice, and `fields(ref)`, the ticket's values just before a field is filled, so a value
a person set in the meantime is never overwritten.

Token permissions (README, "Helpdesk integrations"): Zammad `ticket.agent` on the groups served;
Jira "Browse projects", "Add comments", "Edit issues" (JSM: a service-desk agent); Znuny an agent with
`rw` on the queues served.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

import httpx
import requests

from api.integrations._mapping import Mapping, dig
from triage import Settings
from triage.errors import HelpdeskError

log = logging.getLogger("triage.integrations")


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500 or status == 408


class Writer(Protocol):
    source: str

    def has_note(self, ref: str, marker: str) -> bool: ...
    def add_note(self, ref: str, note: str) -> None: ...
    def reply(self, ref: str, text: str) -> None: ...
    def add_tags(self, ref: str, tags: list[str]) -> None: ...
    def fields(self, ref: str) -> dict[str, str]: ...
    def set_fields(self, ref: str, values: dict[str, str]) -> None: ...
    def link(self, ticket_id: str) -> str: ...


class _Timeout(requests.adapters.HTTPAdapter):
    def __init__(self, timeout: float) -> None:
        super().__init__(max_retries=0)
        self.timeout = timeout

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        return super().send(request, **kwargs)


def _guard_requests(session: requests.Session, what: str, timeout: float) -> None:
    """Statuses and timeouts of a `requests` session as HelpdeskError, before the client library sees them."""
    def check(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code >= 400:
            raise HelpdeskError(f"{what} answered HTTP {response.status_code} to {response.request.method} "
                                f"{response.request.path_url.split('?')[0]}",
                                retry=_retryable(response.status_code), status=response.status_code)
    session.hooks["response"].append(check)
    for prefix in ("http://", "https://"):
        session.mount(prefix, _Timeout(timeout))


def _calling(what: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except HelpdeskError:
        raise
    except (requests.ConnectionError, requests.Timeout, httpx.TransportError) as exc:
        raise HelpdeskError(f"{what} unreachable ({type(exc).__name__})", retry=True) from exc


class ZammadWriter:
    source = "zammad"

    def __init__(self, settings: Settings, mapping: Mapping) -> None:
        from zammad_py import ZammadAPI

        assert settings.zammad_url and settings.zammad_token
        self.base = settings.zammad_url.rstrip("/")
        self.client = ZammadAPI(url=f"{self.base}/api/v1/", http_token=settings.zammad_token)
        _guard_requests(self.client.session, "Zammad", settings.helpdesk_timeout_seconds)
        self.mapping = mapping

    def has_note(self, ref: str, marker: str) -> bool:
        articles = _calling("Zammad", lambda: self.client.ticket.articles(int(ref)))
        return any(marker in str(a.get("body", "")) for a in articles or [] if isinstance(a, dict))

    def add_note(self, ref: str, note: str) -> None:
        _calling("Zammad", lambda: self.client.ticket_article.create({
            "ticket_id": int(ref), "body": note, "content_type": "text/html", "type": "note", "internal": True}))

    def reply(self, ref: str, text: str) -> None:
        _calling("Zammad", lambda: self.client.ticket_article.create({
            "ticket_id": int(ref), "body": text, "content_type": "text/html", "type": "web", "internal": False,
            "sender": "Agent"}))

    def add_tags(self, ref: str, tags: list[str]) -> None:
        for tag in tags:
            _calling("Zammad", partial(self.client.ticket_tag.add, int(ref), tag))

    def fields(self, ref: str) -> dict[str, str]:
        ticket = _calling("Zammad", lambda: self.client.ticket.find(int(ref)))
        return _values(self.mapping, {"ticket": ticket})

    def set_fields(self, ref: str, values: dict[str, str]) -> None:
        _calling("Zammad", lambda: self.client.ticket.update(int(ref), dict(values)))

    def link(self, ticket_id: str) -> str:
        return f"{self.base}/#search/{ticket_id}"


class JiraWriter:
    source = "jira"

    def __init__(self, settings: Settings, mapping: Mapping) -> None:
        from jira import JIRA

        assert settings.jira_url and settings.jira_token
        self.base = settings.jira_url.rstrip("/")
        auth: dict[str, Any] = ({"basic_auth": (settings.jira_user, settings.jira_token)} if settings.jira_user
                                else {"token_auth": settings.jira_token})
        self.client = JIRA(server=self.base, get_server_info=False, max_retries=0,
                           timeout=settings.helpdesk_timeout_seconds, **auth)
        _guard_requests(self.client._session, "Jira", settings.helpdesk_timeout_seconds)
        self.visibility = settings.jira_comment_role
        self.mapping = mapping

    def has_note(self, ref: str, marker: str) -> bool:
        comments = _calling("Jira", lambda: self.client.comments(ref))
        return any(marker in str(getattr(c, "body", "")) for c in comments)

    def add_note(self, ref: str, note: str) -> None:
        visibility = {"type": "role", "value": self.visibility} if self.visibility else None
        _calling("Jira", lambda: self.client.add_comment(ref, note, visibility=visibility, is_internal=True))

    def reply(self, ref: str, text: str) -> None:
        _calling("Jira", lambda: self.client.add_comment(ref, text, is_internal=False))

    def add_tags(self, ref: str, tags: list[str]) -> None:
        labels = [t.replace(" ", "_") for t in tags]  # Jira labels carry no spaces
        if labels:
            issue = _calling("Jira", lambda: self.client.issue(ref, fields="labels"))
            _calling("Jira", lambda: issue.update(update={"labels": [{"add": label} for label in labels]}))

    def fields(self, ref: str) -> dict[str, str]:
        issue = _calling("Jira", lambda: self.client.issue(ref))
        return _values(self.mapping, {"issue": issue.raw})

    def set_fields(self, ref: str, values: dict[str, str]) -> None:
        update: dict[str, Any] = {}
        for name, value in values.items():
            if name == "component":
                update["components"] = [{"add": {"name": value}}]
            elif name == "priority":
                update["priority"] = [{"set": {"name": value}}]
            else:
                update[name] = [{"set": value}]
        issue = _calling("Jira", lambda: self.client.issue(ref, fields="summary"))
        _calling("Jira", lambda: issue.update(update=update))

    def link(self, ticket_id: str) -> str:
        return f"{self.base}/browse/{ticket_id}"


class ZnunyWriter:
    """GenericTicketConnectorREST: `TicketGet` (GET /Ticket/:TicketID) and `TicketUpdate` (PATCH /Ticket/:TicketID)."""

    source = "znuny"

    def __init__(self, settings: Settings, mapping: Mapping) -> None:
        assert settings.znuny_url and settings.znuny_user and settings.znuny_password
        self.base = settings.znuny_url.rstrip("/")
        self.auth = {"UserLogin": settings.znuny_user, "Password": settings.znuny_password}
        self.http = httpx.Client(timeout=settings.helpdesk_timeout_seconds)
        self.mapping = mapping
        self.ticket_url = settings.znuny_ticket_url

    def _call(self, method: str, ref: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        def go() -> dict[str, Any]:
            if method == "GET":
                res = self.http.get(f"{self.base}/Ticket/{ref}",
                                    params={**self.auth, "AllArticles": 1, "DynamicFields": 1})
            else:
                res = self.http.request(method, f"{self.base}/Ticket/{ref}", json={**self.auth, **(body or {})})
            if res.status_code >= 400:
                raise HelpdeskError(f"Znuny answered HTTP {res.status_code} to {method} /Ticket",
                                    retry=_retryable(res.status_code), status=res.status_code)
            data = res.json()
            if isinstance(data, dict) and data.get("Error"):  # Znuny reports refusals with HTTP 200
                code = str(data["Error"].get("ErrorCode", "error"))
                raise HelpdeskError(f"Znuny refused {method} /Ticket: {code}", retry=False)
            return data if isinstance(data, dict) else {}
        return dict(_calling("Znuny", go))

    def _ticket(self, ref: str) -> dict[str, Any]:
        found = self._call("GET", ref).get("Ticket") or [{}]
        return found[0] if isinstance(found, list) else dict(found)

    def has_note(self, ref: str, marker: str) -> bool:
        return any(marker in str(a.get("Body", "")) for a in self._ticket(ref).get("Article") or [])

    def _article(self, ref: str, text: str, visible: bool, subject: str) -> None:
        self._call("PATCH", ref, {"Article": {"CommunicationChannel": "Internal", "IsVisibleForCustomer": int(visible),
                                              "SenderType": "agent", "Subject": subject, "Body": text,
                                              "ContentType": "text/html; charset=utf8"}})

    def add_note(self, ref: str, note: str) -> None:
        self._article(ref, note, False, "triage")

    def reply(self, ref: str, text: str) -> None:
        self._article(ref, text, True, "Re:")

    def add_tags(self, ref: str, tags: list[str]) -> None:
        if tags:
            self._call("PATCH", ref, {"DynamicField": [{"Name": "TriageTags", "Value": tags}]})

    def fields(self, ref: str) -> dict[str, str]:
        ticket = self._ticket(ref)
        values = _values(self.mapping, {"Ticket": ticket})
        values.update({f"dynamic.{d['Name']}": str(d.get("Value")) for d in ticket.get("DynamicField") or []
                       if isinstance(d, dict) and d.get("Value") not in (None, "")})
        return values

    def set_fields(self, ref: str, values: dict[str, str]) -> None:
        dynamic = [{"Name": k.removeprefix("dynamic."), "Value": v} for k, v in values.items()
                   if k.startswith("dynamic.")]
        plain = {k[:1].upper() + k[1:]: v for k, v in values.items() if not k.startswith("dynamic.")}
        body: dict[str, Any] = {}
        if plain:
            body["Ticket"] = plain
        if dynamic:
            body["DynamicField"] = dynamic
        if body:
            self._call("PATCH", ref, body)

    def link(self, ticket_id: str) -> str:
        return self.ticket_url.format(id=ticket_id)


def _values(mapping: Mapping, wrapped: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, path in mapping.fields.items():
        value = dig(wrapped, path)
        if isinstance(value, dict):
            value = value.get("name") or value.get("value")
        if isinstance(value, list):
            value = value[0] if value else None
        if value not in (None, ""):
            out[name] = str(value)
    return out


def writers(settings: Settings, mappings: dict[str, Mapping]) -> dict[str, Writer]:
    """A writer for each helpdesk whose URL and credentials are set; the others only read webhooks."""
    out: dict[str, Writer] = {}
    if settings.zammad_url and settings.zammad_token:
        out["zammad"] = ZammadWriter(settings, mappings["zammad"])
    if settings.jira_url and settings.jira_token:
        out["jira"] = JiraWriter(settings, mappings["jira"])
    if settings.znuny_url and settings.znuny_user and settings.znuny_password:
        out["znuny"] = ZnunyWriter(settings, mappings["znuny"])
    return out
