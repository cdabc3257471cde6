"""Micro-batching (api/_batcher.py): concurrent single-ticket requests share one model call, get the
answers they would get one at a time, keep the history's time order, and a request the model cannot
start in time gets a 503 that says what to do — with the real small bundle and its ticket history."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from triage import open_triage

from .._small_bundle import small_bundle, small_settings

# six near-duplicates of one outage, then unrelated tickets; dated an hour apart, all after the training history
OUTAGE = ["Не работает телефония в офисе", "Телефония не работает, нет гудка", "Снова не работает телефония",
          "Телефоны молчат, телефония не работает"]
OTHER = ["Не приходит почта на телефон", "Отчёт в 1С строится с ошибкой"]
TICKETS = [{"id": f"MB-{i}", "subject": s, "body": "", "created_at": f"2027-03-01T{8 + i:02d}:00:00Z"}
           for i, s in enumerate(OUTAGE + OTHER)]


@contextmanager
def service(tmp: Path, bundle: Path, embedder: Any, cache_dir: Path, raise_server_exceptions: bool = True,
            **overrides: Any) -> Iterator[TestClient]:
    """A fresh app with its own live history (seeded from the bundle), so runs can be compared."""
    settings = small_settings(tmp, cache_dir, **overrides)
    triage = open_triage(bundle, settings, embedder=embedder, kb=None, alerts=False)
    with TestClient(create_app(settings, triage=triage), raise_server_exceptions=raise_server_exceptions) as client:
        yield client


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, use_embedder, cache_dir) -> Path:  # type: ignore[no-untyped-def]
    return Path(small_bundle(tmp_path_factory, use_embedder, cache_dir)[1].bundle)


def count_calls(client: TestClient) -> list[int]:
    """Sizes (in requests) of every model call the app makes from now on."""
    state = client.app.state.service  # type: ignore[attr-defined]
    triage, calls = state.triage, []
    inner = triage.classify_requests

    def counted(requests: Any, **kw: Any) -> Any:
        calls.append(len(requests))
        return inner(requests, **kw)

    triage.classify_requests = counted
    return calls


def concurrently(client: TestClient, tickets: list[dict[str, Any]], gap: float = 0.0,
                 headers: dict[str, str] | None = None) -> list[Any]:
    """POST each ticket from its own thread (`gap` seconds apart, in list order); the responses in list order."""
    out: list[Any] = [None] * len(tickets)

    def send(i: int) -> None:
        out[i] = client.post("/v1/classify", json=tickets[i], headers=headers or {})

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(tickets))]
    for t in threads:
        t.start()
        time.sleep(gap)
    for t in threads:
        t.join(60)
    return out


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """A result with floats rounded to 3 places: a batch's padding may move an embedding by ~1e-7."""
    def walk(v: Any) -> Any:
        if isinstance(v, float):
            return round(v, 3)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v
    return walk(result)  # type: ignore[no-any-return]


