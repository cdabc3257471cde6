"""A real `triage serve` (uvicorn) process, a local webhook and a local Telegram Bot API stand-in on
127.0.0.1: a burst of tickets raises exactly one alert, then updates; kill -9 and a restart lose no
ticket and raise no second alert for the same incident."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..conftest import REPO
from ..test_e2e import free_port, post, wait_ready
from ..triage.test_recurring import serve, wait_for

BURST = ("Checkout fails with payment gateway error 502",
         "Order #{n} could not be paid, the gateway answers 502 Bad Gateway.")


def start(model: Path, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "training.cli", "serve", "--model", str(model), "--port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def get(url: str) -> tuple[int, Any]:
    with urllib.request.urlopen(url, timeout=30) as res:
        return res.status, json.loads(res.read())


def sent(telegram: Any) -> list[dict[str, Any]]:
    return [b for p, b in telegram.bodies if p.endswith("/sendMessage")]


def ticket(n: int, at: datetime) -> dict[str, str]:
    return {"id": f"B-{n}", "subject": BURST[0], "body": BURST[1].format(n=1000 + n),
            "created_at": at.isoformat().replace("+00:00", "Z")}


def test_burst_alerts_once_then_updates_across_a_kill(trained_bundle, tmp_path: Path, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    webhook, telegram = serve(), serve(fail_first=1)  # Telegram refuses once: retried, not lost
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRIAGE_CACHE_DIR": str(cache_dir),
           "TRIAGE_HISTORY_DB": str(tmp_path / "live.sqlite"),
           "TRIAGE_ALERT_WEBHOOK_URL": f"http://127.0.0.1:{webhook.server_port}/alerts",
           "TRIAGE_TELEGRAM_BOT_TOKEN": "123:abc", "TRIAGE_TELEGRAM_CHAT_ID": "-1001",
           "TRIAGE_TELEGRAM_API_URL": f"http://127.0.0.1:{telegram.server_port}",
           "TRIAGE_ALERT_TIMEZONE": "Europe/Moscow", "TRIAGE_TICKET_URL": "https://desk.example/t/{id}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    proc = start(trained_bundle.bundle, port, env)
    try:
        wait_ready(url, proc, timeout=180)
        results = []
        for n in range(1, 6):
            status, body = post(url + "/v1/classify", ticket(n, t0 + timedelta(minutes=2 * n)))
            assert status == 200, body
            results.append(body["recurring"])
        assert results[0]["similar"] == [] or results[0]["similar"][0]["ticket_id"].startswith("T-")
        assert results[1]["similar"][0]["ticket_id"] == "B-1" and results[1]["similar"][0]["score"] > 0.9
        assert [r["spike"] and r["spike"]["active"] for r in results] == [None, False, True, True, True]
        assert results[2]["spike"]["count"] == 3 and results[2]["spike"]["window_minutes"] == 60
        assert results[2]["spike"]["expected"] < 0.1
        status, listing = get(url + "/v1/problems")
        assert status == 200 and listing["problems"] and isinstance(listing["problems"][0]["last_week"], int)
        wait_for(lambda: len(webhook.bodies) == 3 and len(sent(telegram)) == 3)
        os.kill(proc.pid, signal.SIGKILL)  # no shutdown hook runs
        proc.wait(timeout=30)

        proc = start(trained_bundle.bundle, port, env)
        wait_ready(url, proc, timeout=180)
        status, body = post(url + "/v1/classify", ticket(6, t0 + timedelta(minutes=12)))
        assert status == 200, body
        earlier = [s["ticket_id"] for s in body["recurring"]["similar"]]
        assert set(earlier[:5]) == {"B-1", "B-2", "B-3", "B-4", "B-5"}  # all survived kill -9
        assert body["recurring"]["spike"]["active"] and body["recurring"]["spike"]["count"] == 6
        wait_for(lambda: len(webhook.bodies) == 4 and len(sent(telegram)) == 4)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    events = [b["event"] for _, b in webhook.bodies]
    assert events == ["open", "update", "update", "update"]  # one alert per spike, also across the restart
    assert len({b["incident"] for _, b in webhook.bodies}) == 1
    first = webhook.bodies[0][1]
    # B-1 at 09:02 UTC is 12:02 in Moscow; the alert starts at the first ticket of the burst in the window
    assert first["text"].splitlines()[0] == f"[Инцидент][без модуля] – {BURST[0]} с 12:02", first["text"]
    assert "https://desk.example/t/B-3" in first["text"] and first["count"] == 3
    # the chat has no topics (getChat says no is_forum): messages, each update replying to the first
    assert {p for p, _ in telegram.bodies} == {"/bot123:abc/sendMessage", "/bot123:abc/getChat"}
    messages = sent(telegram)
    assert messages[0]["text"] == first["text"] and messages[0]["chat_id"] == "-1001"
    assert "reply_to_message_id" not in messages[0] and all("reply_to_message_id" in m for m in messages[1:3])
    webhook.shutdown()
    telegram.shutdown()
