"""Duplicate search on real Jira issues (data/real/hadoop-duplicates, CC BY 4.0): issues arrive one by one in
`Created` order into a real `TicketHistory` (SQLite + FAISS + BM25, as served); before a linked issue is
appended, its linked duplicates created strictly earlier must come back among the similar tickets
(measured with the light embedder: recall@10 0.88, recall@1 0.65 on 66 linked issues; the bounds leave room)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from triage import Mapping, load_tickets
from triage._history import HistoryRecord, TicketHistory, to_epoch


def earlier_duplicates(links: Path, created: dict[str, float]) -> dict[str, set[str]]:
    """Issue -> its linked duplicates created strictly earlier (links go either way; one row lists two)."""
    gold: dict[str, set[str]] = {}
    with links.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for b in (x.strip() for x in row["Duplicate id"].split(",")):
                for q, t in ((row["Issue id"].strip(), b), (b, row["Issue id"].strip())):
                    if q in created and t in created and created[t] < created[q]:
                        gold.setdefault(q, set()).add(t)
    return gold


def test_linked_duplicates_are_found_among_earlier_issues(hadoop_slice, use_embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    issues, links, mapping = hadoop_slice
    df = load_tickets([issues], Mapping.load(mapping))
    created = {tid: to_epoch(at) for tid, at in zip(df["id"], df["created_at"], strict=True)}
    gold = earlier_duplicates(links, created)  # type: ignore[arg-type]
    assert len(gold) >= 50  # both sides of every link are in the slice
    vecs = use_embedder.encode(df["text"].tolist(), kind="query")
    history = TicketHistory(tmp_path / "history.sqlite", vecs.shape[1])
    hits, first = [], []
    for i in np.argsort(df["created_at"].to_numpy(), kind="stable"):
        row = df.iloc[i]
        at = created[row["id"]]
        if row["id"] in gold:
            found = history.search(vecs[i], row["text"], before=at, exclude=row["id"], k=10, mode="fused",
                                   lexical_weight=0.3)
            info = history.details([m.row for m in found])
            ranked = [info[m.row]["ticket_id"] for m in found]
            assert all(created[t] < at for t in ranked)  # only earlier issues, never itself
            hits.append(bool(set(ranked) & gold[row["id"]]))
            first.append(bool(ranked) and ranked[0] in gold[row["id"]])
        history.append([HistoryRecord(ticket_id=row["id"], created_at=at, subject=row["subject"], text=row["text"],
                                      embedding=vecs[i], source="train")])
    history.close()
    assert np.mean(hits) >= 0.75, f"recall@10 {np.mean(hits):.3f} on {len(hits)} linked issues"
    assert np.mean(first) >= 0.5, f"recall@1 {np.mean(first):.3f}"