def test_concurrent_requests_share_one_call_and_answer_as_one_at_a_time(bundle: Path, use_embedder, cache_dir,
                                                                      tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with service(tmp_path / "batched", bundle, use_embedder, cache_dir, microbatch_wait_ms=300) as client:
        calls = count_calls(client)
        responses = concurrently(client, TICKETS)
        metrics = client.get("/metrics").text
    assert [r.status_code for r in responses] == [200] * len(TICKETS)
    assert calls == [len(TICKETS)], f"model calls (requests each): {calls}"
    assert "triage_microbatch_requests_count 1.0" in metrics and "triage_microbatch_tickets_sum 6.0" in metrics
    with service(tmp_path / "alone", bundle, use_embedder, cache_dir, microbatch_wait_ms=0) as client:
        calls = count_calls(client)
        alone = [client.post("/v1/classify", json=t).json() for t in TICKETS]  # in created_at order
    assert calls == [1] * len(TICKETS)
    batched = [r.json() for r in responses]
    assert [comparable(b) for b in batched] == [comparable(a) for a in alone]
    # the micro-batch really did see its own earlier tickets: each outage ticket finds the ones before it
    for i in range(1, len(OUTAGE)):
        similar = [s["ticket_id"] for s in batched[i]["recurring"]["similar"]]
        assert {f"MB-{j}" for j in range(i)} <= set(similar), (i, similar)


def test_a_micro_batch_is_recorded_in_created_at_order_not_arrival_order(bundle: Path, use_embedder, cache_dir,
                                                                         tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    later, earlier = TICKETS[1], TICKETS[0]
    undated = [{"subject": "Телефония не работает совсем"}, {"subject": "Телефония снова не работает"}]
    with service(tmp_path, bundle, use_embedder, cache_dir, microbatch_wait_ms=400) as client:
        calls = count_calls(client)
        res = concurrently(client, [later, earlier, *undated], gap=0.03)  # the later one arrives first
    assert calls == [4]
    seen_by_later = [s["ticket_id"] for s in res[0].json()["recurring"]["similar"]]
    seen_by_earlier = [s["ticket_id"] for s in res[1].json()["recurring"]["similar"]]
    assert earlier["id"] in seen_by_later and later["id"] not in seen_by_earlier
    # id-less tickets are numbered within their own request, as if each had come alone
    assert [r.json()["ticket_id"] for r in res[2:]] == ["1", "1"]
    # undated tickets are dated on arrival (now, before 2027), not placed beside a stranger's created_at:
    # so they see neither dated ticket
    for r in res[2:]:
        assert not {earlier["id"], later["id"]} & {s["ticket_id"] for s in r.json()["recurring"]["similar"]}


def test_past_its_deadline_a_request_gets_a_503_saying_what_to_do_and_nothing_is_stored(
        bundle: Path, use_embedder, cache_dir, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with service(tmp_path, bundle, use_embedder, cache_dir, request_deadline_ms=5000) as client:
        state = client.app.state.service  # type: ignore[attr-defined]
        release = threading.Event()
        blocker = threading.Thread(target=state.batcher.call, args=(lambda _: release.wait(30),))
        blocker.start()  # the model is busy with something long
        time.sleep(0.1)
        started = time.monotonic()
        res = client.post("/v1/classify", json={"id": "LATE-1", "subject": "Не работает VPN"},
                          headers={"X-Triage-Deadline-Ms": "200"})
        waited = time.monotonic() - started
        release.set()
        blocker.join(30)
        assert res.status_code == 503 and res.headers["retry-after"] == "1"
        detail = res.json()["detail"]
        assert "nothing was stored" in detail and "POST /v1/classify/batch" in detail and "Retry" in detail
        assert "VPN" not in detail  # never echoes the ticket
        assert 0.15 < waited < 3, waited
        assert state.triage.recurring.history.row_of("LATE-1") is None
        assert client.post("/v1/classify", json={"id": "LATE-2", "subject": "Не работает VPN"}).status_code == 200
        assert state.triage.recurring.history.row_of("LATE-2") is not None
        assert 'triage_refused_total{reason="deadline"} 1.0' in client.get("/metrics").text
        bad = client.post("/v1/classify", json={"subject": "x"}, headers={"X-Triage-Deadline-Ms": "0"})
        assert bad.status_code == 422


def test_one_failing_request_does_not_fail_the_others_of_its_micro_batch(bundle: Path, use_embedder, cache_dir,
                                                                        tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with service(tmp_path, bundle, use_embedder, cache_dir, raise_server_exceptions=False,
                 microbatch_wait_ms=300) as client:
        triage = client.app.state.service.triage  # type: ignore[attr-defined]
        inner, calls = triage.classify_requests, []

        def fragile(requests: Any, **kw: Any) -> Any:
            calls.append(len(requests))
            if any(t.get("id") == "BOOM" for r in requests for t in r):
                raise RuntimeError("a head failed on this ticket")
            return inner(requests, **kw)

        triage.classify_requests = fragile
        res = concurrently(client, [TICKETS[0], {"id": "BOOM", "subject": "x"}, TICKETS[1]], gap=0.02)
    assert calls[0] == 3 and sorted(calls[1:]) == [1, 1, 1]  # the shared call failed: each retried alone
    assert [r.status_code for r in res] == [200, 500, 200]
    assert TICKETS[0]["id"] in {s["ticket_id"] for s in res[2].json()["recurring"]["similar"]}
