"""Duplicate detection on real Jira issues, replayed in time order, through `recurring.similar`.

Apache Hadoop issues (../shared/datasets/hadoop-duplicates, CC BY 4.0) arrive one by one in `Created`
order into a real `TicketHistory` (SQLite + FAISS + BM25, exactly what the service runs). Before each
linked issue is appended it is queried: its linked duplicates created strictly earlier are the gold.
Reported: recall@1/@5/@10 and MAP of the gold among the top-10, for the fused search the service uses,
dense only, and the BM25 baseline (the same history's BM25, Lucene k1/b, stemmed tokens) on the same
replay; plus the cosine of gold pairs (what the problem/spike thresholds are set from).

With `--learned` (issue 18), the protocol of a team that trains on its history: the earlier half of the
tickets (by created time) and only the duplicate links among them train the duplicate ranking
(`triage._duplicates.fit_duplicate_ranker`, exactly what `triage train` runs on its seed); the later half is
then replayed in time order, each linked ticket queried before it is appended, and BM25, today's fused
search and the learned ranking are scored on the same later-half queries (gold may be in either half).

    python bench/duplicates.py --out bench/results/duplicates.json          # ~6 min to embed, cached after
    python bench/duplicates.py --learned --out bench/results/duplicates_learned.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import require_datasets, shared_datasets  # type: ignore[import-not-found]  # noqa: E402

from triage import CachedEmbedder, ColumnMapping, Settings, load_embedder, load_tickets  # noqa: E402
from triage._duplicates import CANDIDATES, Query, fit_duplicate_ranker  # noqa: E402
from triage._history import HistoryRecord, TicketHistory, to_epoch  # noqa: E402

DATA = shared_datasets() / "hadoop-duplicates"
MAPPING = ColumnMapping(columns={"id": "Issue id", "subject": "Summary", "body": "Description",
                                 "created_at": "Created"})
MODES = {"fused": ("fused", 0.3), "dense": ("dense", 0.0), "bm25": ("bm25", 0.0), "lexical_pruned": ("lexical", 0.0),
         "fused_w0.15": ("fused", 0.15), "fused_w0.6": ("fused", 0.6)}
K = 10


def links(df: pd.DataFrame) -> dict[str, set[str]]:
    """Issue -> its linked duplicates created strictly earlier (the file lists both directions, some not)."""
    raw = pd.read_csv(DATA / "hadoop_bugs-combined.csv", dtype=str)
    created = dict(zip(df["id"], df["created_at"], strict=True))
    gold: dict[str, set[str]] = {}
    for a, bs in zip(raw["Issue id"], raw["Duplicate id"], strict=True):
        for b in (x.strip() for x in str(bs).split(",")):
            for q, t in ((a, b), (b, a)):
                if q in created and t in created and created[t] < created[q]:
                    gold.setdefault(q, set()).add(t)
    return gold


def rutube(shuffled: bool = False) -> tuple[pd.DataFrame, dict[str, set[str]]]:
    """Real Russian support questions in file order (one a minute); same gold KB entry = same problem.

    The file is grouped by KB entry (75% of same-entry pairs are adjacent rows), so for a ranker that sees
    the time between two tickets, `shuffled` dates them in a seeded random order instead: otherwise it
    would learn "the previous question is the duplicate", an artefact of the file, not of support work.
    """
    raw = pd.read_csv(shared_datasets() / "rutube-support-ru" / "cases.csv", dtype=str)
    if shuffled:
        raw = raw.iloc[np.random.default_rng(0).permutation(len(raw))].reset_index(drop=True)
    df = pd.DataFrame({"id": [f"R-{i}" for i in range(len(raw))], "subject": "",
                       "body": raw["Вопрос пользователя"].fillna("").str.strip()})
    df["text"] = df["body"]
    df["created_at"] = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.arange(len(df)), unit="min")
    gold: dict[str, set[str]] = {}
    seen: dict[str, list[str]] = {}
    for tid, entry in zip(df["id"], raw["Вопрос из БЗ"].fillna(""), strict=True):
        if entry and seen.get(entry):
            gold[tid] = set(seen[entry])
        seen.setdefault(entry, []).append(tid)
    return df, gold


def average_precision(ranked: list[str], gold: set[str]) -> float:
    hits, total = 0, 0.0
    for i, tid in enumerate(ranked, 1):
        if tid in gold:
            hits += 1
            total += hits / i
    return total / len(gold)


def replay(df: pd.DataFrame, vecs: np.ndarray, gold: dict[str, set[str]], folder: Path) -> dict[str, Any]:
    history = TicketHistory(folder / "history.sqlite", vecs.shape[1])
    ranks: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    gold_cos: list[float] = []
    latency: list[float] = []
    order = np.argsort(df["created_at"].to_numpy(), kind="stable")
    for i in tqdm(order, desc="replay", unit="issue"):
        row = df.iloc[i]
        created = to_epoch(row["created_at"])
        assert created is not None
        if row["id"] in gold:
            for name, (mode, weight) in MODES.items():
                t0 = time.perf_counter()
                found = history.search(vecs[i], row["text"], before=created, exclude=row["id"], k=K, mode=mode,
                                       lexical_weight=weight)
                if name == "fused":
                    latency.append(time.perf_counter() - t0)
                info = history.details([m.row for m in found])
                ranked = [info[m.row]["ticket_id"] for m in found]
                ranks[name].append({"id": row["id"], "ranked": ranked, "gold": sorted(gold[row["id"]])})
            for g in gold[row["id"]]:
                gold_cos.append(float((history.vectors(np.asarray([history.row_of(g)])) @ vecs[i])[0]))
        history.append([HistoryRecord(ticket_id=row["id"], created_at=created, subject=row["subject"],
                                      text=row["text"], embedding=vecs[i], source="train")])
    history.close()
    return {"ranks": ranks, "gold_cos": gold_cos, "latency_ms_p50": float(np.median(latency) * 1000)}


def metrics(ranked_rows: list[dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {"n": len(ranked_rows)}
    for k in (1, 5, 10):
        out[f"recall_at_{k}"] = round(float(np.mean([bool(set(r["ranked"][:k]) & set(r["gold"]))
                                                     for r in ranked_rows])), 4)
    out["map_at_10"] = round(float(np.mean([average_precision(r["ranked"], set(r["gold"]))
                                            for r in ranked_rows])), 4)
    return out


def random_cos(vecs: np.ndarray, n: int = 5000) -> list[float]:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(vecs), n), rng.integers(0, len(vecs), n)
    return [float(x) for x in np.sum(vecs[a] * vecs[b], axis=1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--embedder", default="e5-small")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "duplicates.json")
    parser.add_argument("--learned", action="store_true",
                        help="train on the earlier half's links, replay the later half (BM25, fused, learned)")
    args = parser.parse_args()
    require_datasets("hadoop-duplicates", "rutube-support-ru")
    settings = Settings()
    embedder = CachedEmbedder(load_embedder(args.embedder, cache_dir=settings.cache_dir, max_tokens=args.max_tokens,
                                            onnx=settings.onnx_graph),  # TRIAGE_INT8=1: the int8 graph
                              settings.cache_dir / "embeddings.sqlite")
    hadoop = load_tickets([DATA / "hadoop_bugs.csv"], MAPPING)
    run = run_learned if args.learned else run_dataset
    results = {"embedder": embedder.model_id, "max_tokens": args.max_tokens, "k": K,
               "protocol": "earlier half trains, later half replayed" if args.learned else "full replay",
               "hadoop-duplicates": run(hadoop, links(hadoop), embedder),
               "rutube-same-kb-entry": run(*rutube(shuffled=args.learned), embedder)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps({name: {k: v for k, v in r.items() if k != "per_query"} if isinstance(r, dict) else r
                      for name, r in results.items()}, indent=2))


def run_dataset(df: pd.DataFrame, gold: dict[str, set[str]], embedder: CachedEmbedder) -> dict[str, Any]:
    vecs = embedder.encode(df["text"].tolist(), kind="query", batch_size=32, progress=True)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run = replay(df, vecs, gold, Path(tmp))
        seconds = time.perf_counter() - t0
    gold_cos, rnd = np.asarray(run["gold_cos"]), np.asarray(random_cos(vecs))
    return {"tickets": len(df), "queries": len(gold),
            "modes": {name: metrics(rows) for name, rows in run["ranks"].items()},
            "gold_pair_cosine": {q: round(float(np.quantile(gold_cos, q / 100)), 4) for q in (10, 25, 50, 75, 90)},
            "random_pair_cosine": {q: round(float(np.quantile(rnd, q / 100)), 4) for q in (50, 90, 99, 99.9)},
            "search_latency_ms_p50": round(run["latency_ms_p50"], 2), "replay_seconds": round(seconds, 1),
            "per_query": run["ranks"]["fused"]}


def run_learned(df: pd.DataFrame, gold: dict[str, set[str]], embedder: CachedEmbedder) -> dict[str, Any]:
    """Earlier half (and its links only) trains; the later half is replayed; three rankings on its queries."""
    vecs = embedder.encode(df["text"].tolist(), kind="query", batch_size=32, progress=True)
    order = np.argsort(df["created_at"].to_numpy(), kind="stable")
    earlier, later = order[:len(order) // 2], order[len(order) // 2:]
    early_ids = set(df["id"].iloc[earlier])
    train_gold = {q: {t for t in ts if t in early_ids} for q, ts in gold.items() if q in early_ids}
    train_gold = {q: ts for q, ts in train_gold.items() if ts}
    with tempfile.TemporaryDirectory() as tmp:
        history = TicketHistory(Path(tmp) / "history.sqlite", vecs.shape[1])
        history.append([_record(df.iloc[i], vecs[i]) for i in earlier])
        t0 = time.perf_counter()
        ranker, report = fit_duplicate_ranker(history, train_gold, progress=True)
        fit_seconds = time.perf_counter() - t0
        ranks: dict[str, list[dict[str, Any]]] = {"bm25": [], "fused": [], "learned": []}
        for i in tqdm(later, desc="later half", unit="ticket"):
            row = df.iloc[i]
            created = to_epoch(row["created_at"])
            assert created is not None
            if row["id"] in gold:
                found = {name: history.search(vecs[i], row["text"], before=created, exclude=row["id"], k=K, mode=mode,
                                              lexical_weight=weight)
                         for name, (mode, weight) in (("bm25", MODES["bm25"]), ("fused", MODES["fused"]))}
                pool = history.candidates(vecs[i], row["text"], before=created, exclude=row["id"], n=CANDIDATES)
                found["learned"] = (ranker.rank(history, Query(vecs[i], row["subject"], row["text"], created), pool, K)
                                    if ranker is not None else found["fused"])
                for name, matches in found.items():
                    info = history.details([m.row for m in matches])
                    ranks[name].append({"id": row["id"], "ranked": [info[m.row]["ticket_id"] for m in matches],
                                        "gold": sorted(gold[row["id"]])})
            history.append([_record(row, vecs[i])])
        history.close()
    return {"tickets": len(df), "training_tickets": len(earlier), "training_links": len(train_gold),
            "queries": len(ranks["fused"]), "ranker": report, "fit_seconds": round(fit_seconds, 1),
            "modes": {name: metrics(rows) for name, rows in ranks.items()}, "per_query": ranks}


def _record(row: pd.Series, vec: np.ndarray) -> HistoryRecord:
    created = to_epoch(row["created_at"])
    assert created is not None
    return HistoryRecord(ticket_id=row["id"], created_at=created, subject=row["subject"], text=row["text"],
                         embedding=vec, source="train")


if __name__ == "__main__":
    main()
