"""What every head receives and returns.

`Triage` embeds a batch once and hands the same `Features` to every head, so
adding a head never adds an embedding pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Features:
    texts: list[str]
    dense: np.ndarray  # (n, dim) unit vectors from the shared embedder
    # per-batch results heads can share (the TF-IDF block of heads fitted on the same texts)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.dense):
            raise ValueError(f"{len(self.texts)} texts but {len(self.dense)} embeddings")

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx: np.ndarray | list[int]) -> Features:
        idx = np.asarray(idx)
        return Features([self.texts[i] for i in idx], self.dense[idx])


def label_result(labels: np.ndarray, probs: np.ndarray, threshold: float, k: int) -> list[dict[str, Any]]:
    """Contract §4 label objects for a batch of calibrated probability rows."""
    out = []
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
