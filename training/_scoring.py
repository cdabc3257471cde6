"""A model over labelled tickets, kept per ticket: what `evaluate` reports and `compare` bootstraps.

`score_model` embeds the tickets once and keeps, per head, the calibrated probabilities of the labelled
tickets (`HeadScores`), the KB's rank of each ticket's gold article, and whether each ticket's
`duplicate_of` came back among its earlier similar tickets. The figures themselves come from
`training._metrics`, so `evaluate` and `compare` cannot disagree on what a metric means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from training._metrics import HeadScores
from training.pipeline import head_scores, labelled
from triage import Triage
from triage._history import order_times
from triage.heads import Features
from triage.results import Prediction

RECORD_FIELDS = ("id", "subject", "body", "language", "created_at", "customer", "channel")


@dataclass
class ModelScores:
    triage: Triage
    feats: Features
    heads: dict[str, HeadScores] = field(default_factory=dict)
    kb_ranks: np.ndarray | None = None  # rank of the gold article per ticket naming one (0: not among k)
    kb_rows: np.ndarray | None = None
    duplicate_hits: np.ndarray | None = None  # per ticket naming `duplicate_of`: found among similar tickets
    duplicate_rows: np.ndarray | None = None


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols = [c for c in RECORD_FIELDS if c in df.columns]
    return df[cols].to_dict(orient="records")  # type: ignore[return-value]


def label_heads(triage: Triage) -> list[str]:
    """Heads scored against a label column (everything but the completeness scorer)."""
    return [name for name, head in triage.heads.items() if head.slot != "completeness"]


def score_model(triage: Triage, df: pd.DataFrame, batch_size: int, kb_k: int = 10) -> ModelScores:
    feats = triage.features(records(df), batch_size=batch_size, progress=True)
    out = ModelScores(triage, feats)
    everything = np.arange(len(df))
    for name in label_heads(triage):
        if name in df.columns and labelled(df, name).any():
            out.heads[name] = head_scores(triage.heads[name], feats, df, everything)
    if triage.kb is not None and "kb_article" in df.columns and labelled(df, "kb_article").any():
        out.kb_rows, out.kb_ranks = kb_ranks(triage.kb, triage.kb_vectors(feats), feats, df["kb_article"], kb_k)
    if triage.recurring is not None and "duplicate_of" in df.columns and labelled(df, "duplicate_of").any():
        out.duplicate_rows, out.duplicate_hits = duplicate_hits(triage, df, feats)
    return out


def kb_ranks(index: Any, vectors: np.ndarray, feats: Features, gold: pd.Series,
             k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(rows naming an article, the gold article's 1-based rank among k KB suggestions, 0 when absent)."""
    rows = np.flatnonzero(gold.notna().to_numpy() & (gold.astype(str).str.strip() != "").to_numpy())
    hits = index.search(vectors[rows], [feats.texts[i] for i in rows], k=k, sources=["kb"])
    ranks = []
    for row, found in zip(rows, hits, strict=True):
        ids = [h.article_id for h in found]
        want = str(gold.iloc[row]).strip()
        ranks.append(ids.index(want) + 1 if want in ids else 0)
    return rows, np.asarray(ranks, dtype=np.int64)


def duplicate_hits(triage: Triage, df: pd.DataFrame, feats: Features) -> tuple[np.ndarray, np.ndarray]:
    """Tickets arrive in created_at order into the model's own (throwaway) history, as `predict` serves
    them; a ticket naming `duplicate_of` counts as found when that ticket is among its similar ones."""
    assert triage.recurring is not None
    times = order_times(list(df["created_at"])) if "created_at" in df.columns else [None] * len(df)
    order = np.argsort(np.array([t if t is not None else np.inf for t in times]), kind="stable")
    recs = records(df)
    gold = df["duplicate_of"].astype("string").str.strip().fillna("")
    found: dict[int, bool] = {}
    for start in range(0, len(order), 256):
        chunk = order[start:start + 256]
        results = triage.recurring.observe([recs[i] for i in chunk], feats.dense[chunk],
                                           [feats.texts[i] for i in chunk], [Prediction() for _ in chunk])
        for i, rec in zip(chunk, results, strict=True):
            if gold.iloc[i]:
                found[int(i)] = gold.iloc[i] in {s["ticket_id"] for s in rec["similar"]}
    rows = np.asarray(sorted(found), dtype=np.int64)
    return rows, np.asarray([found[int(r)] for r in rows], dtype=bool)
