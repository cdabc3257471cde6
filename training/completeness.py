"""`triage train`'s part for the completeness scorer: find item labels, fit, measure on the held-out split.

Item labels are optional columns, read by item name (`steps_to_reproduce`), as `has_<item>`, or by the
bug-report-quality names (`has_s2r`, `has_eb`, `has_ob`); `info_requested` (L3 bounced the ticket) sets
the score weights and the ready threshold. Without any of them the head keeps its cue-based detectors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, roc_auc_score

from triage._data import parse_bool
from triage.errors import DataError
from triage.heads import Features
from triage.heads._cues import ITEMS
from triage.heads.completeness import CompletenessHead

ALIASES = {"has_s2r": "steps_to_reproduce", "has_eb": "expected_behavior", "has_ob": "observed_behavior"}


def item_label_columns(df: pd.DataFrame) -> dict[str, str]:
    """Item name -> the data column that labels it."""
    found: dict[str, str] = {}
    for col in df.columns:
        name = ALIASES.get(col, col[4:] if col.startswith("has_") else col)
        if name in ITEMS and name not in found:
            found[name] = col
    return found


def has_completeness_labels(df: pd.DataFrame) -> bool:
    """Item columns, or an `info_requested` column with at least one value (the loader always adds it)."""
    bounced = "info_requested" in df.columns and bool(df["info_requested"].notna().any())
    return bool(item_label_columns(df)) or bounced


def _bools(series: pd.Series, column: str) -> list[bool | None]:
    out: list[bool | None] = []
    for i, value in enumerate(series.tolist()):
        try:
            out.append(parse_bool(None if value is None or value != value else value))
        except ValueError as exc:
            raise DataError(f"row {i + 1}: {exc}", field=column) from exc
    return out


def labels(df: pd.DataFrame, rows: np.ndarray) -> tuple[dict[str, list[bool | None]], list[bool | None] | None]:
    part = df.iloc[rows]
    items = {item: _bools(part[col], col) for item, col in item_label_columns(df).items()}
    bounced = part["info_requested"].tolist() if "info_requested" in df.columns else None
    if bounced is not None:
        bounced = [None if v is None or v != v else bool(v) for v in bounced]
    return items, bounced


def fit_completeness(feats: Features, df: pd.DataFrame, train_idx: np.ndarray, test_idx: np.ndarray,
                     refit_full: bool) -> tuple[CompletenessHead, dict[str, Any]]:
    """Fit on the training split, measure on the held-out split, then (optionally) refit on everything."""
    items, bounced = labels(df, train_idx)
    head = CompletenessHead().fit(feats.subset(train_idx), items, bounced)
    metrics = evaluate(head, feats, df, test_idx)
    if refit_full:
        items, bounced = labels(df, np.arange(len(df)))
        head = CompletenessHead().fit(feats, items, bounced)
    return head, metrics


def evaluate(head: CompletenessHead, feats: Features, df: pd.DataFrame, rows: np.ndarray) -> dict[str, Any]:
    """Held-out per-item F1 where labelled, and how the score separates bounced from accepted tickets."""
    items, bounced = labels(df, rows)
    p = head.predict_proba(feats.subset(rows)) if len(rows) else np.zeros((0, len(ITEMS)))
    out: dict[str, Any] = {"n": len(rows), "detectors": {k: v["kind"] for k, v in head.item_info_.items()}}
    for item, values in items.items():
        mask = np.array([v is not None for v in values], dtype=bool)
        if mask.sum():
            y = np.array([bool(v) for v in values if v is not None])
            out[f"{item}_f1"] = round(float(f1_score(y, p[mask, ITEMS.index(item)] >= 0.5, zero_division=0)), 4)
    if bounced is not None:
        mask = np.array([v is not None for v in bounced], dtype=bool)
        b = np.array([bool(v) for v in bounced if v is not None])
        if mask.sum() and 0 < b.sum() < len(b):
            score = p[mask] @ head.weights_
            out["bounced_auc"] = round(float(roc_auc_score(~b, score)), 4)
            out["bounced_caught"] = round(float((score[b] < head.ready_threshold_).mean()), 4)
    out["ready_threshold"] = round(head.ready_threshold_, 4)
    return out
