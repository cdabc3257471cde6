"""Two real `triage serve` replicas (uvicorn subprocesses) on one real PostgreSQL (contract §8).

A ticket classified through A is among B's `recurring.similar` within 2 seconds; a review posted
through A is listed by B; A killed with SIGKILL in the middle of a stream loses no answered ticket
and B keeps serving; `triage db migrate` moves a SQLite history into PostgreSQL and the service
finds its tickets there.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from api.testing import KEYS, REPO, call, keys_env, serve
from triage._db import Database

pytestmark = pytest.mark.slow

TEXT = {"subject": "Принтер на третьем этаже печатает пустые листы",
        "body": "После замены картриджа HP LaserJet 4250 в кабинете 312 выходят чистые страницы, очередь печати "
                "пустая, перезагрузка не помогла."}
HEADERS = {"authorization": f"Bearer {KEYS['all']}"}


def env(cache_dir: Path, tmp: Path, **extra: str) -> dict[str, str]:
    tmp.mkdir(parents=True, exist_ok=True)
    return {"TRIAGE_CACHE_DIR": str(cache_dir), "TRIAGE_API_KEYS": keys_env(), "TRIAGE_DEV_MODE": "0",
            "TRIAGE_RATE_LIMIT_PER_MIN": "0", "TRIAGE_FEEDBACK_DB": str(tmp / "feedback.sqlite"),
            "TRIAGE_DELIVERIES_DB": str(tmp / "deliveries.sqlite"), "TRIAGE_TEST_LOG": str(tmp / "service.log"),
            **extra}


def classify(url: str, ticket: dict[str, Any]) -> dict[str, Any]:
    status, body = call("POST", url + "/v1/classify", ticket, HEADERS)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def similar_ids(body: dict[str, Any]) -> list[str]:
    return [s["ticket_id"] for s in body["recurring"]["similar"]]


def test_two_replicas_share_the_history_and_the_reviews(trained_bundle, pg_url: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                         cache_dir: Path) -> None:
    shared = {"TRIAGE_DATABASE_URL": pg_url}
    with serve(trained_bundle.bundle, env(cache_dir, tmp_path / "a", **shared)) as (a, _), \
            serve(trained_bundle.bundle, env(cache_dir, tmp_path / "b", **shared)) as (b, _):
        answered = classify(a, {"id": "R-1", **TEXT})
        stored = time.monotonic()
        probes = 0
        while True:  # B sees A's ticket once its poll took it in (TRIAGE_CATCH_UP_SECONDS, 0.5 s)
            probes += 1
            found = similar_ids(classify(b, {"id": f"PROBE-{probes}", **TEXT}))
            if "R-1" in found:
                break
            assert time.monotonic() - stored < 2.0, f"replica B did not find R-1 within 2 s ({found})"
            time.sleep(0.1)
        assert time.monotonic() - stored < 2.0
        category = answered["labels"]["category"]["top"][0]["value"]
        review = {"ticket_id": "R-1", "field": "category", "correct": category, "reviewer": "l3-anna"}
        status, body = call("POST", a + "/v1/feedback", review, HEADERS)
        assert status == 201, body
        assert body["ticket_known"] is True  # A knows R-1: its own history
        status, listed = call("GET", b + "/v1/feedback?ticket_id=R-1", None, HEADERS)
        assert status == 200 and [(i["reviewer"], i["correct"]) for i in listed["items"]] == [("l3-anna", category)]
        status, body = call("POST", b + "/v1/feedback", {**review, "reviewer": "l3-boris"}, HEADERS)
        assert status == 201 and body["ticket_known"] is True  # B knows it too: the shared history
        status, listed = call("GET", a + "/v1/feedback?ticket_id=R-1", None, HEADERS)
        assert [i["reviewer"] for i in listed["items"]] == ["l3-boris", "l3-anna"]


def test_a_replica_killed_mid_stream_loses_nothing_it_answered(trained_bundle, pg_url: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                               cache_dir: Path) -> None:
    shared = {"TRIAGE_DATABASE_URL": pg_url}
    with serve(trained_bundle.bundle, env(cache_dir, tmp_path / "a", **shared)) as (a, proc_a), \
            serve(trained_bundle.bundle, env(cache_dir, tmp_path / "b", **shared)) as (b, _):
        answered: list[str] = []
        failed: list[str] = []

        def stream() -> None:
            for n in range(400):
                tid = f"S-{n}"
                try:
                    status, _ = call("POST", a + "/v1/classify", {"id": tid, "subject": f"VPN отваливается {n}",
                                                                   "body": f"Клиент {n} теряет VPN каждые 5 минут"},
                                     HEADERS, timeout=10)
                except OSError:
                    failed.append(tid)
                    return
                (answered if status == 200 else failed).append(tid)

        worker = threading.Thread(target=stream)
        worker.start()
        deadline = time.monotonic() + 120
        while len(answered) < 15:
            assert time.monotonic() < deadline and worker.is_alive(), "the stream to A did not get going"
            time.sleep(0.05)
        proc_a.kill()  # SIGKILL: no shutdown hook, no flush
        proc_a.wait(timeout=30)
        worker.join(timeout=60)
        assert failed and len(answered) >= 15  # the kill did land mid-stream
        db = Database(pg_url)
        stored = {r[0] for r in db.execute("SELECT ticket_id FROM tickets WHERE source = 'classified'")}
        db.close()
        assert set(answered) <= stored  # every answered ticket was committed before its answer
        killed = time.monotonic()
        probes = 0
        while True:  # B keeps serving, and finds what A stored once its poll took it in (contract §8: 2 s)
            probes += 1
            found = similar_ids(classify(b, {"id": f"AFTER-{probes}", "subject": "VPN отваливается 3",
                                             "body": "Клиент 3 теряет VPN каждые 5 минут"}))
            if "S-3" in found:
                break
            assert time.monotonic() - killed < 2.0, f"replica B did not find S-3 within 2 s ({found})"
            time.sleep(0.1)


def test_a_sqlite_history_moves_into_postgresql_with_one_command(trained_bundle, pg_url: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                 cache_dir: Path) -> None:
    live = tmp_path / "live.history.sqlite"
    with serve(trained_bundle.bundle, env(cache_dir, tmp_path / "old", TRIAGE_HISTORY_DB=str(live))) as (url, _):
        classify(url, {"id": "M-1", **TEXT})
    done = subprocess.run([sys.executable, "-m", "triage.cli", "db", "migrate", "--from", str(live), "--to", pg_url],
                          cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                                         "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Copied" in done.stderr and "tickets" in done.stderr
    with serve(trained_bundle.bundle, env(cache_dir, tmp_path / "new", TRIAGE_DATABASE_URL=pg_url)) as (url, _):
        assert "M-1" in similar_ids(classify(url, {"id": "M-2", **TEXT}))
    again = subprocess.run([sys.executable, "-m", "triage.cli", "db", "migrate", "--from", str(live), "--to", pg_url],
                           cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and "already holds rows" in again.stderr  # never mixes two histories
