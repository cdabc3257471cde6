"""int8 against fp32 for the default embedder (issue 19): speed ratio and how far the vectors move.

Both ONNX graphs (fp32, and its dynamic per-channel int8 quantisation, `TRIAGE_INT8=1`) embed the
same real tickets one at a time, interleaved so the shared box's load hits both alike: per-ticket
latency p50/p95 of each and their ratio, and the cosine of each int8 vector to its fp32 one. The
quality cost on the benchmarks is measured by running them with TRIAGE_INT8=1 (BENCHMARKS.md).

    OMP_NUM_THREADS=1 .venv/bin/python bench/int8.py --out bench/results/int8.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from _common import require_datasets  # type: ignore[import-not-found]  # noqa: E402
from microbatch import real_length_tickets  # type: ignore[import-not-found]  # noqa: E402


def main() -> None:
    import pandas as pd

    from triage import Settings, load_embedder
    from triage._data import ticket_text

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "int8.json")
    args = ap.parse_args()
    root = require_datasets("tickets-multilang", "hadoop-duplicates", "rutube-support-ru")
    settings = Settings()
    fp32 = load_embedder("e5-small", cache_dir=settings.cache_dir, max_tokens=settings.max_tokens, onnx=True)
    t0 = time.perf_counter()
    int8 = load_embedder("e5-small", cache_dir=settings.cache_dir, max_tokens=settings.max_tokens, onnx="int8")
    report: dict[str, Any] = {"omp_threads": os.environ.get("OMP_NUM_THREADS"), "cores": os.cpu_count(),
                              "load_int8_seconds": round(time.perf_counter() - t0, 1),
                              "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    short = pd.read_csv(root / "rutube-support-ru" / "cases.csv")["Вопрос пользователя"].dropna().sample(
        args.n, random_state=0).astype(str).tolist()
    sets = {"real_length_1100": [ticket_text(t["subject"], t["body"]) for t in real_length_tickets(root, args.n)],
            "short_rutube": short}
    for name, texts in sets.items():
        for emb in (fp32, int8):
            emb.encode(texts[:5])
        times: dict[str, list[float]] = {"fp32": [], "int8": []}
        vecs: dict[str, list[np.ndarray]] = {"fp32": [], "int8": []}
        for text in texts:
            for key, emb in (("fp32", fp32), ("int8", int8)):
                t = time.perf_counter()
                vecs[key].append(emb.encode([text])[0])
                times[key].append(time.perf_counter() - t)
        cos = np.sum(np.stack(vecs["fp32"]) * np.stack(vecs["int8"]), axis=1)
        row = {k: {"p50_ms": round(1000 * float(np.percentile(v, 50)), 1),
                   "p95_ms": round(1000 * float(np.percentile(v, 95)), 1)} for k, v in times.items()}
        row["speedup_p50"] = round(row["fp32"]["p50_ms"] / row["int8"]["p50_ms"], 2)
        row["speedup_mean"] = round(float(np.mean(times["fp32"]) / np.mean(times["int8"])), 2)
        row["cosine_to_fp32"] = {"mean": round(float(cos.mean()), 4), "min": round(float(cos.min()), 4)}
        report[name] = row
        print(name, json.dumps(row), flush=True)
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
