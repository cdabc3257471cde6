"""Request and response bodies (contract §1, §4, §5), separate so each can evolve on its own."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from triage._data import parse_datetime

MAX_SUBJECT = 2_000
# "Has text": one character that is not white space. Spelled out rather than \S, whose meaning differs between
# Python and the ECMA regexes of JSON-Schema tools (\x1c-\x1f, \ufeff), so the schema and the check agree.
TEXT_PATTERN = ("[^\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f"
                "\\u205f\\u3000\\ufeff]")
_TEXT = re.compile(TEXT_PATTERN)
# Text longer than this is cut, not refused: the embedder reads far less anyway (TRIAGE_MAX_TOKENS), and the
# answer says `truncated: true`. What bounds a request is its size in bytes (TRIAGE_MAX_REQUEST_BYTES, a 413).
MAX_BODY = 100_000
_CUT = " Longer text is cut to this many characters and the answer says `truncated: true`."


class CutText(BaseModel):
    """A request whose free-text fields are cut at their limits; `cut` says whether any was."""

    _cut: bool = PrivateAttr(False)
    _limits: ClassVar[dict[str, int]] = {}

    @model_validator(mode="after")
    def _cut_long_text(self) -> CutText:
        for name, limit in self._limits.items():
            value = getattr(self, name)
            if isinstance(value, str) and len(value) > limit:
                setattr(self, name, value[:limit])
                self._cut = True
        return self

    @property
    def cut(self) -> bool:
        return self._cut


class TicketIn(CutText):
    """One ticket as a helpdesk sends it; `subject` or `body` must carry text."""

    _limits: ClassVar[dict[str, int]] = {"subject": MAX_SUBJECT, "body": MAX_BODY}

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "id": "T-1042", "subject": "Не работает телефония в офисе",
        "body": "С утра не проходят входящие звонки, SIP 503.", "created_at": "2026-11-23T09:12:00Z"}],
        # the `_has_text` rule, stated in the schema so clients (and the fuzzer) know it
        "anyOf": [{"required": [f], "properties": {f: {"type": "string", "pattern": TEXT_PATTERN}}}
                  for f in ("subject", "body")]})

    id: str | None = Field(None, max_length=200, description="Ticket id; echoed as ticket_id.")
    created_at: str | None = Field(None, max_length=64, json_schema_extra={"format": "date-time"},
                                   description="ISO-8601 time the ticket was opened (common export formats such as "
                                               "'30/Sep/21 17:20' are read too).")
    subject: str = Field("", description=f"At most {MAX_SUBJECT:,} characters are read.{_CUT}")
    body: str = Field("", description=f"At most {MAX_BODY:,} characters are read.{_CUT}")
    language: str | None = Field(None, max_length=16, description="Detected when absent.")
    customer: str | None = Field(None, max_length=500)
    channel: str | None = Field(None, max_length=100)

    @field_validator("created_at")
    @classmethod
    def _date(cls, value: str | None) -> str | None:
        """Parsed here, as training parses it (ISO-8601 or common export formats), and passed on as ISO-8601."""
        try:
            parsed = parse_datetime(value)
        except (ValueError, OverflowError) as exc:
            raise ValueError("cannot parse the date; use ISO-8601 such as 2026-11-23T15:00:00Z") from exc
        return None if parsed is None else parsed.isoformat()

    @model_validator(mode="after")
    def _has_text(self) -> TicketIn:
        if not _TEXT.search(self.subject) and not _TEXT.search(self.body):  # same rule as the schema's anyOf
            raise ValueError("subject and body are both empty; send the ticket text in one of them")
        return self


# The result models below declare `triage.results` (what the heads build and `Triage` assembles) again, with
# descriptions and bounds for the OpenAPI schema; tests/triage/test_results.py holds both to the same fields.
class TopItem(BaseModel):
    value: str
    p: float = Field(ge=0, le=1)


class LabelOut(BaseModel):
    value: str | None
    confidence: float = Field(ge=0, le=1)
    abstained: bool
    top: list[TopItem]


class EvidenceTicket(BaseModel):
    ticket_id: str
    title: str
    module: str | None = None
    owner: str | None = Field(None, description="Who resolved it.")
    similarity: float


class EvidenceTerm(BaseModel):
    term: str
    weight: float


class Evidence(BaseModel):
    """Why: the resolved tickets that support the suggestion most, and the words that weighed most."""

    tickets: list[EvidenceTicket]
    terms: list[EvidenceTerm]


class OwnerOut(LabelOut):
    level: Literal["module", "parent"] | None = None
    note: str | None = None
    evidence: Evidence | None = None


class ModuleOut(OwnerOut):
    owners: list[str] = []
    owners_from: dict[str, Any] | None = Field(None, description="Which owners-file entry gave `owners`.")


class KBHit(BaseModel):
    """A suggested KB article, or a past ticket's developer answer (`source: "answer"`, id `ticket:<id>`)."""

    article_id: str
    title: str
    score: float = Field(ge=0, le=1, description="Relevance in cosine units (dense and lexical evidence fused).")
    snippet: str
    url: str | None
    source: Literal["kb", "answer"]


