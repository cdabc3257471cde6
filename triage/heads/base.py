"""What every head receives and returns.

`Triage` embeds a batch once and hands the same `Features` to every head, so
adding a head never adds an embedding pass. Each head says where its output
goes in a ticket result (`Head.slot`), so `Triage` places outputs by slot and
never by a head's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from triage.results import LabelResult, Slot


@dataclass(frozen=True)
class Features:
    texts: list[str]
    dense: np.ndarray  # (n, dim) unit vectors from the shared embedder
    # the same tickets from the embedder tuned on the team's labels (bundles with a `label_embedder`), else None
    tuned: np.ndarray | None = None
    # per-batch results heads can share (the TF-IDF block of heads fitted on the same texts)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.dense):
            raise ValueError(f"{len(self.texts)} texts but {len(self.dense)} embeddings")
        if self.tuned is not None and len(self.tuned) != len(self.texts):
            raise ValueError(f"{len(self.texts)} texts but {len(self.tuned)} tuned embeddings")

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx: np.ndarray | list[int]) -> Features:
        idx = np.asarray(idx)
        return Features([self.texts[i] for i in idx], self.dense[idx],
                        tuned=None if self.tuned is None else self.tuned[idx])


@runtime_checkable
class Head(Protocol):
    """What a bundle's head offers whatever it predicts: where its output goes, and what the manifest records.

    `slot` is "label" (under `labels`, by the head's name), "module" or "owner" (their own keys beside
    `labels`, the module one with owners) or "completeness" (scored with the ticket's language and threshold).
    """

    @property
    def slot(self) -> Slot: ...

    def summary(self) -> dict[str, Any]: ...


def label_result(labels: np.ndarray, probs: np.ndarray, threshold: float, k: int) -> list[LabelResult]:
    """Contract §4 label objects for a batch of calibrated probability rows."""
    out: list[LabelResult] = []
    for row in probs:
        order = np.argsort(-row)[:k]
        conf = float(row[order[0]])
        abstained = conf < threshold
        out.append({
            "value": None if abstained else str(labels[order[0]]),
            "confidence": round(conf, 4),
            "abstained": bool(abstained),
            "top": [{"value": str(labels[i]), "p": round(float(row[i]), 4)} for i in order],
        })
    return out
