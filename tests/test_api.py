"""The HTTP API in-process, on a bundle trained from the demo tickets."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from triage import Settings, load_triage
from triage.errors import TriageError


@pytest.fixture(scope="module")
def client(trained_bundle, use_embedder, cache_dir):  # type: ignore[no-untyped-def]
    triage = load_triage(trained_bundle.bundle, cache_dir=cache_dir, embedder=use_embedder)
    settings = Settings(cache_dir=cache_dir, max_request_bytes=200_000, max_batch=5)
    with TestClient(create_app(settings, triage=triage)) as c:
        yield c


def test_classify_returns_contract_shape(client: TestClient) -> None:
    res = client.post("/v1/classify", json={"id": "T-1", "subject": "Invoice charged twice",
                                            "body": "My credit card was billed two times for one order."})
    assert res.status_code == 200
    body = res.json()
    assert body["ticket_id"] == "T-1" and body["language"] == "en"
    assert set(body["labels"]) == {"category", "priority"}
    for label in body["labels"].values():
        assert set(label) == {"value", "confidence", "abstained", "top"}
        assert label["abstained"] == (label["value"] is None)
        assert label["top"][0]["p"] == label["confidence"]
    assert "module" not in body and "recurring" not in body  # heads the model was not trained for are absent


def test_russian_ticket(client: TestClient) -> None:
    res = client.post("/v1/classify", json={"subject": "Не работает оплата", "body": "Списали деньги дважды"})
    assert res.status_code == 200 and res.json()["language"] == "ru"


def test_batch_keeps_order_and_limit(client: TestClient) -> None:
    tickets = [{"id": f"B-{i}", "subject": s} for i, s in enumerate(["Server down", "Refund please", "Новая лицензия"])]
    res = client.post("/v1/classify/batch", json=tickets)
    assert res.status_code == 200
    assert [r["ticket_id"] for r in res.json()] == ["B-0", "B-1", "B-2"]
    res = client.post("/v1/classify/batch", json=[{"subject": "x"}] * 6)
    assert res.status_code == 413 and "TRIAGE_MAX_BATCH" in res.json()["detail"]


@pytest.mark.parametrize(("payload", "needle"), [
    ({"id": "T-2"}, "subject and body are both empty"),
    ({"subject": 5}, "string"),
    ({"subject": "x", "created_at": "x" * 100}, "at most 64"),
])
def test_invalid_tickets_get_422(client: TestClient, payload: dict, needle: str) -> None:  # type: ignore[type-arg]
    res = client.post("/v1/classify", json=payload)
    assert res.status_code == 422 and needle in res.text


def test_malformed_json_is_422(client: TestClient) -> None:
    res = client.post("/v1/classify", content=b"{not json", headers={"content-type": "application/json"})
    assert res.status_code == 422


def test_oversized_body_is_413(client: TestClient) -> None:
    res = client.post("/v1/classify", json={"subject": "x", "body": "y" * 300_000})
    assert res.status_code == 413 and "TRIAGE_MAX_REQUEST_BYTES" in res.json()["detail"]


def test_chunked_oversized_body_is_413(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"subject": "x", "body": "'
        for _ in range(30):
            yield b"z" * 10_000
        yield b'"}'

    res = client.post("/v1/classify", content=chunks(), headers={"content-type": "application/json"})
    assert res.status_code == 413


def test_model_info_and_health(client: TestClient, trained_bundle) -> None:  # type: ignore[no-untyped-def]
    info = client.get("/v1/model").json()
    assert info["model_version"] == trained_bundle.manifest["model_version"]
    assert info["metrics"]["category"]["macro_f1"] == trained_bundle.metrics["category"]["macro_f1"]
    assert info["data"]["rows"] == 600
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/openapi.json").json()["paths"]["/v1/classify"]["post"]


def test_no_model_configured_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TriageError, match="TRIAGE_MODEL_DIR"):
        create_app(Settings(cache_dir=tmp_path, model_dir=None))