class CompletenessItem(BaseModel):
    present: bool
    p: float = Field(ge=0, le=1, description="Calibrated probability that the item is in the ticket.")
    evidence: str | None = Field(description="The span of the ticket text that shows the item.")


class CompletenessOut(BaseModel):
    """Contract §4 `completeness`: the escalation contract, item by item."""

    score: float = Field(ge=0, le=1, description="Weighted share of the seven items present.")
    ready_for_l3: bool
    threshold: float = Field(ge=0, le=1, description="The score at which a ticket is ready for L3.")
    items: dict[str, CompletenessItem]
    missing: list[str]
    prompts: dict[str, str] = Field(description="Per missing item: what to add, in the ticket's language.")


class EscalationOut(CompletenessOut):
    truncated: bool = Field(False, description="The subject or body was cut at its limit before scoring.")


class SimilarTicket(BaseModel):
    ticket_id: str
    score: float = Field(ge=0, le=1, description="Dense and lexical evidence fused, in cosine units.")
    created_at: str
    answer: str | None = Field(description="The developer's answer to that ticket, when known.")


class ProblemRef(BaseModel):
    id: str
    title: str
    size: int


class SpikeOut(BaseModel):
    active: bool
    count: int = Field(description="Tickets of this ticket's group in the window, itself included.")
    window_minutes: float
    expected: float = Field(description="Count the group's long-run rate predicts for one window.")


class RecurringOut(BaseModel):
    similar: list[SimilarTicket]
    problem: ProblemRef | None
    spike: SpikeOut | None


class ProblemOut(BaseModel):
    id: str
    title: str
    size: int = Field(description="Training tickets clustered into it.")
    module: str | None
    answer: str | None = Field(description="The answer that resolved it most often.")
    tickets: int = Field(description="All tickets in it now, classified ones included.")
    last_hour: int
    last_day: int
    last_week: int
    daily_rate_before: float = Field(description="Average per day over the 7 days before the last one.")
    trend: Literal["new", "rising", "steady", "falling"]
    first_seen: str | None
    last_seen: str | None


class ProblemsOut(BaseModel):
    problems: list[ProblemOut]


class TriageResult(BaseModel):
    """Contract §4. Parts a model was not trained for are absent."""

    ticket_id: str
    model_version: str
    language: str
    labels: dict[str, LabelOut]
    module: ModuleOut | None = None
    owner: OwnerOut | None = None
    completeness: CompletenessOut | None = None
    kb: list[KBHit] = Field(default_factory=list, description="Empty when no KB index is loaded.")
    recurring: RecurringOut | None = Field(None, description="Absent when the bundle has no ticket history.")
    truncated: bool = Field(False, description="True when the text was longer than the embedder's window and "
                                               "only its beginning was read (TRIAGE_MAX_TOKENS).")


class KBSearchIn(CutText):
    _limits: ClassVar[dict[str, int]] = {"query": MAX_BODY}
    model_config = ConfigDict(json_schema_extra={"examples": [{"query": "не подключается VPN, ошибка 412", "k": 5}]})

    query: str = Field(min_length=1, json_schema_extra={"pattern": TEXT_PATTERN},
                       description=f"At most {MAX_BODY:,} characters are read.{_CUT}")
    k: int = Field(5, ge=1, le=50)
    sources: list[Literal["kb", "answer"]] | None = Field(None, description="Default: both.")

    @model_validator(mode="after")
    def _has_text(self) -> KBSearchIn:
        if not _TEXT.search(self.query):
            raise ValueError("query is blank; send the question text")
        return self


class KBSearchOut(BaseModel):
    hits: list[KBHit]
    truncated: bool = Field(False, description="The query was cut at its limit.")


class ModelInfo(BaseModel):
    model_version: str
    created_at: str | None
    embedder: dict[str, Any]
    heads: dict[str, dict[str, Any]]
    data: dict[str, Any]
    metrics: dict[str, Any]
    mlflow: dict[str, Any] | None = None
    registry: dict[str, Any] | None = Field(None, description="The registered model served: name, version, the "
                                            "alias it was resolved through (champion), the MLflow run.")
    kb: dict[str, Any] | None = Field(None, description="The KB index served, if any.")


