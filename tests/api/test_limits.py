"""Rate limits (429 + Retry-After) and reported truncation of texts longer than the window."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api._auth import KeyRing
from triage._window import over_window

from .._secure import auth, secure_client


@pytest.fixture(scope="module")
def client(trained_bundle, use_embedder, cache_dir):  # type: ignore[no-untyped-def]
    with secure_client(trained_bundle.bundle, use_embedder, cache_dir) as c:
        yield c


def test_rate_limit_is_per_key_with_retry_after(trained_bundle, use_embedder, cache_dir) -> None:  # type: ignore[no-untyped-def]
    with secure_client(trained_bundle.bundle, use_embedder, cache_dir, rate_limit_per_min=12) as client:
        _check_rate_limit(client)


def _check_rate_limit(client: TestClient) -> None:
    ticket = {"subject": "Server down"}
    statuses = [client.post("/v1/classify", json=ticket, headers=auth("helpdesk")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]  # burst of 12/6 = 2, then refill at one per 5 s
    res = client.post("/v1/classify", json=ticket, headers=auth("helpdesk"))
    assert res.status_code == 429 and 1 <= int(res.headers["retry-after"]) <= 5
    assert "TRIAGE_RATE_LIMIT_PER_MIN" in res.json()["detail"] and "'helpdesk'" in res.json()["detail"]
    assert client.post("/v1/classify", json=ticket, headers=auth("agent")).status_code == 200  # its own bucket


def test_token_bucket_refills_at_the_rate() -> None:
    ring = KeyRing(rate_per_min=60)  # one per second, burst 10
    assert all(ring.take("k", now=100.0) == 0 for _ in range(10))
    assert ring.take("k", now=100.0) == pytest.approx(1.0)
    assert ring.take("k", now=100.5) == pytest.approx(0.5)
    assert ring.take("k", now=101.6) == 0
    assert KeyRing(rate_per_min=0).take("k") == 0  # 0 switches limits off


def test_long_text_is_cut_and_says_so(client: TestClient, use_embedder) -> None:  # type: ignore[no-untyped-def]
    limit = use_embedder.max_tokens * 5
    long_body = "Сервер не отвечает после обновления. " * (limit // 30 + 5)
    res = client.post("/v1/classify", json={"id": "L-1", "body": long_body}, headers=auth("agent"))
    assert res.status_code == 200 and res.json()["truncated"] is True
    res = client.post("/v1/classify", json={"id": "L-2", "body": "Сервер не отвечает"}, headers=auth("agent"))
    assert res.status_code == 200 and res.json()["truncated"] is False
    assert over_window(use_embedder, ["a" * limit, "a" * (limit + 1)]) == [False, True]


def test_batch_and_body_limits_stay_readable(client: TestClient) -> None:
    res = client.post("/v1/classify/batch", json=[{"subject": "x"}] * 6, headers=auth("all"))
    assert res.status_code == 413 and "TRIAGE_MAX_BATCH" in res.json()["detail"]
    res = client.post("/v1/classify", json={"subject": "x", "body": "y" * 300_000}, headers=auth("all"))
    assert res.status_code == 413 and "TRIAGE_MAX_REQUEST_BYTES" in res.json()["detail"]


@pytest.mark.slow
def test_token_window_of_the_default_embedder(cache_dir) -> None:  # type: ignore[no-untyped-def]
    from triage._embedding import load_embedder

    e5 = load_embedder("e5-small", cache_dir=cache_dir, max_tokens=32, progress=False)
    short, long = "Не работает VPN", "Не работает VPN после обновления клиента на всех ноутбуках отдела продаж " * 3
    assert over_window(e5, [short, long]) == [False, True]
