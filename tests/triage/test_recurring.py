"""Recurring problems end to end in-process: the bundle's history seed, `triage predict`'s time order,
known problems, spikes with one alert then updates delivered to real local HTTP servers."""

from __future__ import annotations

import csv
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from training.batch import predict_file
from triage import Settings
from triage._alerts import AlertConfig, AlertSender
from triage._bundle import file_sha256
from triage._history import HistoryRecord, TicketHistory
from triage._problems import fit_problems
from triage._recurring import SEED
from triage._spike import SpikeConfig, SpikeDetector


class Recorder(BaseHTTPRequestHandler):
    """A local webhook and Telegram Bot API stand-in: records JSON bodies, can fail the first N calls."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        server: Any = self.server
        with server.lock:
            server.calls += 1
            failing = server.calls <= server.fail_first
            if not failing:
                server.bodies.append((self.path, body))
        status = 503 if failing else 200
        reply = json.dumps({"ok": not failing, "result": {"message_id": 1000 + len(server.bodies)}}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


def serve(fail_first: int = 0) -> ThreadingHTTPServer:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.bodies, server.calls, server.fail_first, server.lock = [], 0, fail_first, threading.Lock()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server  # type: ignore[no-any-return]


def wait_for(predicate: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.05)
    assert predicate()


def test_bundle_carries_the_training_history(trained_bundle) -> None:  # type: ignore[no-untyped-def]
    info = trained_bundle.manifest["history"]
    seed = trained_bundle.bundle / SEED
    assert info["tickets"] == 600 and file_sha256(seed) == info["sha256"]
    history = TicketHistory(seed, 512)
    assert len(history) == 600 and 0.0 < info["similar_threshold"] < 1.0
    row = history.row_of("T-0001")
    assert row is not None and history.details([row])[row]["labels"]["category"]
    history.close()


def test_predict_sees_only_earlier_tickets_of_history_and_input(trained_bundle, tmp_path: Path,
                                                                cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """An early (June) and a late (September) training ticket, each with a text no other ticket has, are
    repeated by the input; the input ticket of July may list the early one but never the late one, and a later
    input ticket finds the earlier input ticket first."""
    src = Path(trained_bundle.manifest["data"]["files"][0])
    train = list(csv.DictReader(src.open(encoding="utf-8")))
    count: dict[tuple[str, str], int] = {}
    for r in train:
        count[r["subject"], r["body"]] = count.get((r["subject"], r["body"]), 0) + 1
    unique = [r for r in train if count[r["subject"], r["body"]] == 1]
    early = next(r for r in unique if r["created_at"] < "2026-06-15")
    late = next(r for r in reversed(unique) if r["created_at"] > "2026-09-01")
    rows = [{"id": "K-2", "created_at": "2026-07-16T10:00:00Z", "subject": late["subject"], "body": late["body"]},
            {"id": "K-1", "created_at": "2026-07-15T10:00:00Z", "subject": early["subject"], "body": early["body"]},
            {"id": "K-3", "created_at": "2026-07-17T10:00:00Z", "subject": late["subject"], "body": late["body"]}]
    data = tmp_path / "in.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    settings = Settings(cache_dir=cache_dir, max_tokens=128, history_db=None)
    predict_file(trained_bundle.bundle, data, out, settings=settings)
    results = {r["ticket_id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    for tid, result in results.items():
        rec = result["recurring"]
        assert set(rec) == {"similar", "problem", "spike"}
        mine = next(r["created_at"] for r in rows if r["id"] == tid)
        assert all(s["created_at"] < mine for s in rec["similar"]), (tid, rec["similar"])
        assert tid not in [s["ticket_id"] for s in rec["similar"]]
        scores = [s["score"] for s in rec["similar"]]
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert results["K-1"]["recurring"]["similar"][0]["ticket_id"] == early["id"]
    assert late["id"] not in [s["ticket_id"] for r in results.values() for s in r["recurring"]["similar"]]
    assert results["K-3"]["recurring"]["similar"][0]["ticket_id"] == "K-2"  # same input, earlier
    assert not (trained_bundle.bundle.parent / (trained_bundle.bundle.name + ".history.sqlite")).exists()


def _stream(rng: np.random.Generator, dim: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """30 days of background tickets on 300 topics, and a burst: 12 near-copies of one new topic in 24 min."""
    centres = rng.normal(size=(300, dim))
    topic = rng.integers(0, 300, 1500)
    bg = centres[topic] + 1.2 * rng.normal(size=(1500, dim))
    times = np.sort(rng.uniform(0, 30 * 86400, 1500))
    burst_centre = rng.normal(size=dim)
    burst = burst_centre + 0.15 * rng.normal(size=(12, dim))
    vecs = np.vstack([bg, burst]).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs, np.concatenate([times, 30 * 86400 + 120.0 * np.arange(12)]), topic


def test_a_burst_raises_one_alert_then_updates_and_survives_a_failing_channel(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vecs, times, _ = _stream(rng)
    webhook, telegram = serve(fail_first=1), serve()
    sender = AlertSender(AlertConfig(webhook_url=f"http://127.0.0.1:{webhook.server_port}/hook",
                                     telegram_token="T0KEN", telegram_chat_id="-100", telegram_thread_id=7,
                                     telegram_api_url=f"http://127.0.0.1:{telegram.server_port}",
                                     backoff_seconds=0.05))
    history = TicketHistory(tmp_path / "h.sqlite", vecs.shape[1])
    spikes = SpikeDetector(history, threshold=0.9, config=SpikeConfig(ticket_url="https://desk/t/{id}"),
                           sender=sender)
    flags = []
    for i, (v, t) in enumerate(zip(vecs, times, strict=True)):
        history.append([HistoryRecord(ticket_id=f"T-{i}", created_at=float(t), subject="Отчёт не грузится",
                                      text="x", embedding=v)])
        out = spikes.observe(v, float(t), f"T-{i}", None, "Отчёт не грузится", "reports")
        flags.append(bool(out and out["active"]))
    assert not any(flags[:1500])  # 30 days of normal traffic: no false alert
    assert flags[1500 + 2] and all(flags[1500 + 2:])  # the third burst ticket opens it, the rest update
    sender.close()
    hooks = [b for _, b in webhook.bodies]
    assert [h["event"] for h in hooks] == ["open"] + ["update"] * 9  # the first POST failed (503) and was retried
    assert webhook.calls == 11 and len({h["incident"] for h in hooks}) == 1
    first = hooks[0]
    assert first["text"].startswith("[Инцидент][reports] – Отчёт не грузится с 00:00")
    assert "https://desk/t/T-1500" in first["text"] and first["count"] == 3
    paths = {p for p, _ in telegram.bodies}
    assert paths == {"/botT0KEN/sendMessage", "/botT0KEN/getChat"}  # asked once whether the chat has topics
    msgs = [b for p, b in telegram.bodies if p.endswith("/sendMessage")]
    assert msgs[0]["chat_id"] == "-100" and msgs[0]["message_thread_id"] == 7 and "reply_to_message_id" not in msgs[0]
    first_id = 1001 + next(i for i, (p, _) in enumerate(telegram.bodies) if p.endswith("/sendMessage"))
    assert all(m["reply_to_message_id"] == first_id for m in msgs[1:])  # updates thread under the first message
    history.close()
    webhook.shutdown()
    telegram.shutdown()


def test_undeliverable_alerts_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    sender = AlertSender(AlertConfig(webhook_url="http://127.0.0.1:9/nothing-listens", retries=1,
                                     backoff_seconds=0.01, timeout_seconds=1))
    from triage._alerts import AlertEvent

    sender.send(AlertEvent("open", "I-1", "text"))
    sender.close()
    assert sender.failed == [("webhook", "I-1")] and "failed after 2 attempt" in caplog.text


def test_problems_group_tickets_of_one_cause() -> None:
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(5, 24))
    labels = np.repeat(np.arange(5), 8)
    vecs = centres[labels] + 0.1 * rng.normal(size=(40, 24))
    noise = rng.normal(size=(10, 24))
    vecs = np.vstack([vecs, noise]).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    subjects = [f"cause {c}" for c in labels] + [f"noise {i}" for i in range(10)]
    modules = ["billing" if c == 0 else "reports" for c in labels] + [None] * 10
    answers = ["restart the job" if c == 1 else None for c in labels] + [None] * 10
    problems, assigned = fit_problems(vecs, subjects, modules, answers, list(range(50)), threshold=0.8)
    assert len(problems) == 5 and all(p.size == 8 for p in problems.problems)
    assert all(a is None for a in assigned[40:])
    assert len({assigned[i] for i in range(8)}) == 1
    by_title = {p.title: p for p in problems.problems}
    assert by_title["cause 0"].module == "billing" and by_title["cause 1"].answer == "restart the job"
    assert problems.assign(vecs[:1])[0] == assigned[0] and problems.assign(-vecs[:1])[0] is None


def test_problems_cli_lists_most_active_first(trained_bundle, tmp_path: Path, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from ..training.test_cli import run_cli

    env = {"TRIAGE_CACHE_DIR": str(cache_dir), "TRIAGE_HISTORY_DB": str(tmp_path / "live.sqlite")}
    res = run_cli("problems", "--model", str(trained_bundle.bundle), "--now", "2026-10-01T00:00:00Z", "--json",
                  env=env)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert rows and len(rows) == min(20, trained_bundle.manifest["history"]["problems"])
    keys = [(r["last_hour"], r["last_day"], r["last_week"], r["tickets"]) for r in rows]
    assert keys == sorted(keys, reverse=True)
    assert all(r["id"].startswith("P-") and r["trend"] in {"new", "rising", "steady", "falling"} for r in rows)
    res = run_cli("problems", "--model", str(trained_bundle.bundle), "--now", "last tuesday", env=env)
    assert res.returncode == 2 and "--now" in res.stderr


def test_problem_listing_counts_windows_and_trend(tmp_path: Path) -> None:
    from triage._problems import Problem, ProblemSet
    from triage._recurring import Recurring

    rng = np.random.default_rng(5)
    vecs = rng.normal(size=(40, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    now = 1_800_000_000.0
    # P-1: 2 a day for the week before, then 9 in the last day (3 in the last hour): rising
    # P-2: 2 a day for the week before, nothing since: falling; P-3: never seen
    times = ([(1, now - d * 86400 - 3600 * h) for d in range(1, 8) for h in (1, 5)][:14]
             + [(1, now - 600 * i) for i in range(1, 4)] + [(1, now - 7200 * i) for i in range(1, 7)]
             + [(2, now - d * 86400 - 60) for d in range(1, 8)] * 2)
    history = TicketHistory(tmp_path / "h.sqlite", 8)
    history.append([HistoryRecord(ticket_id=f"T-{i}", created_at=t, subject="s", text="t", embedding=vecs[i % 40],
                                  problem_id=p) for i, (p, t) in enumerate(times)])
    problems = ProblemSet([Problem(1, "reports", 14, "reports", None), Problem(2, "vpn", 14, "net", None),
                           Problem(3, "old", 5, None, None)], np.eye(3, 8, dtype=np.float32), 0.9)
    rows = {r["id"]: r for r in Recurring(history, problems).problem_listing(now)}
    assert (rows["P-1"]["last_hour"], rows["P-1"]["last_day"], rows["P-1"]["tickets"]) == (3, 9, 23)
    assert rows["P-1"]["trend"] == "rising" and rows["P-2"]["trend"] == "falling"
    assert rows["P-2"]["last_day"] == 0 and rows["P-2"]["last_week"] == 12 and rows["P-3"]["tickets"] == 0
    assert list(rows) == ["P-1", "P-2", "P-3"]  # most active first
    history.close()


@pytest.mark.parametrize(("name", "value", "message"), [("alert_timezone", "Mars/Base", "IANA"),
                                                         ("ticket_url", "https://desk/{tid}", "{id}")])
def test_alert_settings_fail_at_start(name: str, value: str, message: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        Settings(**{name: value})
