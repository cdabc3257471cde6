"""Request and response bodies (contract §1, §4, §5), separate so each can evolve on its own."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_SUBJECT = 2_000
# "Has text": one character that is not white space. Spelled out rather than \S, whose meaning differs between
# Python and the ECMA regexes of JSON-Schema tools (\x1c-\x1f, \ufeff), so the schema and the check agree.
TEXT_PATTERN = ("[^\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f"
                "\\u205f\\u3000\\ufeff]")
_TEXT = re.compile(TEXT_PATTERN)
MAX_BODY = 100_000


class TicketIn(BaseModel):
    """One ticket as a helpdesk sends it; `subject` or `body` must carry text."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "id": "T-1042", "subject": "Не работает телефония в офисе",
        "body": "С утра не проходят входящие звонки, SIP 503.", "created_at": "2026-11-23T09:12:00Z"}],
        # the `_has_text` rule, stated in the schema so clients (and the fuzzer) know it
        "anyOf": [{"required": [f], "properties": {f: {"type": "string", "pattern": TEXT_PATTERN}}}
                  for f in ("subject", "body")]})

    id: str | None = Field(None, max_length=200, description="Ticket id; echoed as ticket_id.")
    created_at: str | None = Field(None, max_length=64, description="ISO-8601 time the ticket was opened.")
    subject: str = Field("", max_length=MAX_SUBJECT)
    body: str = Field("", max_length=MAX_BODY)
    language: str | None = Field(None, max_length=16, description="Detected when absent.")
    customer: str | None = Field(None, max_length=500)
    channel: str | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _has_text(self) -> TicketIn:
        if not _TEXT.search(self.subject) and not _TEXT.search(self.body):  # same rule as the schema's anyOf
            raise ValueError("subject and body are both empty; send the ticket text in one of them")
        return self


class TopItem(BaseModel):
    value: str
    p: float = Field(ge=0, le=1)


class LabelOut(BaseModel):
    value: str | None
    confidence: float = Field(ge=0, le=1)
    abstained: bool
    top: list[TopItem]


class ModuleOut(LabelOut):
    owners: list[str] = []


class KBHit(BaseModel):
    """A suggested KB article, or a past ticket's developer answer (`source: "answer"`, id `ticket:<id>`)."""

    article_id: str
    title: str
    score: float = Field(ge=0, le=1, description="Relevance in cosine units (dense and lexical evidence fused).")
    snippet: str
    url: str | None
    source: Literal["kb", "answer"]


class TriageResult(BaseModel):
    """Contract §4. Parts a model was not trained for are absent."""

    ticket_id: str
    model_version: str
    language: str
    labels: dict[str, LabelOut]
    module: ModuleOut | None = None
    owner: LabelOut | None = None
    kb: list[KBHit] = Field(default_factory=list, description="Empty when no KB index is loaded.")
    truncated: bool = Field(False, description="True when the text was longer than the embedder's window and "
                                               "only its beginning was read (TRIAGE_MAX_TOKENS).")


class KBSearchIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"query": "не подключается VPN, ошибка 412", "k": 5}]})

    query: str = Field(min_length=1, max_length=MAX_BODY, json_schema_extra={"pattern": TEXT_PATTERN})
    k: int = Field(5, ge=1, le=50)
    sources: list[Literal["kb", "answer"]] | None = Field(None, description="Default: both.")

    @model_validator(mode="after")
    def _has_text(self) -> KBSearchIn:
        if not _TEXT.search(self.query):
            raise ValueError("query is blank; send the question text")
        return self


class KBSearchOut(BaseModel):
    hits: list[KBHit]


class ModelInfo(BaseModel):
    model_version: str
    created_at: str | None
    embedder: dict[str, Any]
    heads: dict[str, dict[str, Any]]
    data: dict[str, Any]
    metrics: dict[str, Any]
    mlflow: dict[str, Any] | None = None
    kb: dict[str, Any] | None = Field(None, description="The KB index served, if any.")


class Health(BaseModel):
    status: str
    model_version: str | None = None
