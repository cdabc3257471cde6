"""What each webhook body must be, as JSON Schema: shown in the OpenAPI and checked on every request.

Only what the service relies on is required (a ticket id, objects where objects are read); everything
else in a helpdesk's payload is free, as helpdesks add fields and custom objects. One schema serves
both, so a body the documentation calls valid is never refused, and one it calls invalid never taken.
"""

from __future__ import annotations

from typing import Any

import jsonschema

_ID = {"type": ["integer", "string"]}
_OBJECT = {"type": "object"}
SCHEMAS: dict[str, dict[str, Any]] = {
    "zammad": {"type": "object", "required": ["ticket"], "properties": {
        "ticket": {"type": "object", "anyOf": [{"required": ["id"]}, {"required": ["number"]}],
                   "properties": {"id": _ID, "number": _ID, "title": {"type": ["string", "null"]}}},
        "article": {"type": ["object", "null"]}},
        "description": "Zammad's default trigger payload (admin docs, manage/webhook/payload.rst)."},
    "jira": {"type": "object", "required": ["issue"], "properties": {
        "webhookEvent": {"type": "string"},
        "issue": {"type": "object", "required": ["key"], "properties": {"key": _ID, "fields": _OBJECT}},
        "changelog": {"type": ["object", "null"],
                      "properties": {"items": {"type": "array", "items": _OBJECT}}}},
        "description": "A Jira webhook body: jira:issue_created / jira:issue_updated (with the changelog)."},
    "znuny": {"type": "object", "anyOf": [{"required": ["Ticket"]}, {"required": ["Data"]}], "properties": {
        "Ticket": {"type": "object", "required": ["TicketID"], "properties": {
            "TicketID": _ID, "DynamicField": {"type": ["array", "null"], "items": _OBJECT}}},
        "Article": {"type": ["object", "array", "null"]},
        "Data": {"type": "object", "required": ["Ticket"], "properties": {"Ticket": {
            "type": "object", "required": ["TicketID"], "properties": {"TicketID": _ID}}}}},
        "description": "A Znuny/OTRS GenericInterface invoker call: Ticket (+ Article), at the top or under Data."},
}
_VALIDATORS = {name: jsonschema.Draft202012Validator(schema) for name, schema in SCHEMAS.items()}


def problem(source: str, payload: Any) -> str | None:
    """Why the body is not a webhook of this helpdesk (where and what, never the values); None when it is."""
    error = jsonschema.exceptions.best_match(_VALIDATORS[source].iter_errors(payload))
    if error is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path) or "the body"
    kinds = {"required": "a required field is missing", "type": "a field has the wrong type",
             "anyOf": "neither of the accepted shapes"}
    return f"{where.lstrip('.')}: {kinds.get(str(error.validator), 'does not match the documented payload')}"


def request_body(source: str) -> dict[str, Any]:
    """`openapi_extra` for the route: the body is read raw (the signature covers its bytes)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": SCHEMAS[source]}}}}
