"""Helpdesk deliveries under load, with failures and a SIGKILL: a real `triage serve` process, the Zammad stand-in.

Phase 1 (paced, 5 webhooks/s): the webhook's answer time (it only stores) and the time from webhook to
note written. Phase 2 (as fast as 4 senders go): deliveries per second worked off; the service is
SIGKILLed once in the middle and restarted, and webhooks that found it down are resent with the same
delivery id, as Zammad retries them. All along the stand-in fails 5% of calls with a 503. At the end:
notes written = tickets, none lost, none twice.

    .venv/bin/python -m triage.cli train --data data/demo/tickets.csv --target category --target priority \\
        --out /tmp/bench-model
    .venv/bin/python bench/integrations.py --model /tmp/bench-model --out bench/results/integrations.json
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import hmac
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from api.integrations.standins import ZammadStandin  # noqa: E402
from api.testing import WEBHOOK_SECRET, keys_env, serve  # noqa: E402
from triage.deliveries import DeliveryStore  # noqa: E402

FIXTURE = REPO / "tests" / "api" / "fixtures" / "zammad_ticket_create.json"


def payloads(n: int) -> list[dict[str, Any]]:
    rows = list(csv.DictReader((REPO / "data" / "demo" / "tickets.csv").open(encoding="utf-8")))
    base = json.loads(FIXTURE.read_text(encoding="utf-8"))
    out = []
    for i in range(n):
        row = rows[i % len(rows)]
        p = json.loads(json.dumps(base))
        p["ticket"].update({"id": 1000 + i, "number": f"B-{i}", "title": row["subject"]})
        p["article"].update({"ticket_id": 1000 + i, "body": "<p>" + row["body"].replace("\n", "<br>") + "</p>"})
        out.append(p)
    return out


def send(url: str, payload: dict[str, Any], key: str) -> float | None:
    """Seconds to the 2xx; None when the service could not be reached (the caller resends)."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    sig = "sha1=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha1).hexdigest()
    req = urllib.request.Request(url + "/v1/integrations/zammad", data=body, method="POST", headers={
        "content-type": "application/json", "X-Hub-Signature": sig, "X-Zammad-Delivery": key})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            assert res.status == 202, res.status
    except urllib.error.HTTPError as err:
        if err.code in (429, 503):  # over the rate limit, or starting: the helpdesk retries it later
            return None
        raise RuntimeError(f"webhook answered HTTP {err.code}: {err.read()[:200]!r}") from err
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--paced", type=int, default=200)
    ap.add_argument("--burst", type=int, default=800)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    z = ZammadStandin(error_rate=0.05).serve()
    with TemporaryDirectory() as tmp:
        env = {"TRIAGE_API_KEYS": keys_env(), "TRIAGE_DEV_MODE": "0", "TRIAGE_WEBHOOK_SECRET": WEBHOOK_SECRET,
               "TRIAGE_ZAMMAD_URL": z.url, "TRIAGE_ZAMMAD_TOKEN": z.token, "TRIAGE_DELIVERY_BACKOFF_SECONDS": "0.2",
               "TRIAGE_DELIVERIES_DB": f"{tmp}/d.sqlite", "TRIAGE_HISTORY_DB": f"{tmp}/h.sqlite",
               "TRIAGE_FEEDBACK_DB": f"{tmp}/f.sqlite", "TRIAGE_LOG_LEVEL": "warning",
               "TRIAGE_RATE_LIMIT_PER_MIN": "6000"}  # a 1,000-ticket burst is over the default 600/min
        items = payloads(args.paced + args.burst)
        answer: list[float] = []
        with serve(args.model, env) as (url, _):
            for i in range(args.paced):  # phase 1: paced
                t0 = time.perf_counter()
                took = send(url, items[i], f"p-{i}")
                assert took is not None
                answer.append(took)
                time.sleep(max(0.0, 0.2 - (time.perf_counter() - t0)))
            wait_done(Path(tmp) / "d.sqlite", args.paced)
        store = DeliveryStore(Path(tmp) / "d.sqlite")
        to_note = [d.done_at - d.received_at for d in store.list(limit=args.paced) if d.done_at]
        store.close()
        killed, resent = threading.Event(), [0]
        pending = list(range(args.paced, len(items)))
        with serve(args.model, env) as (url, proc):
            def one(i: int) -> int | None:
                if i == args.paced + args.burst // 3 and not killed.is_set():
                    killed.set()
                    os.kill(proc.pid, signal.SIGKILL)
                return i if send(url, items[i], f"b-{i}") is None else None
            with ThreadPoolExecutor(4) as pool:
                pending = [i for i in pool.map(one, pending) if i is not None]
        with serve(args.model, env) as (url, _):
            ready = time.time()
            while pending:  # the helpdesk resends what found the service down, same delivery id
                resent[0] += len(pending)
                pending = [i for i in pending if send(url, items[i], f"b-{i}") is None]
                time.sleep(0.2)
            wait_done(Path(tmp) / "d.sqlite", len(items))
        store = DeliveryStore(Path(tmp) / "d.sqlite")
        done = [d for d in store.list(limit=10 ** 6) if d.key.startswith("b-")]
        counts = store.counts()
        store.close()
    z.stop()
    notes = {tid: len(z.notes(tid)) for tid in (str(1000 + i) for i in range(len(items)))}
    after = sorted(d.done_at for d in done if d.done_at and d.done_at > ready)
    per_second = (len(after) - 1) / (after[-1] - after[0]) if len(after) > 1 else float("nan")
    report = {
        "deliveries": len(items), "injected_error_rate": 0.05, "sigkills": 1, "resent_after_kill": resent[0],
        "webhook_answer_ms": {"p50": round(float(np.percentile(answer, 50)) * 1000, 1),
                              "p95": round(float(np.percentile(answer, 95)) * 1000, 1)},
        "webhook_to_note_ms": {"p50": round(float(np.percentile(to_note, 50)) * 1000, 1),
                               "p95": round(float(np.percentile(to_note, 95)) * 1000, 1)},
        "deliveries_per_second": round(per_second, 1), "worked_off_after_restart": len(after),
        "notes_written": sum(notes.values()), "tickets_without_note": sum(1 for v in notes.values() if v == 0),
        "tickets_with_two_notes": sum(1 for v in notes.values() if v > 1), "states": counts,
        "helpdesk_calls": len(z.calls)}
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")


def wait_done(db: Path, n: int, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        store = DeliveryStore(db)
        c = store.counts()
        store.close()
        if c["done"] + c["dead"] >= n:
            return
        time.sleep(0.5)
    raise TimeoutError(f"deliveries not worked off: {c}")


if __name__ == "__main__":
    main()
