"""The review-queue page with 1,000 tickets awaiting review, in Chromium against a real `triage serve`.

Time to first render (first contentful paint; and, measured from outside the page, from the navigation
to the first queue item in the DOM) and to DOMContentLoaded over repeated cold loads (a fresh browser
context each: no cache, the worst case), requests per page, and requests that left 127.0.0.1 (must be 0).
The bundle is the demo one with the light USE embedder; the queue's cost is the store query and the
template, not the model.

    .venv/bin/python bench/console.py --out bench/results/console.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from api.console.browser import KEYS, Watched, browser_env, chromium, demo_bundle, seed, serve  # noqa: E402
from api.testing import call  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pending", type=int, default=1000)
    parser.add_argument("--loads", type=int, default=30)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="triage-bench-console-") as tmp:
        root = Path(tmp)
        cache = Path.home() / ".cache" / "triage"
        model = demo_bundle(root / "bundle", cache)
        with serve(model, browser_env(root, cache)) as (url, _), chromium() as browser:
            started = time.perf_counter()
            seed(url, args.pending)
            seeded = time.perf_counter() - started
            queue = call("GET", url + "/v1/review/queue?field=module&limit=1", headers={"X-API-Key": KEYS["l3"]})[1]
            assert queue["pending"] >= args.pending, queue["pending"]
            fcp, dcl, requests, outside, server_ms, wall = [], [], [], [], [], []
            for _ in range(args.loads):
                w = Watched(browser, url)
                w.sign_in(KEYS["l3"])  # lands on /ui; the measured load is the next navigation
                w.page.wait_for_load_state("load")
                w.requests.clear()
                clock = time.perf_counter()
                w.page.goto(url + "/ui/review?field=module", wait_until="commit")
                w.page.wait_for_selector("#queue > li.item")
                wall.append(1000 * (time.perf_counter() - clock))
                w.page.wait_for_load_state("load")
                timing = w.page.evaluate("""() => new Promise(done => {
                    const nav = performance.getEntriesByType('navigation')[0];
                    const report = fcp => done({fcp: fcp, dcl: nav.domContentLoadedEventEnd,
                                                ttfb: nav.responseStart - nav.requestStart});
                    new PerformanceObserver(list => {
                        const e = list.getEntriesByName('first-contentful-paint')[0];
                        if (e) { report(e.startTime); }
                    }).observe({type: 'paint', buffered: true});
                    setTimeout(() => report(null), 3000);
                })""")
                fcp.append(timing["fcp"])
                dcl.append(timing["dcl"])
                server_ms.append(timing["ttfb"])
                requests.append(len(w.requests))
                outside += w.outside
                w.close()
    result = {"pending": int(queue["pending"]), "items_on_page": 50, "loads": args.loads,
              "first_contentful_paint_ms": _stats([v for v in fcp if v is not None]),
              "fcp_reported": sum(v is not None for v in fcp), "first_item_shown_ms": _stats(wall),
              "dom_content_loaded_ms": _stats(dcl),
              "server_response_ms": _stats(server_ms), "requests_per_page": int(np.median(requests)),
              "requests_max": int(max(requests)), "outside_requests": len(outside),
              "seed_seconds": round(seeded, 1)}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    arr = np.asarray(values, dtype=float)
    return {"p50": round(float(np.percentile(arr, 50)), 1), "p95": round(float(np.percentile(arr, 95)), 1),
            "max": round(float(arr.max()), 1)}


if __name__ == "__main__":
    main()