class Health(BaseModel):
    status: str
    model_version: str | None = None


_HAS_TEXT: dict[str, Any] = {"pattern": TEXT_PATTERN}  # not blank, said in the schema


class FeedbackIn(CutText):
    """Contract §5: a reviewer confirms (`correct` == `predicted`) or corrects a prediction.

    `subject`/`body` are optional: with them, a ticket the training data does not contain can still be learned.
    `correct` must be a value the served model knows (else 422 listing them) unless `new_label` is true.
    """

    _limits: ClassVar[dict[str, int]] = {"subject": MAX_SUBJECT, "body": MAX_BODY}

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "ticket_id": "T-1042", "field": "module", "predicted": "telephony/softphone",
        "correct": "telephony/pbx-gateway", "reviewer": "d.kozlov"}]})

    ticket_id: str = Field(min_length=1, json_schema_extra=_HAS_TEXT, max_length=200)
    field: str = Field(min_length=1, json_schema_extra=_HAS_TEXT, max_length=200,
                       description="module, owner, or a label name (category...).")
    predicted: str | None = Field(None, max_length=500, description="What the model said (null if it abstained).")
    correct: str = Field(min_length=1, json_schema_extra=_HAS_TEXT, max_length=500,
                         description="What the reviewer says is right.")
    reviewer: str = Field(min_length=1, json_schema_extra=_HAS_TEXT, max_length=200)
    model_version: str | None = Field(None, max_length=100, description="Default: the model being served.")
    new_label: bool = Field(False, description="`correct` is a value the model has not seen yet (a new module, "
                                               "a new team); without it such a value is refused as a likely typo.")
    subject: str | None = Field(None, description=f"At most {MAX_SUBJECT:,} characters are kept.")
    body: str | None = Field(None, description=f"At most {MAX_BODY:,} characters are kept.")

    @model_validator(mode="after")
    def _not_blank(self) -> FeedbackIn:
        for name in ("ticket_id", "field", "correct", "reviewer"):
            if not getattr(self, name).strip():
                raise ValueError(f"{name} is blank")
        return self


class FeedbackOut(BaseModel):
    id: int
    stored: bool
    accepted: bool = Field(description="The reviewer confirmed the prediction.")
    field: str
    created_at: str
    ticket_known: bool = Field(description="The ticket is in the service's ticket history; false: stored, flagged.")
    new_label: bool
    truncated: bool = Field(False, description="The subject or body sent with the review was cut at its limit.")


class FeedbackItem(BaseModel):
    """A stored review (contract §7); the ticket text it may carry for training is not shown."""

    id: int
    ticket_id: str
    field: str
    predicted: str | None
    correct: str
    reviewer: str
    created_at: str
    model_version: str | None
    accepted: bool
    ticket_known: bool | None = Field(description="null: stored before the service checked.")
    new_label: bool
    has_text: bool = Field(description="The review carried the ticket's subject or body.")
    source: str = Field("api", description="Where it came from: 'api', or the helpdesk whose webhook showed a "
                                           "person changing the suggested field ('zammad', 'jira', 'znuny').")


class FeedbackList(BaseModel):
    items: list[FeedbackItem] = Field(description="Newest first.")


class ReviewItem(BaseModel):
    """One served prediction awaiting review (contract §7), with what the reviewer needs to judge it."""

    ticket_id: str
    field: str
    predicted: str | None = Field(description="The answer; null when the head abstained.")
    confidence: float = Field(ge=0, le=1)
    abstained: bool
    top: list[TopItem] = Field(description="The likeliest values: the candidates when it abstained.")
    evidence: Evidence | None = Field(None, description="Supporting tickets and weighing words (module, owner).")
    owners: list[str] | None = Field(None, description="Who owns the predicted module (module only).")
    level: Literal["module", "parent"] | None = None
    note: str | None = None
    subject: str
    created_at: str
    served_at: str = Field(description="When the service classified it.")
    model_version: str
    module: str | None = Field(description="The ticket's module: the answer, else the top candidate.")
    owner: str | None = Field(description="The ticket's owner: the answer, else the top candidate.")


class ReviewQueueOut(BaseModel):
    field: str
    pending: int = Field(description="How many predictions of this field match the filters (all pages).")
    items: list[ReviewItem] = Field(description="Least sure first: abstentions, then by rising confidence.")
