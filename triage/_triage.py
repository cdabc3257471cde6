"""The `Triage` object: embed a batch once, fan out to every head, shape the result.

It does no I/O of its own (the ticket history it is given is the one exception), so the API and
the batch CLI share it and a request costs only computation; `triage._assembly.open_triage` is
where files are read and the parts are put together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kb_index import KBIndex
from triage._data import ticket_text
from triage._embedding import Embedder
from triage._lang import detect_language
from triage._window import over_window
from triage.errors import BundleError
from triage.heads.base import Features
from triage.owners import OwnersMap
from triage.results import (
    CompletenessResult,
    HeadParts,
    KBHit,
    LabelResult,
    ModuleResult,
    OwnerResult,
    Prediction,
    Slot,
    TicketResult,
)

if TYPE_CHECKING:
    from triage._recurring import Recurring


class Triage:
    """A loaded model: build it with `open_triage` (serving) or `load_triage` (the bundle alone)."""

    def __init__(self, embedder: Embedder, heads: dict[str, Any], manifest: dict[str, Any], *,
                 kb: KBIndex | None = None, kb_top_k: int = 3, owners: OwnersMap | None = None,
                 completeness_threshold: float | None = None, recurring: Recurring | None = None,
                 label_embedder: Embedder | None = None, kb_embedder: Embedder | None = None) -> None:
        self.embedder = embedder
        self.label_embedder = label_embedder  # tuned on the team's labels, read by the label heads only
        self.kb_embedder = kb_embedder  # tuned on the team's ticket -> article links, embeds KB queries only
        self.owners = owners
        self.heads = heads
        self.manifest = manifest
        self.kb = kb
        self.kb_top_k = kb_top_k
        self.completeness_threshold = completeness_threshold  # TRIAGE_COMPLETENESS_THRESHOLD; None: the bundle's
        self.recurring = recurring  # history search + append, the one I/O here; detached on hot reload
        self.bundle: Path | None = None  # the folder it was loaded from (its plots), set by open/load_triage
        self.registry: dict[str, Any] | None = None  # which registered version this is (set by open_triage)

    def close(self) -> None:
        """Close the ticket history (the only resource a `Triage` holds); safe to call twice."""
        recurring, self.recurring = self.recurring, None
        if recurring is not None:
            recurring.close()

    @property
    def model_version(self) -> str:
        return str(self.manifest["model_version"])

    def features(self, tickets: Sequence[Mapping[str, Any]], batch_size: int = 32,
                 progress: bool = False) -> Features:
        texts = [ticket_text(t.get("subject"), t.get("body")) for t in tickets]
        flagged = getattr(self.embedder, "encode_flagged", None)  # ONNX: says what it cut, no second tokenising
        cut = None
        if flagged is None:
            dense = self.embedder.encode(texts, kind="query", batch_size=batch_size, progress=progress)
        else:
            dense, cut = flagged(texts, kind="query", batch_size=batch_size, progress=progress)
        tuned = (self.label_embedder.encode(texts, kind="query", batch_size=batch_size, progress=progress)
                 if self.label_embedder is not None else None)
        feats = Features(texts, dense, tuned=tuned)
        if cut is not None:
            feats.memo["truncated"] = cut
        return feats

    def classify(self, tickets: Sequence[Mapping[str, Any]], *, batch_size: int = 32,
                 progress: bool = False, record: bool = True) -> list[TicketResult]:
        """Contract §4 results, one per ticket, in input order; `record=False` leaves the history untouched.

        Each head's output goes where its `slot` says: under `labels` by the head's name, or beside them
        (`module` with its owners, `owner`); the history gets the answers as `Prediction`s.
        """
        return self.classify_requests([tickets], batch_size=batch_size, progress=progress, record=record)[0]

    def classify_requests(self, requests: Sequence[Sequence[Mapping[str, Any]]], *, batch_size: int = 32,
                          progress: bool = False, record: bool = True) -> list[list[TicketResult]]:
        """Several independent requests in one model call (the service's micro-batches), each answered
        as if alone: an id-less ticket is numbered within its request, an undated one is placed within
        its request; the history sees every ticket of the call in `created_at` order (`Recurring.observe`)."""
        sizes = [len(r) for r in requests]
        tickets = [t for r in requests for t in r]
        results = self._classify(tickets, sizes, batch_size=batch_size, progress=progress, record=record)
        out, start = [], 0
        for size in sizes:
            out.append(results[start:start + size])
            start += size
        return out

    def _classify(self, tickets: Sequence[Mapping[str, Any]], sizes: Sequence[int], *, batch_size: int,
                  progress: bool, record: bool) -> list[TicketResult]:
        if not tickets:
            return []
        numbers = [i + 1 for size in sizes for i in range(size)]  # an id-less ticket's number in its request
        feats = self.features(tickets, batch_size=batch_size, progress=progress)
        labels: dict[str, Sequence[LabelResult]] = {}
        beside: dict[Slot, Sequence[OwnerResult]] = {}
        for name, head in self.heads.items():
            if head.slot == "label":
                labels[name] = head.predict_results(feats)
            elif head.slot != "completeness":
                beside[head.slot] = head.predict_results(feats)
        languages = [t.get("language") or detect_language(text) for t, text in zip(tickets, feats.texts, strict=True)]
        completeness = self.score_completeness(feats, languages)
        kb_hits = (self.kb.search(self.kb_vectors(feats), feats.texts, k=self.kb_top_k, floor=True)
                   if self.kb is not None and self.kb_top_k else [[] for _ in tickets])
        cut = feats.memo.get("truncated") or over_window(self.embedder, feats.texts)  # reported, never silent
        results: list[TicketResult] = []
        predictions: list[Prediction] = []
        for i, ticket in enumerate(tickets):
            module = beside["module"][i] if "module" in beside else None
            owner = beside["owner"][i] if "owner" in beside else None
            parts: HeadParts = {}
            if module is not None:
                parts["module"] = self._owned(module)
            if owner is not None:
                parts["owner"] = owner
            if completeness is not None:
                parts["completeness"] = completeness[i]
            result: TicketResult = {
                "ticket_id": str(ticket.get("id") or numbers[i]),
                "model_version": self.model_version,
                "language": languages[i],
                "labels": {name: out[i] for name, out in labels.items()},
                "truncated": cut[i],
                **parts,
                "kb": [hit.as_dict() for hit in kb_hits[i]],
            }
            results.append(result)
            predictions.append(Prediction.of(result["labels"], module, owner))
        if self.recurring is not None:
            for result, rec in zip(results, self.recurring.observe(tickets, feats.dense, feats.texts, predictions,
                                                                   record=record, sizes=sizes), strict=True):
                result["recurring"] = rec
        return results

    def _owned(self, module: OwnerResult) -> ModuleResult:
        """The module answer with who owns that module; no owners file, no owners."""
        return self.owners.owned(module) if self.owners is not None else {**module, "owners": []}

    def _head(self, slot: Slot) -> Any | None:
        """The bundle's head for a one-of-a-kind slot (completeness), or None."""
        return next((head for head in self.heads.values() if head.slot == slot), None)

    def score_completeness(self, feats: Features, languages: Sequence[str],
                           threshold: float | None = None) -> list[CompletenessResult] | None:
        """Completeness objects for already-embedded tickets; None when the bundle has no scorer."""
        head = self._head("completeness")
        if head is None:
            return None
        return head.predict_results(feats, languages=list(languages),  # type: ignore[no-any-return]
                                    threshold=self.completeness_threshold if threshold is None else threshold)

    def score_escalation(self, ticket: Mapping[str, Any], threshold: float | None = None) -> CompletenessResult:
        """Contract §5 `/v1/escalations/score`: one ticket's completeness object."""
        head = self._head("completeness")
        if head is None:
            raise BundleError("this bundle has no completeness scorer; retrain it with `triage train`")
        feats = (self.features([ticket]) if head.needs_dense else  # cue and structure detectors need no embedding
                 Features([ticket_text(ticket.get("subject"), ticket.get("body"))], np.zeros((1, self.embedder.dim))))
        language = ticket.get("language") or detect_language(feats.texts[0])
        result = self.score_completeness(feats, [language], threshold)
        assert result is not None
        return result[0]

    def search_kb(self, query: str, k: int = 5, sources: Sequence[str] | None = None) -> list[KBHit]:
        """Suggestions for a free-text query; empty when no KB index is loaded."""
        if self.kb is None:
            return []
        vector = (self.kb_embedder or self.embedder).encode([query], kind="query")
        return [hit.as_dict() for hit in self.kb.search(vector, [query], k=k, sources=sources, floor=True)[0]]

    def kb_vectors(self, feats: Features) -> np.ndarray:
        """The tickets' vectors for the KB: the retrieval embedder's when the index was built with it."""
        if self.kb_embedder is None:
            return feats.dense
        if "kb" not in feats.memo:
            feats.memo["kb"] = self.kb_embedder.encode(feats.texts, kind="query")
        return np.asarray(feats.memo["kb"])
