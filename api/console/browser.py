"""Driving the console in a real Chromium, shared by the browser tests, the README screenshots and bench/console.py.

Playwright cannot download browsers here, so it drives Debian's Chromium (`apt-get install -y chromium`).
`outside` collects every request whose URL is not the service's: the console must make none.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from api.testing import KEYS, call, keys_env, serve

CHROMIUM = Path(os.environ.get("TRIAGE_CHROMIUM", "/usr/bin/chromium"))
DEMO_TICKETS = [
    ("Не проходят входящие звонки", "С утра в офисе не работают входящие, на телефоне ошибка SIP 503."),
    ("Outlook не получает почту", "С утра нет новых писем, отправка работает."),
    ("Отчёт в 1С не формируется", "При выгрузке отчёта за месяц ошибка."),
    ("VPN не подключается", "Ошибка 412 при входе из дома."),
    ("Принтер на 3 этаже не печатает", "Задания висят в очереди."),
    ("Не открывается портал", "Страница входа грузится бесконечно."),
]


def browser_env(root: Path, cache_dir: Path) -> dict[str, str]:
    """A secured service (the test keys) with its stores under `root`."""
    return {"TRIAGE_DEV_MODE": "0", "TRIAGE_API_KEYS": keys_env(), "TRIAGE_CACHE_DIR": str(cache_dir),
            "TRIAGE_FEEDBACK_DB": str(root / "feedback.sqlite"), "TRIAGE_PREDICTIONS_DB": str(root / "pred.sqlite"),
            "TRIAGE_HISTORY_DB": str(root / "history.sqlite"), "TRIAGE_RATE_LIMIT_PER_MIN": "0",
            "TRIAGE_LOG_LEVEL": "warning", "TRIAGE_SESSION_SECRET": "s" * 40}


def seed(url: str, n: int, prefix: str = "Q") -> None:
    """Classify `n` tickets through the API, so the review queue has `n` of each field pending."""
    tickets = [{"id": f"{prefix}-{i:04d}", "subject": DEMO_TICKETS[i % len(DEMO_TICKETS)][0],
                "body": f"{DEMO_TICKETS[i % len(DEMO_TICKETS)][1]} (#{i})",
                "created_at": f"2026-11-{1 + i % 28:02d}T09:00:00Z",
                "agent": ["anna", "boris", "vera"][i % 3], "info_requested": i % 4 == 0} for i in range(n)]
    for start in range(0, n, 200):
        status, body = call("POST", url + "/v1/classify/batch", tickets[start:start + 200],
                            {"X-API-Key": KEYS["helpdesk"]}, timeout=600)
        assert status == 200, body


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page that records every request it makes and every CSP complaint it logs."""

    def __init__(self, browser: Any, url: str, **context: Any) -> None:
        self.url = url
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.csp: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.csp.append(m.text) if "Content Security Policy" in m.text else None)

    @property
    def outside(self) -> list[str]:
        base = re.escape(self.url)
        # data: URIs and the service's own blob: URLs (ReDoc's search worker) never leave the browser
        own = re.compile(r"(blob:)?" + base + r"(/|$)")
        return [u for u in self.requests if not own.match(u) and not u.startswith("data:")]

    def sign_in(self, key: str, next_path: str = "/ui") -> None:
        self.page.goto(f"{self.url}/ui/sign-in?next={next_path}")
        self.page.fill("#key", key)
        self.page.click("button[type=submit]")

    def close(self) -> None:
        self.context.close()


__all__ = ["CHROMIUM", "KEYS", "Watched", "browser_env", "chromium", "seed", "serve"]


def demo_bundle(root: Path, cache_dir: Path, rows: int = 400) -> Path:
    """Train a small real bundle from the demo tickets with the light USE embedder (`triage train`, a minute)."""
    import csv
    import subprocess
    import sys

    from api.testing import REPO

    root.mkdir(parents=True, exist_ok=True)
    data = root / "tickets.csv"
    with (REPO / "data" / "demo" / "tickets.csv").open(encoding="utf-8", newline="") as src, \
            data.open("w", encoding="utf-8", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=list(reader.fieldnames or []))
        writer.writeheader()
        for i, row in enumerate(reader):
            if i == rows:
                break
            writer.writerow(row)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRIAGE_EMBEDDER": "use-v3", "TRIAGE_MAX_TOKENS": "128",
           "TRIAGE_CACHE_DIR": str(cache_dir), "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}"}
    subprocess.run([sys.executable, "-m", "triage.cli", "train", "--data", str(data), "--target", "category",
                    "--target", "priority", "--owners", str(REPO / "data" / "demo" / "owners.yaml"),
                    "--out", str(root / "model")], check=True, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
    return root / "model"


def burst(url: str, n: int = 8) -> None:
    """Near-identical tickets minutes apart, now: enough for the spike detector to open an incident."""
    import time

    now = time.time()
    tickets = [{"id": f"B-{i:03d}", "subject": "Не работает телефония в офисе",
                "body": f"Входящие звонки не проходят, SIP 503 (этаж {i % 3 + 1})",
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - (n - i) * 120))}
               for i in range(n)]
    status, body = call("POST", url + "/v1/classify/batch", tickets, {"X-API-Key": KEYS["helpdesk"]})
    assert status == 200, body
