"""The shape of a ticket's result (contract §4), typed once: the heads make the parts, `Triage` puts them together.

Results are plain dicts because they leave the service as JSON unchanged; these TypedDicts say which keys
each part has, so mypy checks the heads that build them, `Triage` that assembles them, the history and the
metrics that read them. `api/schemas.py` declares the same shapes as pydantic response models (with
descriptions and bounds for the OpenAPI schema); `tests/test_results.py` holds the two to the same fields.

    TicketResult
    ├── labels: {name: LabelResult}         every head with slot "label"
    ├── module: ModuleResult                the head with slot "module", plus the owners file's answer
    ├── owner: OwnerResult                  the head with slot "owner"
    ├── completeness: CompletenessResult    the head with slot "completeness"
    ├── kb: [KBHit]
    └── recurring: RecurringResult          when the bundle has a ticket history

typing_extensions.TypedDict rather than typing's: pydantic reads only that one on Python 3.11. No
`from __future__ import annotations` here: TypedDict must see `NotRequired[...]` itself, not a string.
"""

from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

from kb_index import KBHit

Slot = Literal["label", "module", "owner", "completeness"]
"""Where a head's output goes in a ticket result: under `labels` by the head's name, or its own key."""


class TopItem(TypedDict):
    value: str
    p: float


class LabelResult(TypedDict):
    """One label head's answer: `value` is None when it abstains; `top` holds the k likeliest labels."""

    value: str | None
    confidence: float
    abstained: bool
    top: list[TopItem]


class EvidenceTicket(TypedDict):
    ticket_id: str
    title: str
    module: str | None
    owner: str | None  # who resolved it
    similarity: float


class EvidenceTerm(TypedDict):
    term: str
    weight: float


class Evidence(TypedDict):
    tickets: list[EvidenceTicket]
    terms: list[EvidenceTerm]


class OwnerResult(LabelResult):
    """A neighbour-blending head's answer (owner; module before the owners file is consulted)."""

    level: NotRequired[Literal["module", "parent"]]  # only for hierarchical labels
    note: NotRequired[str]  # why a parent was named instead of a leaf
    evidence: NotRequired[Evidence]


class ModuleResult(OwnerResult):
    """The module head's answer with who owns that module (empty without an owners file)."""

    owners: list[str]
    owners_from: NotRequired[dict[str, Any]]  # the owners-file entry and how it matched


class CompletenessItem(TypedDict):
    present: bool
    p: float
    evidence: str | None


class CompletenessResult(TypedDict):
    score: float
    ready_for_l3: bool
    threshold: float
    items: dict[str, CompletenessItem]
    missing: list[str]
    prompts: dict[str, str]


class EscalationResult(CompletenessResult):
    """`POST /v1/escalations/score`: the completeness object, and whether the text was cut first."""

    truncated: bool


class SimilarTicket(TypedDict):
    ticket_id: str
    score: float
    created_at: str
    answer: str | None


class ProblemRef(TypedDict):
    id: str
    title: str
    size: int


class SpikeResult(TypedDict):
    active: bool
    count: int
    window_minutes: float
    expected: float


class RecurringResult(TypedDict):
    similar: list[SimilarTicket]
    problem: ProblemRef | None
    spike: SpikeResult | None


class HeadParts(TypedDict, total=False):
    """The parts beside `labels` that heads fill, each absent when the bundle has no head for it."""

    module: ModuleResult
    owner: OwnerResult
    completeness: CompletenessResult


class TicketResult(HeadParts):
    """Contract §4, one per ticket. Parts the model was not trained for are absent."""

    ticket_id: str
    model_version: str
    language: str
    labels: dict[str, LabelResult]
    truncated: bool
    kb: list[KBHit]
    recurring: NotRequired[RecurringResult]


@dataclass(frozen=True)
class Prediction:
    """One ticket's answers, abstentions left out: what the history stores and what a spike is filed under.

    `Triage` makes it from the heads' outputs and hands it to `Recurring.observe`, so the history never
    has to read answers back out of a finished result.
    """

    labels: dict[str, str] = field(default_factory=dict)  # label head name -> its answer
    module: str | None = None
    owner: str | None = None

    @classmethod
    def of(cls, labels: dict[str, LabelResult], module: LabelResult | None = None,
           owner: LabelResult | None = None) -> "Prediction":
        """The answered values of one ticket's head outputs."""
        return cls({name: out["value"] for name, out in labels.items() if out["value"] is not None},
                   module["value"] if module is not None else None, owner["value"] if owner is not None else None)

    def as_dict(self) -> dict[str, str]:
        """The history's `predicted` column: label names, then `module` and `owner` (the contract §4 keys)."""
        tops = {"module": self.module, "owner": self.owner}
        return {**self.labels, **{key: value for key, value in tops.items() if value is not None}}


def head_outputs(result: TicketResult) -> dict[str, LabelResult]:
    """Every head's answer in a finished result, by the name a reviewer gives it: label names, `module`, `owner`."""
    out = dict(result["labels"])
    if "module" in result:
        out["module"] = result["module"]
    if "owner" in result:
        out["owner"] = result["owner"]
    return out
