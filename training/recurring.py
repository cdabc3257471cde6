"""The recurrence part of training: the training tickets become the history seed, clustered into problems.

The seed is one SQLite file that `write_bundle` copies into the bundle (`history/history.sqlite`, listed
in the manifest with its sha256 like every other artefact), so the bundle stays the single atomic unit a
deployment swaps; the service copies it into its live history on start (triage/_recurring.py).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triage._bundle import file_sha256
from triage._duplicates import FILE as DUPLICATES_FILE
from triage._duplicates import fit_duplicate_ranker, gold_pairs
from triage._history import HistoryRecord, TicketHistory, order_times
from triage._problems import fit_problems
from triage._recurring import SEED, similarity_threshold

SPIKE_QUANTILE = 0.99
# Known problems (bench/problems.py, BENCHMARKS.md "Known problems on real groups"): the team's duplicate_of
# links group tickets as they stand; the rest are clustered (average linkage, 2+ tickets) at the cosine only 1%
# of random ticket pairs reach when the team links nothing, 0.1% when the links already hold the loosely
# worded groups.
PROBLEM_QUANTILE, PROBLEM_QUANTILE_LINKED, PROBLEM_MIN_SIZE = 0.99, 0.999, 2
LABEL_SKIP = {"id", "created_at", "subject", "body", "text", "language", "answer", "module", "duplicate_of",
              "kb_article", "info_requested", "customer", "channel"}


def _none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) or value == "" else value


def duplicate_links(df: pd.DataFrame) -> list[tuple[int, int]]:
    """(row, row of the ticket it duplicates) for every `duplicate_of` naming a ticket of the same data."""
    if "duplicate_of" not in df.columns:
        return []
    row_of = {str(tid): i for i, tid in enumerate(df["id"].astype(str))}
    return [(i, row_of[str(d).strip()]) for i, d in enumerate(df["duplicate_of"])
            if _none(d) is not None and str(d).strip() in row_of and row_of[str(d).strip()] != i]


def build_history_seed(df: pd.DataFrame, dense: np.ndarray, embedder_id: str, folder: Path,
                       targets: list[str]) -> tuple[Path, dict[str, Any]]:
    """Write every training ticket (with its embedding) and the known problems; returns the file and a summary.

    With `duplicate_of` links, the duplicate ranking is learned on the seed while it is open (summary key
    `duplicate_ranking`, and `folder/duplicates.joblib` when it measured better than today's).

    Tickets without a date are placed by input order next to their dated neighbours (`order_times`);
    in a file with no date at all, at the epoch in file order, so they count as earlier than anything.
    """
    ordered = order_times(list(df["created_at"]))
    created = [float(i) if t is None else t for i, t in enumerate(ordered)]
    subjects = [s.strip() or t.split("\n")[0][:120] for s, t in zip(df["subject"], df["text"], strict=True)]
    modules = [_none(m) for m in df["module"]] if "module" in df.columns else [None] * len(df)
    answers = [_none(a) for a in df["answer"]] if "answer" in df.columns else [None] * len(df)
    threshold = similarity_threshold(dense)
    # a spike's group is wider than a problem: rewordings of one outage are close to each other, not identical;
    # the Poisson test against the group's own long-run rate keeps that width from raising false alerts
    spike_threshold = similarity_threshold(dense, quantile=SPIKE_QUANTILE)
    links = duplicate_links(df)
    problem_threshold = similarity_threshold(dense, quantile=PROBLEM_QUANTILE_LINKED if links else PROBLEM_QUANTILE)
    problems, assigned = fit_problems(dense, subjects, modules, answers, created, threshold=problem_threshold,
                                      min_size=PROBLEM_MIN_SIZE, links=links)
    label_cols = {t: df[t].tolist() for t in targets if t not in LABEL_SKIP and t in df.columns}
    records = [HistoryRecord(ticket_id=tid, created_at=created[i], subject=subjects[i], text=text,
                             embedding=dense[i], source="train", module=modules[i], answer=answers[i],
                             labels={c: str(v[i]) for c, v in label_cols.items() if _none(v[i]) is not None},
                             problem_id=assigned[i])
               for i, (tid, text) in enumerate(zip(df["id"].astype(str), df["text"], strict=True))]
    path = folder / "history.sqlite"
    history = TicketHistory(path, dense.shape[1])
    history.append(records)
    problems.save(history.db)
    history.set_meta("similar_threshold", threshold)
    history.set_meta("spike_threshold", spike_threshold)
    history.set_meta("embedder", embedder_id)
    ranking = learn_duplicates(history, df, created, folder) if links else None
    history.close()
    db = sqlite3.connect(str(path))  # one self-contained file: fold the WAL back in
    db.execute("PRAGMA journal_mode=DELETE")
    db.close()
    summary = {"file": SEED, "tickets": len(records), "similar_threshold": round(threshold, 4),
               "spike_threshold": round(spike_threshold, 4),
               **problems.summary(), "duplicate_links": len(links), "sha256": file_sha256(path)}
    if ranking is not None:
        summary["duplicate_ranking"] = ranking
    return path, summary


def learn_duplicates(history: TicketHistory, df: pd.DataFrame, created: list[float], folder: Path) -> dict[str, Any]:
    """Fit the duplicate ranking on the seed's own replay; its report (and file, when it is used)."""
    import joblib

    ids = df["id"].astype(str).tolist()
    links = [str(_none(d) or "").strip() for d in df["duplicate_of"]]
    gold = gold_pairs(ids, links, dict(zip(ids, created, strict=True)))
    ranker, report = fit_duplicate_ranker(history, gold)
    if ranker is not None:
        joblib.dump(ranker, folder / "duplicates.joblib", compress=3)
        report = {**report, "file": DUPLICATES_FILE, "sha256": file_sha256(folder / "duplicates.joblib")}
    return report
