"""The `Triage` object: embed a batch once, fan out to every head, shape the result.

It does no I/O, so the API and the batch CLI share it and a request costs
only computation; `load_triage` is where files are read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb_index import KBIndex
from triage._bundle import check_embedder, check_versions, load_heads, read_manifest
from triage._data import ticket_text
from triage._embedding import E5_PREFIXES, Embedder, SentenceTransformerEmbedder, load_embedder
from triage._lang import detect_language
from triage._window import over_window
from triage.errors import BundleError
from triage.heads.base import Features
from triage.owners import OwnersMap, bundle_owners

TOP_LEVEL_HEADS = ("module", "owner")  # contract §4 puts these beside `labels`
COMPLETENESS = "completeness"  # not a label head: scored with the ticket's language and the team's threshold


class Triage:
    def __init__(self, embedder: Embedder, heads: dict[str, Any], manifest: dict[str, Any],
                 kb: KBIndex | None = None, kb_top_k: int = 3, owners: OwnersMap | None = None) -> None:
        self.embedder = embedder
        self.owners = owners
        self.heads = heads
        self.manifest = manifest
        self.kb = kb
        self.kb_top_k = kb_top_k
        self.completeness_threshold: float | None = None  # TRIAGE_COMPLETENESS_THRESHOLD; None: the bundle's
        self.recurring: Any = None  # triage._recurring.Recurring: history search + append, the one I/O here

    @property
    def model_version(self) -> str:
        return str(self.manifest["model_version"])

    def features(self, tickets: Sequence[Mapping[str, Any]], batch_size: int = 32,
                 progress: bool = False) -> Features:
        texts = [ticket_text(t.get("subject"), t.get("body")) for t in tickets]
        dense = self.embedder.encode(texts, kind="query", batch_size=batch_size, progress=progress)
        return Features(texts, dense)

    def classify(self, tickets: Sequence[Mapping[str, Any]], *, batch_size: int = 32,
                 progress: bool = False, record: bool = True) -> list[dict[str, Any]]:
        """Contract §4 results, one per ticket, in input order; `record=False` leaves the history untouched."""
        if not tickets:
            return []
        feats = self.features(tickets, batch_size=batch_size, progress=progress)
        per_head = {name: head.predict_results(feats) for name, head in self.heads.items() if name != COMPLETENESS}
        languages = [t.get("language") or detect_language(text) for t, text in zip(tickets, feats.texts, strict=True)]
        completeness = self.score_completeness(feats, languages)
        kb_hits = (self.kb.search(feats.dense, feats.texts, k=self.kb_top_k)
                   if self.kb is not None and self.kb_top_k else [[] for _ in tickets])
        cut = over_window(self.embedder, feats.texts)  # reported, never silent: the tail was not read
        results = []
        for i, ticket in enumerate(tickets):
            labels = {name: out[i] for name, out in per_head.items() if name not in TOP_LEVEL_HEADS}
            result: dict[str, Any] = {
                "ticket_id": str(ticket.get("id") or i + 1),
                "model_version": self.model_version,
                "language": languages[i],
                "labels": labels,
                "truncated": cut[i],
            }
            for name in TOP_LEVEL_HEADS:
                if name in per_head:
                    result[name] = dict(per_head[name][i])
            if "module" in result:
                result["module"]["owners"] = []
                if self.owners is not None:
                    self.owners.annotate(result["module"])
            if completeness is not None:
                result["completeness"] = completeness[i]
            result["kb"] = [hit.as_dict() for hit in kb_hits[i]]
            results.append(result)
        if self.recurring is not None:
            for result, rec in zip(results, self.recurring.observe(tickets, feats.dense, feats.texts, results,
                                                                   record=record), strict=True):
                result["recurring"] = rec
        return results

    def score_completeness(self, feats: Features, languages: Sequence[str],
                           threshold: float | None = None) -> list[dict[str, Any]] | None:
        """Completeness objects for already-embedded tickets; None when the bundle has no scorer."""
        head = self.heads.get(COMPLETENESS)
        if head is None:
            return None
        return head.predict_results(feats, languages=list(languages),  # type: ignore[no-any-return]
                                    threshold=self.completeness_threshold if threshold is None else threshold)

    def score_escalation(self, ticket: Mapping[str, Any], threshold: float | None = None) -> dict[str, Any]:
        """Contract §5 `/v1/escalations/score`: one ticket's completeness object."""
        if COMPLETENESS not in self.heads:
            raise BundleError("this bundle has no completeness scorer; retrain it with `triage train`")
        head = self.heads[COMPLETENESS]
        feats = (self.features([ticket]) if head.needs_dense else  # cue and structure detectors need no embedding
                 Features([ticket_text(ticket.get("subject"), ticket.get("body"))], np.zeros((1, self.embedder.dim))))
        language = ticket.get("language") or detect_language(feats.texts[0])
        result = self.score_completeness(feats, [language], threshold)
        assert result is not None
        return result[0]

    def search_kb(self, query: str, k: int = 5, sources: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Suggestions for a free-text query; empty when no KB index is loaded."""
        if self.kb is None:
            return []
        vector = self.embedder.encode([query], kind="query")
        return [hit.as_dict() for hit in self.kb.search(vector, [query], k=k, sources=sources)[0]]


def load_triage(bundle: str | Path, *, cache_dir: Path, embedder: Embedder | None = None,
                progress: bool = False, owners_file: Path | None = None) -> Triage:
    """Validate a bundle's manifest, load its embedder and heads (and its owners file, or `owners_file`)."""
    bundle = Path(bundle)
    manifest = read_manifest(bundle)
    check_versions(manifest)
    embedder = embedder or _bundle_embedder(bundle, manifest, cache_dir, progress)
    check_embedder(manifest, embedder.model_id, embedder.dim)
    return Triage(embedder, load_heads(bundle, manifest), manifest, owners=bundle_owners(bundle, owners_file))


def bundle_embedder(bundle: str | Path, *, cache_dir: Path, progress: bool = False) -> Embedder:
    """Only the embedder a bundle was trained with (for building or searching a KB index for it)."""
    bundle = Path(bundle)
    manifest = read_manifest(bundle)
    embedder = _bundle_embedder(bundle, manifest, cache_dir, progress)
    check_embedder(manifest, embedder.model_id, embedder.dim)
    return embedder


def _bundle_embedder(bundle: Path, manifest: dict[str, Any], cache_dir: Path, progress: bool) -> Embedder:
    spec = manifest["embedder"]
    if spec["spec"] == "bundle":  # fine-tuned with the bundle
        return SentenceTransformerEmbedder(str(bundle / "embedder"), model_id=spec["id"], prefixes=E5_PREFIXES,
                                           max_tokens=int(spec["max_tokens"]))
    return load_embedder(spec["spec"], cache_dir=cache_dir, max_tokens=int(spec["max_tokens"]), progress=progress)
