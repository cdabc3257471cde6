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
from training._metrics import rank_figures
from training._report import abstention_section, label_section, metrics_table
from training._scoring import ModelScores, kb_ranks, label_heads, records, score_model
from training.completeness import evaluate as completeness_metrics
from training.completeness import has_completeness_labels
from training.pipeline import data_fingerprint, labelled, report_head
from triage import Triage, open_triage
from triage._data import ColumnMapping, load_tickets
from triage._history import order_times
from triage.settings import Settings


def predict_file(model: str | Path, input: Path, output: Path, *, mapping: ColumnMapping | None = None,
                 settings: Settings | None = None, batch: int = 256, kb: Path | None = None,
                 spark_master: str | None = None, partitions: int | None = None) -> int:
    """Classify in created_at order (input order where absent); write atomically.

    With `spark_master`, on Spark (training/_spark.py, which states the history semantics of a backfill).
    """
    settings = settings or Settings()
    df = load_tickets([input], mapping)
    times = order_times(list(df["created_at"]))  # undated tickets keep their place in input order
    if any(t is not None for t in times):
        df = df.iloc[np.argsort(np.array([t if t is not None else np.inf for t in times]), kind="stable")]
    recs = records(df)
    if spark_master is not None:
        from training._spark import predict_spark
        from triage._registry import resolve_model

        bundle = resolve_model(model, settings).path  # executors open the directory itself
        return predict_spark(bundle, recs, output, settings=settings, kb=kb, master=spark_master,
                             partitions=partitions)
    # a copy of the bundle's history unless TRIAGE_HISTORY_DB or TRIAGE_DATABASE_URL names a lasting one; no alerts
    triage = open_triage(model, settings, kb=kb, history="ephemeral", alerts=False, progress=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(output) as fh:  # a failed or killed run leaves the previous output as it was
        for start in tqdm(range(0, len(recs), batch), desc="classifying", unit="batch"):
            for result in triage.classify(recs[start:start + batch], batch_size=settings.batch_size):
                fh.write(json.dumps(result, ensure_ascii=False) + "\n")
    triage.close()
    return len(recs)


def evaluate_file(model: str | Path, data: Path, report: Path, *, mapping: ColumnMapping | None = None,
                  settings: Settings | None = None, kb: Path | None = None,
                  mlflow: bool = False) -> dict[str, dict[str, Any]]:
    """Metrics and plots for every head whose label column the data has (and the KB's, given one; duplicate
    recall when the data names `duplicate_of`); with `mlflow`, an evaluate run linked to the model version."""
    settings = settings or Settings()
    df = load_tickets([data], mapping)
    dupes = "duplicate_of" in df.columns and labelled(df, "duplicate_of").any()
    triage = open_triage(model, settings, kb=kb, history="ephemeral" if dupes else "none", alerts=False,
                         progress=True)
    try:
        scored = score_model(triage, df, settings.batch_size)
        report.mkdir(parents=True, exist_ok=True)
        metrics = model_metrics(scored, df, report)
    finally:
        triage.close()
    note = None
    if not metrics:
        if label_heads(triage):
            raise_no_labels(triage, df)
        note = ("this bundle has no label heads (trained without a classification target), and the data has no "
                "`info_requested` or `kb_article` labels to score completeness or KB suggestions: nothing to "
                "measure. Use `triage predict` for similar tickets, recurring problems and completeness.")
    summary: dict[str, Any] = {"model_version": triage.model_version, "registry": triage.registry, "data": str(data),
                               "rows": len(df), "metrics": metrics, "note": note}
    (report / "report.md").write_text(_markdown(scored, data, metrics) + (f"\nNote: {note}\n" if note else ""),
                                      encoding="utf-8")
    if mlflow and metrics:
        summary["mlflow_run_id"] = _log_evaluation(settings, triage, metrics, report, df, data)
    (report / "metrics.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    if note:
        print(f"note: {note}", file=sys.stderr)
    return metrics


def model_metrics(scored: ModelScores, df: pd.DataFrame, plot_dir: Path, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every figure of one scored model (heads, completeness, KB, duplicates), plots into `plot_dir`."""
    triage = scored.triage
    metrics: dict[str, dict[str, Any]] = {}
    for name, scores in scored.heads.items():
        metrics[name], _ = report_head(name, scores, plot_dir, prefix)
    if "completeness" in triage.heads and has_completeness_labels(df):
        metrics["completeness"] = completeness_metrics(triage.heads["completeness"], scored.feats, df,
                                                       np.arange(len(df)))
    if scored.kb_ranks is not None and len(scored.kb_ranks):
        figs = rank_figures(scored.kb_ranks, np.ones(len(scored.kb_ranks)))
        metrics["kb"] = {"n": len(scored.kb_ranks), **{k: round(float(v[0]), 4) for k, v in figs.items()}}
    if scored.duplicate_hits is not None and len(scored.duplicate_hits):
        k = triage.recurring.top_k if triage.recurring is not None else None
        metrics["duplicates"] = {"n": len(scored.duplicate_hits), "k": k,
                                 "recall": round(float(scored.duplicate_hits.mean()), 4)}
    return metrics


def _log_evaluation(settings: Settings, triage: Triage, metrics: dict[str, dict[str, Any]], report: Path,
                    df: pd.DataFrame, data: Path) -> str:
    from training._tracking import log_scoring_run, run_name

    flat = {f"{head}.{k}": v for head, m in metrics.items() for k, v in m.items() if isinstance(v, int | float)}
    info = {**(triage.registry or {}), "model_version": triage.model_version}
    label = f"v{info['version']}" if info.get("version") else triage.model_version
    return log_scoring_run(settings=settings, kind="evaluate", name=run_name("evaluate", f"{label} on {data.name}"),
                           models={"model": info}, metrics=flat, report=report, data=df, data_source=str(data),
                           data_sha=data_fingerprint(df), params={"data": str(data), "rows": len(df)})


def kb_retrieval_metrics(index: Any, feats: Any, gold: pd.Series, k: int = 10) -> dict[str, Any]:
    """Recall@1/5 and MRR of the gold article among KB suggestions, over tickets that name one."""
    _, ranks = kb_ranks(index, feats.dense, feats, gold, k)
    figs = rank_figures(ranks, np.ones(len(ranks)))
    return {"n": len(ranks), **{key: float(v[0]) for key, v in figs.items()}}


def raise_no_labels(triage: Triage, df: pd.DataFrame) -> None:
    from triage.errors import DataError

    raise DataError(f"the data has none of the bundle's label columns {sorted(triage.heads)}; "
                    f"columns found: {[c for c in df.columns if not c.startswith('_')]}. "
                    "Use --config to map them.")


def _markdown(scored: ModelScores, data: Path, metrics: dict[str, dict[str, Any]]) -> str:
    triage = scored.triage
    reg = triage.registry or {}
    served = f" (models:/{reg['name']}/{reg['version']}{'@' + reg['alias'] if reg.get('alias') else ''})" \
        if reg.get("version") else ""
    lines = [f"# Evaluation of {triage.model_version}{served}", "", f"Data: `{data}`", ""]
    heads = {n: m for n, m in metrics.items() if n in scored.heads}
    if heads:
        lines += metrics_table(heads)
        lines += ["", "Answered: share of tickets the head answers at its shipped threshold (it abstains on the "
                  "rest); precision answered: how often those answers are right; oracle coverage: what a "
                  "threshold tuned on this very data could answer at the target precision; ECE: calibration error "
                  "(0 = confidences mean what they say).", "", "## What each head answers, and why", ""]
        for name in heads:
            lines += abstention_section(name, heads[name], triage.manifest)
        lines += ["", "## Labels", ""]
        for name in heads:
            lines += label_section(name, scored.heads[name], triage.manifest) or [f"- {name}: every label known."]
        lines += ["", "Plots: " + ", ".join(f"`confusion_{n}.png`, `risk_coverage_{n}.png`" for n in heads)]
    if "kb" in metrics:
        kb = metrics["kb"]
        lines += ["", f"KB suggestions over {kb['n']} tickets naming their article: recall@1 {kb['recall_at_1']:.3f}, "
                      f"recall@5 {kb['recall_at_5']:.3f}, MRR {kb['mrr']:.3f}."]
    if "duplicates" in metrics:
        d = metrics["duplicates"]
        lines += ["", f"Duplicates: over {d['n']} tickets naming `duplicate_of`, the earlier ticket was among the "
                      f"{d['k']} similar tickets for {d['recall']:.1%} (recall@{d['k']})."]
    if "completeness" in metrics:
        lines += ["", "Completeness: " + ", ".join(f"{k} {v}" for k, v in metrics["completeness"].items()
                                                   if k != "detectors") + "."]
    return "\n".join(lines) + "\n"
