"""Vector-store scale test: build throughput, single-query latency and memory at 10k / 100k / 1M chunks,
for every backend behind `kb_index.VectorStore`, in one run.

Synthetic unit vectors (384-d, drawn around 2,000 cluster centres, as embeddings of a real KB cluster by
topic); queries are perturbed copies of stored vectors. Each (backend, size) runs in a fresh subprocess so
its memory is its own. FAISS runs single-threaded (OMP_NUM_THREADS=1), as the service does per query.
Recall@10 of the approximate index is measured against exact search on the same vectors.

    python bench/kb_scale.py --out bench/results/kb_scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import rss_mb  # type: ignore[import-not-found]

DIM = 384
QUERIES = 200


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(2000, DIM)).astype(np.float32)
    vecs = np.empty((n, DIM), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        vecs[start:start + m] = centres[rng.integers(0, 2000, m)] + 0.6 * rng.normal(size=(m, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    queries = vecs[rng.integers(0, n, QUERIES)] + 0.05 * rng.normal(size=(QUERIES, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return vecs, queries


def one(backend: str, n: int, queries_limit: int) -> dict[str, Any]:
    from kb_index import FaissStore, QdrantStore

    base = rss_mb()  # before the data: after `del vecs` only the store (and 200 queries) remain
    vecs, queries = data(n)
    queries = queries[:queries_limit]
    ids = np.arange(n, dtype=np.int64)
    t0 = time.perf_counter()
    if backend == "qdrant-local":
        store: Any = QdrantStore(DIM, collection="bench", path=":memory:")
    else:
        store = FaissStore(DIM, exact_max=0 if backend == "faiss-ivf" else 10**12)
    for start in range(0, n, 50_000):
        store.add(ids[start:start + 50_000], vecs[start:start + 50_000])
    if backend.startswith("faiss"):
        store.optimize()
    build = time.perf_counter() - t0
    del vecs, ids
    mem = rss_mb() - base
    lat, found = [], []
    store.search(queries[:1], 10)  # warm-up
    for q in queries:
        t = time.perf_counter()
        _, got = store.search(q[None, :], 10)
        lat.append((time.perf_counter() - t) * 1000)
        found.append(got[0].tolist())
    return {"backend": backend, "n": n, "build_s": round(build, 2), "vectors_per_s": round(n / build),
            "p50_ms": round(float(np.percentile(lat, 50)), 2), "p95_ms": round(float(np.percentile(lat, 95)), 2),
            "memory_mb": round(mem), "queries": len(queries), "found": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/results/kb_scale.json"))
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--backends", default="faiss-exact,faiss-ivf,qdrant-local")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        backend, n, limit = args.one.split(":")
        print(json.dumps(one(backend, int(n), int(limit))))
        return
    rows = []
    exact: dict[int, list[list[int]]] = {}
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for n in map(int, args.sizes.split(",")):
        for backend in args.backends.split(","):
            limit = QUERIES if not (backend == "qdrant-local" and n >= 1_000_000) else 30
            res = subprocess.run([sys.executable, __file__, "--one", f"{backend}:{n}:{limit}"], env=env,
                                 capture_output=True, text=True, timeout=3600)
            if res.returncode != 0:
                rows.append({"backend": backend, "n": n, "error": res.stderr.strip().splitlines()[-1][:300]})
                print(rows[-1], flush=True)
                continue
            row = json.loads(res.stdout.strip().splitlines()[-1])
            found = row.pop("found")
            if backend == "faiss-exact":
                exact[n] = found
            if n in exact:
                row["recall_at_10_vs_exact"] = round(float(np.mean(
                    [len(set(a) & set(b)) / 10 for a, b in zip(found, exact[n], strict=False)])), 3)
            row["memory_mb_per_million"] = round(row["memory_mb"] * 1_000_000 / n)
            rows.append(row)
            print(row, flush=True)
    out = {"dim": DIM, "machine": f"{os.cpu_count()} cores", "rows": rows,
           "command": "python bench/kb_scale.py"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
