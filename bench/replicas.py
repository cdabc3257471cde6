"""Replicas on one PostgreSQL (contract §8): two `triage serve` processes against one, in one run.

Part 1, throughput. A real PostgreSQL (Debian's, started here on 127.0.0.1) and real uvicorn
replicas; `--clients` closed-loop clients send single tickets to `POST /v1/classify` for `--seconds`
seconds, first all to one replica, then spread over two (each on its own fresh database, same
bundle, same tickets). The figure is the ratio of the two throughputs. Each replica is one process
whose model calls take turns, so two replicas can only beat one where there are cores for both.

Part 2, the database's share of a ticket. In-process, on the bundle's own training tickets (real
embeddings): the history's part of one classified ticket — a similar-ticket search, then the append
of the ticket in its own transaction — on an embedded SQLite file and on PostgreSQL, in ms per
ticket, interleaved so both see the same machine load.

    .venv/bin/python -m triage.cli train --data data/demo/tickets.csv --target category --target priority \\
        --out /tmp/bench-model --no-mlflow
    .venv/bin/python bench/replicas.py --model /tmp/bench-model --out bench/results/replicas.json
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from api._pgserver import create_database, postgres_server  # noqa: E402
from api.testing import KEYS, call, free_port, keys_env, serve  # noqa: E402


def tickets(n: int) -> list[dict[str, str]]:
    """Demo tickets as the helpdesk sends them (subject and body), new ids so each is a new ticket."""
    df = pd.read_csv(REPO / "data" / "demo" / "tickets.csv", dtype=str, keep_default_na=False)
    rows = df.sample(n=n, replace=n > len(df), random_state=0)
    return [{"id": f"B-{i}", "subject": r.subject, "body": r.body} for i, r in enumerate(rows.itertuples())]


def drive(urls: list[str], load: list[dict[str, str]], clients: int, seconds: float) -> dict[str, Any]:
    """Closed loop: each client sends its next ticket when the previous is answered; client i uses urls[i % n]."""
    headers = {"authorization": f"Bearer {KEYS['all']}"}
    done, errors = [0] * clients, [0] * clients
    lat: list[list[float]] = [[] for _ in range(clients)]
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        url, k = urls[i % len(urls)], i
        while time.monotonic() < stop:
            ticket = {**load[k % len(load)], "id": f"C{i}-{k}"}
            t = time.perf_counter()
            status, _ = call("POST", url + "/v1/classify", ticket, headers, timeout=60)
            lat[i].append(time.perf_counter() - t)
            done[i] += status == 200
            errors[i] += status != 200
            k += clients

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    every = np.concatenate([np.asarray(x) for x in lat if x]) * 1000
    return {"replicas": len(urls), "clients": clients, "seconds": round(wall, 1), "answered": sum(done),
            "errors": sum(errors), "tickets_per_s": round(sum(done) / wall, 2),
            "p50_ms": round(float(np.percentile(every, 50)), 1), "p95_ms": round(float(np.percentile(every, 95)), 1)}


def throughput(model: Path, base: str, cache_dir: Path, clients: int, seconds: float) -> list[dict[str, Any]]:
    load = tickets(2000)
    out = []
    for n in (1, 2):
        url = create_database(base, f"bench_{n}_replicas")
        env = {"TRIAGE_DATABASE_URL": url, "TRIAGE_API_KEYS": keys_env(), "TRIAGE_DEV_MODE": "0",
               "TRIAGE_RATE_LIMIT_PER_MIN": "0", "TRIAGE_CACHE_DIR": str(cache_dir), "TRIAGE_LOG_LEVEL": "warning"}
        with ExitStack() as stack:
            urls = [stack.enter_context(serve(model, env))[0] for _ in range(n)]
            drive(urls, load[:50], clients, 5)  # warm-up: first calls, connection set-up
            result = drive(urls, load, clients, seconds)
        print(json.dumps(result), flush=True)
        out.append(result)
    return out


def seed_tickets(model: Path) -> tuple[list[str], np.ndarray]:
    db = sqlite3.connect(f"file:{model / 'history' / 'history.sqlite'}?mode=ro", uri=True)
    rows = db.execute("SELECT text, embedding FROM tickets ORDER BY id").fetchall()
    db.close()
    return [r[0] for r in rows], np.stack([np.frombuffer(r[1], np.float32) for r in rows])


def history_cost(model: Path, base: str, n: int) -> dict[str, Any]:
    """ms per ticket of search + append (own transaction), SQLite file vs PostgreSQL, interleaved."""
    from triage._history import HistoryRecord, TicketHistory

    texts, vecs = seed_tickets(model)
    half = len(texts) // 2
    folder = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    stores = {"sqlite": TicketHistory(folder / "h.sqlite", vecs.shape[1]),
              "postgresql": TicketHistory(create_database(base, "bench_history"), vecs.shape[1])}
    for h in stores.values():  # the first half is the history the queries search
        h.append([HistoryRecord(ticket_id=f"H-{i}", created_at=1.7e9 + i, subject="", text=texts[i],
                                embedding=vecs[i]) for i in range(half)])
    times: dict[str, dict[str, list[float]]] = {k: {"search": [], "append": [], "both": []} for k in stores}
    for j in range(n):
        i = half + j % (len(texts) - half)
        for name, h in stores.items():
            t0 = time.perf_counter()
            h.search(vecs[i], texts[i], before=2e9, k=5)  # in memory, plus the k hits' details from the database
            t1 = time.perf_counter()
            h.append([HistoryRecord(ticket_id=f"Q-{j}", created_at=1.8e9 + j, subject="", text=texts[i],
                                    embedding=vecs[i])])  # one durable commit, as one classified ticket
            t2 = time.perf_counter()
            for part, ms in (("search", t1 - t0), ("append", t2 - t1), ("both", t2 - t0)):
                times[name][part].append(ms * 1000)
    for h in stores.values():
        h.close()
    out: dict[str, Any] = {"history_tickets": half, "tickets": n}
    for name, parts in times.items():
        out[name] = {part: {"p50_ms": round(float(np.percentile(v, 50)), 2),
                            "p95_ms": round(float(np.percentile(v, 95)), 2)} for part, v in parts.items()}
    for part in ("search", "append", "both"):
        ratio = out["postgresql"][part]["p50_ms"] / out["sqlite"][part]["p50_ms"]
        out[f"postgresql_over_sqlite_{part}_p50"] = round(ratio, 2)
    print(json.dumps(out), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a bundle from `triage train`")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--history-tickets", type=int, default=500, help="tickets timed in part 2")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "triage")
    parser.add_argument("--skip-throughput", action="store_true", help="part 2 only")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with postgres_server(free_port()) as base:
        cost = history_cost(args.model, base, args.history_tickets)
        runs = [] if args.skip_throughput else throughput(args.model, base, args.cache_dir, args.clients, args.seconds)
    report: dict[str, Any] = {"cores": os.cpu_count(), "load_average": os.getloadavg(), "history_cost": cost}
    if runs:
        report.update(throughput=runs, two_over_one=round(runs[1]["tickets_per_s"] / runs[0]["tickets_per_s"], 2))
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
