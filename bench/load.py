"""Load test of a real `triage serve` (uvicorn) process on 127.0.0.1 with realistic tickets.

Open loop: requests leave on a fixed schedule whatever the server does, and latency is measured from
the *scheduled* send time, so a server that falls behind shows it (no coordinated omission).
Phase 1: a steady rate (default 20/s for 60 s): errors and p50/p95/p99. Phase 2: step the rate up
from 5/s (20 s steps) until p95 reaches the target or errors appear: the highest rate under it.
Bounded in time and count. Tickets: held-out rows of tickets-multilang (EN/DE/...) and RUTUBE
support questions (RU), never seen in training of the bundle built by the command below.

    .venv/bin/python -m training.cli train --data /tmp/train.csv --target queue --target priority --out /tmp/model
    .venv/bin/python bench/load.py --model /tmp/model --out bench/results/load_label_heads.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from _common import require_datasets, shared_datasets  # type: ignore[import-not-found]  # noqa: E402

DATA = shared_datasets()


def tickets(n: int, skip_multilang: int) -> list[dict[str, str]]:
    multi = pd.read_csv(DATA / "tickets-multilang" / "dataset-tickets-multi-lang-4-20k.prefix.csv")
    multi = multi.iloc[skip_multilang:]
    multi = multi.fillna({"subject": "", "body": ""})
    ru = pd.read_csv(DATA / "rutube-support-ru" / "cases.csv")["Вопрос пользователя"].dropna()
    out = [{"id": f"L-{i}", "subject": str(r.subject), "body": str(r.body)}
           for i, r in enumerate(multi.itertuples()) if str(r.subject).strip() or str(r.body).strip()]
    ru = ru.sample(min(n, len(ru)), random_state=0)
    out += [{"id": f"R-{i}", "subject": "", "body": str(q)} for i, q in enumerate(ru)]
    rng = np.random.default_rng(0)
    return [out[i] for i in rng.permutation(len(out))[:n]]


class Client:
    """One keep-alive session per worker thread."""

    def __init__(self, url: str, key: str, timeout: float = 30) -> None:
        self.url, self.key, self.local, self.timeout = url, key, threading.local(), timeout

    def classify(self, ticket: dict[str, str]) -> int:
        session = getattr(self.local, "s", None)
        if session is None:
            session = self.local.s = requests.Session()
        res = session.post(self.url + "/v1/classify", json=ticket, headers={"X-API-Key": self.key},
                           timeout=self.timeout)
        return res.status_code


def run_rate(client: Client, pool: list[dict[str, str]], rate: float, seconds: float) -> dict[str, Any]:
    n = int(rate * seconds)
    latencies = np.zeros(n)
    statuses: list[int] = [0] * n
    start = time.perf_counter() + 0.2

    def one(i: int) -> None:
        due = start + i / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        try:
            statuses[i] = client.classify(pool[i % len(pool)])
        except requests.RequestException:
            statuses[i] = -1
        latencies[i] = time.perf_counter() - due

    with ThreadPoolExecutor(max_workers=64) as ex:
        list(ex.map(one, range(n)))
    errors = sum(s != 200 for s in statuses)
    ms = latencies * 1000
    return {"rate": rate, "seconds": seconds, "requests": n, "errors": errors,
            "achieved_rate": round(n / (time.perf_counter() - start), 2),
            "p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1), "max_ms": round(float(ms.max()), 1)}


def main() -> None:
    from api.testing import KEYS, keys_env, serve

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--steps", type=float, nargs="*", default=[5, 10, 15, 20, 25, 30, 40, 60])
    parser.add_argument("--step-seconds", type=float, default=20)
    parser.add_argument("--p95-target-ms", type=float, default=100)
    parser.add_argument("--skip-multilang", type=int, default=2000, help="Rows used for training the bundle.")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "load_label_heads.json")
    parser.add_argument("--server-log", type=Path, default=Path("/tmp/triage-load-server.log"),
                        help="The server's JSON log (one line per request, as in production).")
    args = parser.parse_args()
    require_datasets("tickets-multilang", "rutube-support-ru")
    pool = tickets(600, args.skip_multilang)
    env = {"TRIAGE_DEV_MODE": "0", "TRIAGE_API_KEYS": keys_env(), "TRIAGE_RATE_LIMIT_PER_MIN": "0",
           "TRIAGE_LOG_LEVEL": "INFO", "TRIAGE_TEST_LOG": str(args.server_log),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    report: dict[str, Any] = {"model": str(args.model), "tickets": len(pool),
                              "mean_chars": round(float(np.mean([len(t["subject"]) + len(t["body"]) for t in pool]))),
                              "omp_threads": env["OMP_NUM_THREADS"], "cores": os.cpu_count(),
                              "note": "machine shared with other engineers' jobs during the run",
                              "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    with serve(args.model, env) as (url, _):
        client = Client(url, KEYS["helpdesk"])
        run_rate(client, pool, 10, 3)  # warm the connections and the model
        report["steady"] = steady = run_rate(client, pool, args.rate, args.seconds)
        print(json.dumps(steady), flush=True)
        report["steps"], best = [], None
        for rate in args.steps:
            step = run_rate(client, pool, rate, args.step_seconds)
            report["steps"].append(step)
            print(json.dumps(step), flush=True)
            if step["errors"] or step["p95_ms"] >= args.p95_target_ms:
                break
            best = rate
        report["max_rate_p95_under_target"] = best
        report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    lines = [json.loads(line) for line in args.server_log.read_text(encoding="utf-8").splitlines() if line[:1] == "{"]
    report["server_log_request_lines"] = sum(line.get("msg") == "request" for line in lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps({"max_rate_p95_under_target": best}))
    sys.exit(1 if steady["errors"] else 0)


if __name__ == "__main__":
    main()
