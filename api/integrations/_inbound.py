"""A helpdesk webhook, read as one ticket event: which ticket, its text, its fields, who acted, what changed.

Zammad sends its default trigger payload (`{"ticket": {...}, "article": {...}}`, the article often
`text/html`); Jira its `jira:issue_created` / `jira:issue_updated` body with a `changelog`; Znuny a
GenericInterface invoker call (`Ticket` and `Article`, sometimes under `Data`). Each becomes an
`Inbound`, through the helpdesk's `Mapping`, so the worker never looks at a payload itself.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from api.integrations._mapping import Mapping, dig
from kb_index import html_to_markdown, message_text

HELPDESKS = ("zammad", "jira", "znuny")


@dataclass
class Inbound:
    source: str
    ref: str                          # the helpdesk's id to write back to (Zammad ticket id, Jira key, Znuny TicketID)
    ticket_id: str                    # the id people see and the history keeps (number, key)
    subject: str
    body: str | None                  # the customer's words in this event; None when the event carries none
    created_at: str | None = None
    customer: str | None = None
    organization: str | None = None
    actor: str | None = None          # who caused the event
    created: bool = False             # the ticket is new (else an update)
    fields: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    changed: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # from a changelog

    def ticket(self, body: str) -> dict[str, Any]:
        """Contract §1 fields for `Triage.classify`."""
        return {"id": self.ticket_id, "subject": self.subject, "body": body, "created_at": self.created_at,
                "customer": self.customer, "organization": self.organization, **self.fields}


def _article(body: Any, content_type: Any = None) -> str:
    """An article body as text: declared HTML is read as HTML even when it carries a single tag."""
    text = _text(body)
    if "html" in str(content_type or "").lower() and "<" in text:
        return (html_to_markdown(text, drop_quotes=True) or html_to_markdown(text)).strip()
    return message_text(text)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _flat(value: Any) -> str | None:
    """A field value as one string: names of objects, first of lists."""
    if isinstance(value, dict):
        value = value.get("name") or value.get("value") or value.get("displayName")
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value in (None, "") else str(value)


def _common(mapping: Mapping, payload: dict[str, Any]) -> dict[str, Any]:
    fields = {name: v for name, path in mapping.fields.items() if (v := _flat(dig(payload, path))) is not None}
    tags = dig(payload, mapping.spec.get("tags_in"))
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list):
        tags = []
    return {"fields": fields, "tags": [str(t) for t in tags or []],
            "subject": _text(mapping.get(payload, "subject")), "created_at": _flat(mapping.get(payload, "created_at")),
            "customer": _flat(mapping.get(payload, "customer")),
            "organization": _flat(mapping.get(payload, "organization")), "actor": _flat(mapping.get(payload, "actor"))}


def zammad(payload: dict[str, Any], mapping: Mapping) -> Inbound:
    """Zammad's default payload. Only a customer's article (not an agent's note, not our own) is ticket text."""
    ref, number = mapping.get(payload, "ref"), mapping.get(payload, "id")
    if ref is None and number is None:
        raise ValueError("the payload has no ticket id (ticket.id / ticket.number)")
    article = payload.get("article") or {}
    customer_words = isinstance(article, dict) and str(article.get("sender", "")).lower() == "customer" and \
        not article.get("internal")
    body = _article(article.get("body"), article.get("content_type")) if customer_words else None
    count = dig(payload, "ticket.article_count")
    return Inbound("zammad", str(ref if ref is not None else number), str(number if number is not None else ref),
                   body=body, created=count in (None, 1, "1") and bool(customer_words), **_common(mapping, payload))


def jira(payload: dict[str, Any], mapping: Mapping) -> Inbound:
    """`jira:issue_created` / `jira:issue_updated`; a changed summary or description is new ticket text."""
    key = mapping.get(payload, "ref")
    if key is None:
        key = mapping.get(payload, "id")
    if key is None:
        raise ValueError("the payload has no issue key (issue.key)")
    event = str(payload.get("webhookEvent") or "")
    changed: dict[str, tuple[str | None, str | None]] = {}
    for item in dig(payload, "changelog.items") or []:
        if isinstance(item, dict) and item.get("field"):
            changed[str(item["field"]).lower()] = (_flat(item.get("fromString")), _flat(item.get("toString")))
    new_text = event == "jira:issue_created" or bool({"description", "summary"} & set(changed))
    description = mapping.get(payload, "body")
    if isinstance(description, dict):  # API v3 sends Atlassian Document Format
        description = _adf_text(description)
    body = _article(description) if new_text else None
    return Inbound("jira", str(key), str(mapping.get(payload, "id") or key), body=body,
                   created=event == "jira:issue_created", changed=changed, **_common(mapping, payload))


def _adf_text(node: Any) -> str:
    if isinstance(node, dict):
        own = node.get("text", "")
        inner = " ".join(_adf_text(c) for c in node.get("content") or [])
        sep = "\n" if node.get("type") in ("paragraph", "heading", "listItem", "codeBlock") else ""
        return f"{own}{inner}{sep}"
    return ""


def znuny(payload: dict[str, Any], mapping: Mapping) -> Inbound:
    """A GenericInterface invoker call: `Ticket` + `Article`, at the top or under `Data`."""
    data: dict[str, Any] = payload["Data"] if isinstance(payload.get("Data"), dict) else payload
    ref = mapping.get(data, "ref")
    if ref is None:
        ref = mapping.get(data, "id")
    if ref is None:
        raise ValueError("the payload has no Ticket.TicketID")
    article = data.get("Article") or {}
    if isinstance(article, list):
        article = article[-1] if article else {}
    sender = str(article.get("SenderType", "")).lower()
    visible = str(article.get("IsVisibleForCustomer", "1")) not in ("0", "false", "False")
    body = _article(article.get("Body"), article.get("ContentType") or article.get("MimeType")) \
        if sender == "customer" and visible else None
    event = str(dig(data, "Event.Event") or dig(payload, "Event.Event") or "")
    fields = {f"dynamic.{d['Name']}": str(d.get("Value")) for d in data.get("Ticket", {}).get("DynamicField") or []
              if isinstance(d, dict) and d.get("Name") and d.get("Value") not in (None, "")}
    inbound = Inbound("znuny", str(ref), str(mapping.get(data, "id") or ref), body=body,
                      created=event in ("TicketCreate", ""), **_common(mapping, data))
    inbound.fields.update(fields)
    return inbound


def delivery_key(source: str, headers: dict[str, str], body: bytes) -> str:
    """The helpdesk's own delivery id; else a digest of the body (a resent body is the same delivery)."""
    header = {"zammad": "x-zammad-delivery", "jira": "x-atlassian-webhook-identifier",
              "znuny": "x-znuny-delivery"}[source]
    given = headers.get(header)
    return given.strip()[:200] if given and given.strip() else "sha256:" + hashlib.sha256(body).hexdigest()


PARSERS = {"zammad": zammad, "jira": jira, "znuny": znuny}


def parse(source: str, payload: Any, mapping: Mapping) -> Inbound:
    """ValueError (with a message that names what is missing, never the data) for a payload that is not one."""
    if not isinstance(payload, dict):
        raise ValueError(f"a {source} webhook body is a JSON object")
    try:
        return PARSERS[source](payload, mapping)
    except (AttributeError, TypeError) as exc:  # a field of an unexpected type where the mapping reads it
        raise ValueError(f"a field of the {source} payload has an unexpected type ({type(exc).__name__}); check "
                         "TRIAGE_INTEGRATIONS_CONFIG's paths") from exc


def event_name(source: str, headers: dict[str, str], payload: Any) -> str | None:
    if source == "zammad":
        return headers.get("x-zammad-trigger")
    if source == "jira" and isinstance(payload, dict):
        return _flat(payload.get("webhookEvent"))
    if isinstance(payload, dict):
        return _flat(dig(payload, "Event.Event") or dig(payload, "Data.Event.Event"))
    return None


def loads(body: bytes) -> Any:
    return json.loads(body.decode("utf-8"))
