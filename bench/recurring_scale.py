"""Cost of `recurring` per ticket at 10k / 100k / 1M stored tickets, and memory.

Synthetic history: 384-d unit vectors around 2,000 topic centres (as embeddings of real tickets cluster
by topic) and ~25-word texts drawn Zipf-like from a 30k-word vocabulary, so BM25 postings look like a
helpdesk's. Each size runs in a fresh subprocess: the history is written through `TicketHistory.append`
in batches, closed, then *opened* as the service does after a restart (SQLite -> FAISS + BM25) — the
open time is reported too. Then single tickets go through `Recurring.observe` (search, problem, durable
append with one fsync, spike count) exactly as `/v1/classify` runs it; the embedding itself is not
included (see the Speed section). The history's FAISS store is exact up to 50k tickets, IVF beyond.

    python bench/recurring_scale.py --out bench/results/recurring_scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import rss_mb  # type: ignore[import-not-found]

REPO = Path(__file__).resolve().parents[1]
DIM = 384
QUERIES = 100


def synthetic(n: int, rng: np.random.Generator, centres: np.ndarray, words: np.ndarray,
              probs: np.ndarray) -> tuple[np.ndarray, list[str]]:
    vecs = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.normal(size=(n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    texts = [" ".join(words[rng.choice(len(words), 25, p=probs)]) for _ in range(n)]
    return vecs.astype(np.float32), texts


def one(n: int) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    from triage._history import HistoryRecord, TicketHistory
    from triage._problems import ProblemSet
    from triage._recurring import Recurring
    from triage._spike import SpikeDetector
    from triage.results import Prediction

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2000, DIM)).astype(np.float32)
    words = np.asarray([f"w{i}" for i in range(30_000)])
    probs = 1.0 / np.arange(1, 30_001)
    probs /= probs.sum()
    folder = Path(tempfile.mkdtemp(prefix="recurring-scale-"))
    path = folder / "history.sqlite"
    base = rss_mb()
    history = TicketHistory(path, DIM)
    t0 = time.perf_counter()
    for start in range(0, n, 20_000):
        m = min(20_000, n - start)
        vecs, texts = synthetic(m, rng, centres, words, probs)
        history.append([HistoryRecord(ticket_id=f"H-{start + i}", created_at=float(start + i) * 60,
                                      subject=texts[i][:40], text=texts[i], embedding=vecs[i], source="train")
                        for i in range(m)])
    write_s = time.perf_counter() - t0
    history.close()
    t0 = time.perf_counter()
    history = TicketHistory(path, DIM)
    open_s = time.perf_counter() - t0
    getattr(history.store, "optimize", lambda: None)()  # what a large deployment runs: IVF past 200k
    memory = rss_mb() - base
    problems = ProblemSet([], np.zeros((0, DIM), np.float32), 0.9)
    recurring = Recurring(history, problems, SpikeDetector(history, threshold=0.8), top_k=5)
    vecs, texts = synthetic(QUERIES + 5, rng, centres, words, probs)
    search_ms, observe_ms = [], []
    for i in range(QUERIES + 5):
        ticket = {"id": f"Q-{i}", "created_at": float(n + i) * 60, "subject": texts[i][:40]}
        t0 = time.perf_counter()
        history.search(vecs[i], texts[i], before=float(n + i) * 60, k=5)
        t1 = time.perf_counter()
        recurring.observe([ticket], vecs[i:i + 1], [texts[i]], [Prediction()])
        t2 = time.perf_counter()
        if i >= 5:  # warm-up
            search_ms.append((t1 - t0) * 1000)
            observe_ms.append((t2 - t1) * 1000)
    history._pending.append((history.row_of("Q-0"), texts[0]))  # what every 1% of growth costs once
    t0 = time.perf_counter()
    history._refresh_lexical(force=True)
    refresh_s = time.perf_counter() - t0
    out = {"n": n, "bm25_refresh_s": round(refresh_s, 2), "write_s": round(write_s, 1), "open_s": round(open_s, 1),
           "rss_mb": round(memory),
           "db_mb": round(sum(p.stat().st_size for p in folder.iterdir()) / 2**20),
           "store": history.store.describe(),
           "search_ms_p50": round(float(np.median(search_ms)), 2),
           "search_ms_p95": round(float(np.percentile(search_ms, 95)), 2),
           "observe_ms_p50": round(float(np.median(observe_ms)), 2),
           "observe_ms_p95": round(float(np.percentile(observe_ms, 95)), 2)}
    recurring.close()
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "recurring_scale.json")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    results = []
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    for n in args.sizes:
        res = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, env=env,
                             check=True)
        results.append(json.loads(res.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"dim": DIM, "queries": QUERIES, "results": results}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
