"""Request and response bodies (contract §1, §4, §5), separate so each can evolve on its own."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_SUBJECT = 2_000
MAX_BODY = 100_000


class TicketIn(BaseModel):
    """One ticket as a helpdesk sends it; `subject` or `body` must carry text."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "id": "T-1042", "subject": "Не работает телефония в офисе",
        "body": "С утра не проходят входящие звонки, SIP 503.", "created_at": "2026-11-23T09:12:00Z"}]})

    id: str | None = Field(None, max_length=200, description="Ticket id; echoed as ticket_id.")
    created_at: str | None = Field(None, max_length=64, description="ISO-8601 time the ticket was opened.")
    subject: str = Field("", max_length=MAX_SUBJECT)
    body: str = Field("", max_length=MAX_BODY)
    language: str | None = Field(None, max_length=16, description="Detected when absent.")
    customer: str | None = Field(None, max_length=500)
    channel: str | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _has_text(self) -> TicketIn:
        if not self.subject.strip() and not self.body.strip():
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


class TriageResult(BaseModel):
    """Contract §4. Parts a model was not trained for are absent."""

    ticket_id: str
    model_version: str
    language: str
    labels: dict[str, LabelOut]
    module: ModuleOut | None = None
    owner: LabelOut | None = None


class ModelInfo(BaseModel):
    model_version: str
    created_at: str | None
    embedder: dict[str, Any]
    heads: dict[str, dict[str, Any]]
    data: dict[str, Any]
    metrics: dict[str, Any]
    mlflow: dict[str, Any] | None = None


class Health(BaseModel):
    status: str
    model_version: str | None = None
