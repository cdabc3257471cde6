"""`triage predict` and `triage evaluate`: a bundle over a file of tickets."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from kb_index.durable import atomic_file
from training.completeness import evaluate as completeness_metrics
from training.completeness import has_completeness_labels
from training.pipeline import evaluate_head
from triage import Triage, open_triage
from triage._data import Mapping, load_tickets
from triage._history import order_times
from triage.settings import Settings

_RECORD_FIELDS = ("id", "subject", "body", "language", "created_at", "customer", "channel")


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols = [c for c in _RECORD_FIELDS if c in df.columns]
    return df[cols].to_dict(orient="records")  # type: ignore[return-value]


def predict_file(model: Path, input: Path, output: Path, *, mapping: Mapping | None = None,
                 settings: Settings | None = None, batch: int = 256, kb: Path | None = None) -> int:
    """Classify in created_at order (input order where absent); write atomically."""
    settings = settings or Settings()
    # a copy of the bundle's history unless TRIAGE_HISTORY_DB names a lasting one; no alerts
    triage = open_triage(model, settings, kb=kb, history="ephemeral", alerts=False, progress=True)
    df = load_tickets([input], mapping)
    times = order_times(list(df["created_at"]))  # undated tickets keep their place in input order
    if any(t is not None for t in times):
        df = df.iloc[np.argsort(np.array([t if t is not None else np.inf for t in times]), kind="stable")]
    records = _records(df)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(output) as fh:  # a failed or killed run leaves the previous output as it was
        for start in tqdm(range(0, len(records), batch), desc="classifying", unit="batch"):
            for result in triage.classify(records[start:start + batch], batch_size=settings.batch_size):
                fh.write(json.dumps(result, ensure_ascii=False) + "\n")
    triage.close()
    return len(records)


def evaluate_file(model: Path, data: Path, report: Path, *, mapping: Mapping | None = None,
                  settings: Settings | None = None, kb: Path | None = None) -> dict[str, dict[str, Any]]:
    """Metrics and plots for every head whose label column the data has (and the KB's, given one)."""
    settings = settings or Settings()
    triage = open_triage(model, settings, kb=kb, history="none", progress=True)
    df = load_tickets([data], mapping)
    feats = triage.features(_records(df), batch_size=settings.batch_size, progress=True)
    report.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, dict[str, Any]] = {}
    for name, head in triage.heads.items():
        if name not in df.columns:
            continue
        metrics[name], _ = evaluate_head(head, feats, df, np.arange(len(df)), report)
    if "completeness" in triage.heads and has_completeness_labels(df):
        metrics["completeness"] = completeness_metrics(triage.heads["completeness"], feats, df, np.arange(len(df)))
    if triage.kb is not None and "kb_article" in df.columns and df["kb_article"].notna().any():
        metrics["kb"] = kb_retrieval_metrics(triage.kb, feats, df["kb_article"])
    note = None
    if not metrics:
        if _label_heads(triage):
            raise_no_labels(triage, df)
        note = ("this bundle has no label heads (trained without a classification target), and the data has no "
                "`info_requested` or `kb_article` labels to score completeness or KB suggestions: nothing to "
                "measure. Use `triage predict` for similar tickets, recurring problems and completeness.")
    (report / "metrics.json").write_text(json.dumps({"model_version": triage.model_version, "data": str(data),
                                                     "rows": len(df), "metrics": metrics, "note": note},
                                                    ensure_ascii=False, indent=2), encoding="utf-8")
    (report / "report.md").write_text(_markdown(triage, data, metrics) + (f"\nNote: {note}\n" if note else ""),
                                      encoding="utf-8")
    if note:
        print(f"note: {note}", file=sys.stderr)
    return metrics


def _label_heads(triage: Triage) -> list[str]:
    """Heads scored against a label column (everything but the completeness scorer)."""
    return [name for name, head in triage.heads.items() if head.slot != "completeness"]


def kb_retrieval_metrics(index: Any, feats: Any, gold: pd.Series, k: int = 10) -> dict[str, Any]:
    """Recall@1/5 and MRR of the gold article among KB suggestions, over tickets that name one."""
    rows = np.flatnonzero(gold.notna().to_numpy() & (gold.astype(str).str.strip() != "").to_numpy())
    hits = index.search(feats.dense[rows], [feats.texts[i] for i in rows], k=k, sources=["kb"])
    ranks = []
    for row, found in zip(rows, hits, strict=True):
        ids = [h.article_id for h in found]
        want = str(gold.iloc[row]).strip()
        ranks.append(ids.index(want) + 1 if want in ids else None)
    n = len(ranks)
    return {"n": n, "recall_at_1": sum(r == 1 for r in ranks) / n, "recall_at_5": sum(r is not None and r <= 5
            for r in ranks) / n, "mrr": sum(1 / r for r in ranks if r) / n}


def raise_no_labels(triage: Triage, df: pd.DataFrame) -> None:
    from triage.errors import DataError

    raise DataError(f"the data has none of the bundle's label columns {sorted(triage.heads)}; "
                    f"columns found: {[c for c in df.columns if not c.startswith('_')]}. "
                    "Use --config to map them.")


def _markdown(triage: Triage, data: Path, metrics: dict[str, dict[str, Any]]) -> str:
    lines = [f"# Evaluation of {triage.model_version}", "", f"Data: `{data}`", "",
             "| head | n | accuracy | macro-F1 | top-3 | coverage at target precision (oracle) | "
             "coverage / precision at the bundle's threshold | ECE |", "|---|---|---|---|---|---|---|---|"]
    heads = {n: m for n, m in metrics.items() if n not in ("kb", "completeness")}
    for name, m in heads.items():
        cov_key = next((k for k in m if k.startswith("coverage_at_p")), "")
        lines.append(f"| {name} | {m['n']} | {m['accuracy']} | {m['macro_f1']} | {m['top3_accuracy']} | "
                     f"{m.get(cov_key)} | {m['threshold_coverage']} / {m['threshold_precision']} | {m['ece']} |")
    lines += ["", "Plots: " + ", ".join(f"`confusion_{n}.png`, `risk_coverage_{n}.png`" for n in heads)]
    if "kb" in metrics:
        kb = metrics["kb"]
        lines += ["", f"KB suggestions over {kb['n']} tickets naming their article: recall@1 {kb['recall_at_1']:.3f}, "
                      f"recall@5 {kb['recall_at_5']:.3f}, MRR {kb['mrr']:.3f}."]
    if "completeness" in metrics:
        lines += ["", "Completeness: " + ", ".join(f"{k} {v}" for k, v in metrics["completeness"].items()
                                                   if k != "detectors") + "."]
    kinds = [n for n in metrics if n in triage.heads and triage.heads[n].slot in ("module", "owner")]
    if kinds:
        lines += ["", f"Top-level heads evaluated: {', '.join(kinds)}."]
    return "\n".join(lines) + "\n"
