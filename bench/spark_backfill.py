"""Backfill throughput: `triage predict --engine spark` on local[2] against single-process `predict`, same run.

Real Hadoop Jira issues (dated, so the history is exercised), the bundle and KB of `bash scripts/demo.sh`.
Each engine runs as the `triage predict` command a user types (process start, model load and, for Spark,
the JVM included), one after the other on the same input; the figure is the ratio of their tickets/s.
Also checked: both outputs have the same tickets in the same order and the same labels.

    OMP_NUM_THREADS=1 .venv/bin/python bench/spark_backfill.py --rows 200 --out bench/results/spark_backfill.json
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

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from _common import require_datasets  # type: ignore[import-not-found]  # noqa: E402


def run(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "training.cli", "predict", *args], cwd=REPO, check=True,
                   env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=REPO / "models" / "demo")
    ap.add_argument("--kb", type=Path, default=REPO / "models" / "kb")
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "spark_backfill.json")
    args = ap.parse_args()
    root = require_datasets("hadoop-duplicates")
    work = Path(tempfile.mkdtemp(prefix="triage-spark-bench-"))
    df = pd.read_csv(root / "hadoop-duplicates" / "hadoop_bugs.csv").head(args.rows)
    data = work / "backlog.csv"
    pd.DataFrame({"id": df["Issue id"], "created_at": df["Created"], "subject": df["Summary"],
                  "body": df["Description"]}).to_csv(data, index=False)
    common = ["--model", str(args.model), "--kb", str(args.kb), "--input", str(data)]
    report: dict[str, Any] = {"rows": args.rows, "master": args.master, "cores": os.cpu_count(),
                              "omp_threads": os.environ.get("OMP_NUM_THREADS"),
                              "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    local = run([*common, "--output", str(work / "local.jsonl")])
    spark = run([*common, "--output", str(work / "spark.jsonl"), "--engine", "spark", "--spark-master", args.master])
    a = [json.loads(x) for x in (work / "local.jsonl").read_text(encoding="utf-8").splitlines()]
    b = [json.loads(x) for x in (work / "spark.jsonl").read_text(encoding="utf-8").splitlines()]
    report.update({"single_process_seconds": round(local, 1), "spark_seconds": round(spark, 1),
                   "single_process_tickets_per_s": round(args.rows / local, 2),
                   "spark_tickets_per_s": round(args.rows / spark, 2), "spark_to_single": round(local / spark, 2),
                   "same_tickets_same_order": [r["ticket_id"] for r in a] == [r["ticket_id"] for r in b],
                   "same_labels": [r["labels"] for r in a] == [r["labels"] for r in b],
                   "load_average_after": [round(x, 2) for x in os.getloadavg()]})
    print(json.dumps(report, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
