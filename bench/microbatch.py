"""Real-length latency and micro-batching (issue 19): every figure a ratio measured in this one run.

Tickets: real tickets of real length, 900-1,300 characters (subject + body; ~1,100 on average) from
tickets-multilang and the Hadoop Jira issues. The bundle and KB of `bash scripts/demo.sh` (all heads,
completeness, ticket history, KB). For each server configuration — micro-batching on (the defaults)
and off (`TRIAGE_MICROBATCH_MAX_TICKETS=1`, `TRIAGE_MICROBATCH_WAIT_MS=0`: one model call per
request, as before issue 19) — a real `triage serve` (uvicorn) on 127.0.0.1 is measured for:

- one client, one ticket at a time: p50 / p95 (target p95 <= 50 ms);
- `POST /v1/classify/batch` throughput over the tickets (64 per request);
- 8 closed-loop clients sending single tickets: throughput, and its ratio to the batch endpoint's
  (target >= 0.8);
- an open loop at 20 requests/s (bench/load.py's `run_rate`): p50 / p95, and its ratio to the p95 of
  the embedder alone on the same tickets (target <= 2).

Then, in-process with the server stopped: the embedder alone, one ticket at a time, and the per-part
profile of one `/v1/classify` (embedder, each head, language, completeness, KB, history, serialisation).

    OMP_NUM_THREADS=1 .venv/bin/python bench/microbatch.py --model models/demo --kb models/kb \\
        --out bench/results/microbatch.json
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from _common import require_datasets  # type: ignore[import-not-found]  # noqa: E402
from load import Client, run_rate  # type: ignore[import-not-found]  # noqa: E402

CONFIGS = {"microbatch": {}, "one_call_per_request": {"TRIAGE_MICROBATCH_MAX_TICKETS": "1",
                                                      "TRIAGE_MICROBATCH_WAIT_MS": "0"}}


def real_length_tickets(root: Path, n: int, lo: int = 900, hi: int = 1300) -> list[dict[str, str]]:
    frames = [pd.read_csv(f)[["subject", "body"]] for f in sorted(glob.glob(str(root / "tickets-multilang" / "*.csv")))]
    hadoop = pd.read_csv(root / "hadoop-duplicates" / "hadoop_bugs.csv")
    frames.append(pd.DataFrame({"subject": hadoop["Summary"], "body": hadoop["Description"]}))
    df = pd.concat(frames).fillna("")
    length = df["subject"].str.len() + 1 + df["body"].str.len()
    df = df[(length >= lo) & (length <= hi)].sample(n=n, random_state=0)
    return [{"subject": str(s), "body": str(b)} for s, b in zip(df["subject"], df["body"], strict=True)]


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "n": len(seconds)}


def fresh(pool: list[dict[str, str]], tag: str) -> Callable[[int], dict[str, str]]:
    """Ticket i of the pool with an id never sent before (a re-sent id takes the history's replace path)."""
    return lambda i: {**pool[i % len(pool)], "id": f"{tag}-{i}"}


def one_client(client: Client, ticket: Callable[[int], dict[str, str]], n: int) -> dict[str, float]:
    times, errors = [], 0
    for i in range(n):
        t0 = time.perf_counter()
        errors += client.classify(ticket(i)) != 200
        times.append(time.perf_counter() - t0)
    return {**percentiles(times), "errors": errors}


def closed_loop(client: Client, ticket: Callable[[int], dict[str, str]], n: int, clients: int) -> float:
    """Tickets per second with `clients` threads each sending one ticket at a time, n tickets in all."""
    counter, lock = iter(range(n)), threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            status = client.classify(ticket(i))
            if status != 200:
                raise RuntimeError(f"a single-ticket request got {status}")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(worker) for _ in range(clients)]:
            f.result()
    return n / (time.perf_counter() - t0)


def batch_endpoint(client: Client, ticket: Callable[[int], dict[str, str]], n: int, size: int = 64) -> float:
    import requests

    t0 = time.perf_counter()
    with requests.Session() as s:
        for start in range(0, n, size):
            batch = [ticket(i) for i in range(start, min(n, start + size))]
            res = s.post(client.url + "/v1/classify/batch", json=batch, headers={"X-API-Key": client.key}, timeout=600)
            res.raise_for_status()
    return n / (time.perf_counter() - t0)


