"""Known problems (`triage/_problems.py`) against real groups of tickets with one cause: which rule clusters best.

Three sets of tickets whose groups are known: RUTUBE support questions answered by the same KB entry (400;
gold groups of 2+ questions), Apache Hadoop issues linked as duplicates (2,503; connected components of the
links), and the demo tickets linked by `duplicate_of` (600; illustrative, written by the project — among
them the 19-ticket telephony outage). Each rule clusters all tickets of a set; a ticket outside every
problem counts as its own group. Scores: pairwise precision / recall / F1 (pairs of tickets put in one
problem vs pairs in one gold group) and the adjusted Rand index.

Rules: the problem threshold (the cosine a cluster's members must reach on average) from a quantile of
random ticket pairs (the shipped 99.9%, and 99.5%, 99%), or from the team's own duplicate links (a
low percentile of the cosines of linked pairs among the earlier half of the tickets — never the links
being scored' later half alone); linkage average / complete; smallest problem 2 or 3 tickets.

    python bench/problems.py --out bench/results/problems.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import require_datasets, shared_datasets  # type: ignore[import-not-found]  # noqa: E402

from triage import CachedEmbedder, ColumnMapping, Settings, load_embedder, load_tickets  # noqa: E402
from triage._problems import fit_problems, link_threshold  # noqa: E402
from triage._recurring import similarity_threshold  # noqa: E402

HADOOP = ColumnMapping(columns={"id": "Issue id", "subject": "Summary", "body": "Description", "created_at": "Created"})


def components(ids: list[str], pairs: list[tuple[str, str]]) -> np.ndarray:
    """Gold group per ticket: connected components of the links; unlinked tickets are their own group."""
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        if a in parent and b in parent:
            parent[find(a)] = find(b)
    roots = {r: k for k, r in enumerate(sorted({find(i) for i in ids}))}
    return np.array([roots[find(i)] for i in ids])


def datasets(skip_hadoop: bool = False) -> dict[str, tuple[list[str], list[str], np.ndarray, list[tuple[int, int]]]]:
    """name -> (texts, subjects, gold groups, links as row pairs, in time order)."""
    out = {}
    raw = pd.read_csv(shared_datasets() / "rutube-support-ru" / "cases.csv", dtype=str)
    texts = raw["Вопрос пользователя"].fillna("").str.strip().tolist()
    entry = raw["Вопрос из БЗ"].fillna("").tolist()
    gold = pd.factorize(pd.Series(entry))[0]
    out["rutube (same KB entry)"] = (texts, [t[:120] for t in texts], gold, _pairs(gold))
    demo = load_tickets([REPO / "data" / "demo" / "tickets.csv"])
    demo = demo.sort_values("created_at", kind="stable").reset_index(drop=True)
    ids = demo["id"].astype(str).tolist()
    dup = [(a, str(b)) for a, b in zip(ids, demo["duplicate_of"], strict=True) if isinstance(b, str) and b.strip()]
    gold = components(ids, dup)
    out["demo (duplicate_of; illustrative)"] = (demo["text"].tolist(), demo["subject"].tolist(), gold, _pairs(gold))
    if skip_hadoop:
        return out
    df = load_tickets([shared_datasets() / "hadoop-duplicates" / "hadoop_bugs.csv"], HADOOP)
    df = df.sort_values("created_at", kind="stable").reset_index(drop=True)
    link = pd.read_csv(shared_datasets() / "hadoop-duplicates" / "hadoop_bugs-combined.csv", dtype=str)
    ids = df["id"].astype(str).tolist()
    pairs = [(a, b.strip()) for a, bs in zip(link["Issue id"], link["Duplicate id"], strict=True)
             for b in str(bs).split(",")]
    gold = components(ids, pairs)
    out["hadoop (duplicate links)"] = (df["text"].tolist(), df["subject"].tolist(), gold, _pairs(gold))
    return out


def _pairs(gold: np.ndarray) -> list[tuple[int, int]]:
    """Every pair of rows in one gold group, earlier row first (rows are in time order)."""
    out = []
    for g in np.unique(gold):
        rows = np.flatnonzero(gold == g)
        out += [(int(a), int(b)) for i, a in enumerate(rows) for b in rows[i + 1:]]
    return out


def pairwise(pred: np.ndarray, gold: np.ndarray, later_from: int = 0) -> dict[str, float]:
    """Pairwise P/R/F1 over pairs whose later ticket is at row `later_from` or after (so links a rule was
    given, all among earlier rows, are not scored), and the ARI over all tickets."""
    def together(labels: np.ndarray) -> set[tuple[int, int]]:
        out: set[tuple[int, int]] = set()
        for g in np.unique(labels):
            rows = np.flatnonzero(labels == g)
            if len(rows) > 1:
                out.update((int(a), int(b)) for i, a in enumerate(rows) for b in rows[i + 1:] if b >= later_from)
        return out

    p, g = together(pred), together(gold)
    hit = len(p & g)
    prec = hit / len(p) if p else 0.0
    rec = hit / len(g) if g else 0.0
    return {"pair_precision": round(prec, 4), "pair_recall": round(rec, 4),
            "pair_f1": round(2 * prec * rec / (prec + rec) if prec + rec else 0.0, 4),
            "ari": round(float(adjusted_rand_score(gold, pred)), 4)}


def run_rule(dense: np.ndarray, subjects: list[str], gold: np.ndarray, threshold: float, linkage: str,
             min_size: int, links: list[tuple[int, int]]) -> dict[str, Any]:
    n = len(dense)
    problems, assigned = fit_problems(dense, subjects, [None] * n, [None] * n, list(range(n)), threshold=threshold,
                                      min_size=min_size, linkage=linkage, links=links)
    pred = np.array([a if a is not None else -(i + 1) for i, a in enumerate(assigned)])
    largest_gold = np.bincount(gold).argmax()
    members = pred[gold == largest_gold]
    best_share = float(np.max(np.unique(members[members > 0], return_counts=True)[1]) / len(members)) \
        if (members > 0).any() else 0.0
    titles = [p.title for p in problems.problems]
    return {"threshold": round(threshold, 4), "linkage": linkage, "min_size": min_size,
            **pairwise(pred, gold, n // 2),
            "problems": len(problems), "largest": max((p.size for p in problems.problems), default=0),
            "largest_gold_group": int((gold == largest_gold).sum()),
            "largest_gold_in_one_problem": round(best_share, 4),
            "duplicate_titles": len(titles) - len(set(titles))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench/results/problems.json"))
    ap.add_argument("--skip-hadoop", action="store_true", help="leave out Hadoop (2,503 issues to embed: slowest)")
    args = ap.parse_args()
    require_datasets("rutube-support-ru", "hadoop-duplicates")
    settings = Settings()
    emb = CachedEmbedder(load_embedder("e5-small", cache_dir=settings.cache_dir, max_tokens=settings.max_tokens),
                         settings.cache_dir / "embeddings.sqlite")
    results: list[dict[str, Any]] = []
    for name, (texts, subjects, gold, links) in datasets(args.skip_hadoop).items():
        dense = emb.encode(texts, kind="query", progress=True)
        half = len(dense) // 2
        earlier = [(a, b) for a, b in links if b < half]  # links among the earlier half of the tickets only
        rules: dict[str, float] = {f"random pairs q{q}": similarity_threshold(dense, quantile=q)
                                   for q in (0.999, 0.995, 0.99)}
        for pct in (10, 25):
            t = link_threshold(dense, earlier, percentile=pct)
            if t is not None:
                rules[f"links p{pct}"] = t
        variants = [(rule, t, []) for rule, t in rules.items()]
        variants += [(f"team links (earlier half) + {rule}", rules[rule], earlier)
                     for rule in ("random pairs q0.999", "random pairs q0.99")]
        for rule, threshold, given in variants:
            for linkage in ("average", "complete"):
                for min_size in (2, 3):
                    t0 = time.perf_counter()
                    m = run_rule(dense, subjects, gold, threshold, linkage, min_size, given)
                    m.update(dataset=name, rule=rule, seconds=round(time.perf_counter() - t0, 2),
                             links_used=len(earlier))
                    results.append(m)
                    print(json.dumps(m, ensure_ascii=False), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)  # after every dataset: Hadoop takes longest to embed
        args.out.write_text(json.dumps({"results": results}, ensure_ascii=False, indent=1), encoding="utf-8")
    print("| data | rule | threshold | linkage | min size | pair P / R / F1 | ARI | problems | largest | "
          "largest gold group in one problem | duplicate titles |\n|---|---|---|---|---|---|---|---|---|---|---|")
    for m in results:
        print(f"| {m['dataset']} | {m['rule']} | {m['threshold']:.3f} | {m['linkage']} | {m['min_size']} | "
              f"{m['pair_precision']:.3f} / {m['pair_recall']:.3f} / {m['pair_f1']:.3f} | {m['ari']:.3f} | "
              f"{m['problems']} | {m['largest']} | {m['largest_gold_in_one_problem']:.2f} of "
              f"{m['largest_gold_group']} | {m['duplicate_titles']} |")


if __name__ == "__main__":
    main()
