"""FAISS IVF's recall and latency by `nprobe`, on the real-derived vectors of bench/vectors_edge.py.

Why: the product switches the ticket history to IVF beyond 50k tickets (and the KB beyond 200k chunks),
and on real e5 embeddings IVF with nprobe 32 returned only ~0.89 of the exact top-10 at 100k. This sweeps
nprobe on one IVF build (nlist = 4·√n, as `FaissStore` builds it), single-threaded, 200 held-out real
queries, each also timed on exact search in the same loop (the box's load hits both alike).

    OMP_NUM_THREADS=1 .venv/bin/python bench/ivf_nprobe.py --n 100000 --out bench/results/ivf_nprobe.json

Needs the embedding cache bench/vectors_edge.py writes (`--cache`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from vectors_edge import dataset  # type: ignore[import-not-found]  # noqa: E402


def main() -> None:
    import faiss

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--nprobe", default="32,64,128,256")
    ap.add_argument("--cache", type=Path,
                    default=Path.home() / ".cache" / "triage" / "bench" / "vectors_edge_real_merged.npy")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ivf_nprobe.json")
    args = ap.parse_args()
    faiss.omp_set_num_threads(1)
    vecs, queries, info = dataset(np.load(args.cache).astype(np.float32), args.n, 500)
    queries = queries[: args.queries]
    exact = faiss.IndexFlatIP(vecs.shape[1])
    exact.add(vecs)
    _, truth = exact.search(queries, 10)
    nlist = int(4 * np.sqrt(args.n))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(vecs.shape[1]), vecs.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    started = time.time()
    ivf.train(vecs)
    ivf.add(vecs)
    out: dict[str, object] = {"n": args.n, "nlist": nlist, "queries": len(queries), "set": info,
                              "build_seconds": round(time.time() - started, 1), "load_before": os.getloadavg()[0]}
    exact_ms: list[float] = []
    for nprobe in (int(p) for p in args.nprobe.split(",")):
        ivf.nprobe = nprobe
        lat, rec = [], []
        for i in range(len(queries)):
            t = time.perf_counter()
            _, hits = ivf.search(queries[i:i + 1], 10)
            lat.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            exact.search(queries[i:i + 1], 10)
            exact_ms.append((time.perf_counter() - t) * 1000)
            rec.append(len(set(hits[0]) & set(truth[i])) / 10)
        out[f"nprobe_{nprobe}"] = {"recall_at_10": round(float(np.mean(rec)), 3),
                                   "p50_ms": round(float(np.percentile(lat, 50)), 2),
                                   "p95_ms": round(float(np.percentile(lat, 95)), 2)}
        print(nprobe, out[f"nprobe_{nprobe}"], flush=True)
    out["exact_p50_ms"] = round(float(np.percentile(exact_ms, 50)), 2)
    out["load_after"] = os.getloadavg()[0]
    args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