def measure_server(model: Path, kb: Path, pool: list[dict[str, str]], extra: dict[str, str], tag: str,
                   args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from api.testing import KEYS, keys_env, serve

    store = work / tag
    store.mkdir()
    env = {"TRIAGE_DEV_MODE": "0", "TRIAGE_API_KEYS": keys_env(), "TRIAGE_RATE_LIMIT_PER_MIN": "0",
           "TRIAGE_LOG_LEVEL": "WARNING", "TRIAGE_KB_DIR": str(kb), "TRIAGE_HISTORY_DB": str(store / "history.sqlite"),
           "TRIAGE_FEEDBACK_DB": str(store / "feedback.sqlite"),
           "TRIAGE_DELIVERIES_DB": str(store / "deliveries.sqlite"),
           "TRIAGE_REQUEST_DEADLINE_MS": str(args.deadline_ms),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), **extra}
    out: dict[str, Any] = {"server_env": extra, "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    with serve(model, env) as (url, _):
        client = Client(url, KEYS["helpdesk"], timeout=args.deadline_ms / 1000 + 60)
        one_client(client, fresh(pool, f"{tag}-warm"), 10)
        out["one_client"] = one_client(client, fresh(pool, f"{tag}-one"), args.requests)
        print(tag, "one client", out["one_client"], flush=True)
        out["batch_tickets_per_s"] = round(batch_endpoint(client, fresh(pool, f"{tag}-batch"), args.throughput_n), 2)
        out["clients_8_tickets_per_s"] = round(closed_loop(client, fresh(pool, f"{tag}-c8"), args.throughput_n, 8), 2)
        out["clients_8_to_batch"] = round(out["clients_8_tickets_per_s"] / out["batch_tickets_per_s"], 3)
        print(tag, "throughput", out["batch_tickets_per_s"], out["clients_8_tickets_per_s"], flush=True)
        if args.seconds > 0:  # --seconds 0: skip the open loop (a box too busy to serve the rate at all)
            open_pool = [fresh(pool, f"{tag}-open")(i) for i in range(int(args.rate * args.seconds))]
            out["rate_20"] = run_rate(client, open_pool, args.rate, args.seconds)
            print(tag, "open loop", out["rate_20"], flush=True)
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def profile(model: Path, kb: Path, pool: list[dict[str, str]], work: Path, n: int) -> dict[str, Any]:
    """In-process: the embedder alone per ticket, and where one full classify spends its time."""
    import triage._triage as core
    from api.schemas import TriageResult
    from triage import Settings, open_triage
    from triage._data import ticket_text

    settings = Settings(kb_dir=kb, history_db=work / "profile-history.sqlite")
    model_ = open_triage(model, settings, alerts=False)
    tickets = [fresh(pool, "prof")(i) for i in range(n)]
    texts = [ticket_text(t["subject"], t["body"]) for t in tickets]
    for text in texts[:10]:
        model_.embedder.encode([text])
    embed = []
    for text in texts:
        t0 = time.perf_counter()
        model_.embedder.encode([text])
        embed.append(time.perf_counter() - t0)
    parts: dict[str, list[float]] = {}

    def timed(obj: Any, name: str, key: str) -> None:
        inner = getattr(obj, name)

        def wrapper(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(*a, **kw)
            finally:
                parts.setdefault(key, []).append(time.perf_counter() - t0)
        setattr(obj, name, wrapper)

    timed(model_, "features", "embedder (tokenise + model)")
    for name, head in model_.heads.items():
        if head.slot != "completeness":
            timed(head, "predict_results", f"head {name}")
    timed(core, "detect_language", "language")
    timed(model_, "score_completeness", "completeness")
    if model_.kb is not None:
        timed(model_.kb, "search", "KB search")
    if model_.recurring is not None:
        timed(model_.recurring, "observe", "history (similar, problem, spike, durable append)")
    total, serial = [], []
    for i, ticket in enumerate(tickets):
        t0 = time.perf_counter()
        result = model_.classify([ticket])[0]
        total.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        TriageResult.model_validate(result).model_dump_json(exclude_unset=True)
        serial.append(time.perf_counter() - t0)
        if i == 4:  # the first few pay for lazy imports and caches
            parts.clear()
            total.clear()
            serial.clear()
    model_.close()
    per_part = {k: round(1000 * sum(v) / len(total), 2) for k, v in parts.items()}
    per_part["serialisation (response model + JSON)"] = round(1000 * float(np.mean(serial)), 2)
    per_part["rest (shaping the result)"] = round(1000 * float(np.mean(total)) - sum(
        v for k, v in per_part.items() if not k.startswith("serialisation")), 2)
    return {"embedder_alone": percentiles(embed), "classify_in_process": percentiles(total),
            "mean_ms_per_part": per_part}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=REPO / "models" / "demo")
    ap.add_argument("--kb", type=Path, default=REPO / "models" / "kb")
    ap.add_argument("--requests", type=int, default=200, help="one-client requests per configuration")
    ap.add_argument("--throughput-n", type=int, default=256, help="tickets per throughput measurement")
    ap.add_argument("--rate", type=float, default=20)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--configs", nargs="*", default=list(CONFIGS))
    ap.add_argument("--tickets", choices=["real-length", "short"], default="real-length")
    ap.add_argument("--deadline-ms", type=int, default=10_000, help="TRIAGE_REQUEST_DEADLINE_MS of the servers "
                    "(raise it on a busy box, where a batch of 8 real-length tickets can take seconds)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "microbatch.json")
    args = ap.parse_args()
    root = require_datasets("tickets-multilang", "hadoop-duplicates", "rutube-support-ru")
    if args.tickets == "short":  # real RUTUBE user questions (~60 characters): where per-request costs show most
        questions = pd.read_csv(root / "rutube-support-ru" / "cases.csv")["Вопрос пользователя"].dropna()
        pool = [{"subject": "", "body": str(q)} for q in questions.sample(300, random_state=0)]
    else:
        pool = real_length_tickets(root, 300)
    work = Path(tempfile.mkdtemp(prefix="triage-microbatch-"))
    report: dict[str, Any] = {"cores": os.cpu_count(), "omp_threads": os.environ.get("OMP_NUM_THREADS", "1"),
                              "tickets": len(pool), "mean_chars": round(float(np.mean(
                                  [len(t["subject"]) + 1 + len(t["body"]) for t in pool]))),
                              "note": "machine shared with other engineers' jobs during the run"}
    for tag in args.configs:
        report[tag] = measure_server(args.model, args.kb, pool, CONFIGS[tag], tag, args, work)
    report["in_process"] = prof = profile(args.model, args.kb, pool, work, min(args.requests, 100))
    embed_p95 = prof["embedder_alone"]["p95_ms"]
    for tag in args.configs:
        if "rate_20" in report[tag]:
            report[tag]["rate_20_p95_to_embedder_p95"] = round(report[tag]["rate_20"]["p95_ms"] / embed_p95, 2)
        report[tag]["one_client_p95_to_embedder_p95"] = round(report[tag]["one_client"]["p95_ms"] / embed_p95, 2)
    report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
