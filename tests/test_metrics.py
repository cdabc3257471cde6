"""Prometheus metrics and the structured per-request log: counts, latency, heads, model version, no texts."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from triage._logging import JsonFormatter

from ._secure import auth, secure_client

SECRET_TEXT = "Мой телефон +7 912 345 67 89, пароль: Qwerty123"


@pytest.fixture(scope="module")
def client(trained_bundle, use_embedder, cache_dir):  # type: ignore[no-untyped-def]
    with secure_client(trained_bundle.bundle, use_embedder, cache_dir) as c:
        yield c


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    res = client.get("/metrics", headers=auth("analyst"))
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(res.text) for s in fam.samples}


def test_metrics_count_requests_heads_and_model(client: TestClient, trained_bundle) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        res = client.post("/v1/classify", json={"id": f"M-{i}", "subject": "VPN"}, headers=auth("agent"))
        assert res.status_code == 200
    client.post("/v1/classify", json={"subject": 5}, headers=auth("agent"))
    client.get("/no/such/path")
    got = samples(client)
    key = ("triage_requests_total", (("method", "POST"), ("route", "/v1/classify"), ("status", "200")))
    assert got[key] == 3
    assert got[("triage_requests_total", (("method", "POST"), ("route", "/v1/classify"), ("status", "422")))] == 1
    assert got[("triage_requests_total", (("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1
    assert got[("triage_request_seconds_count", (("method", "POST"), ("route", "/v1/classify")))] == 4
    heads = {lab[0][1]: 0.0 for (name, lab) in got if name == "triage_predictions_total"}
    for (name, lab), value in got.items():
        if name == "triage_predictions_total":
            heads[dict(lab)["head"]] += value
    assert heads == {"category": 3, "priority": 3}
    version = trained_bundle.manifest["model_version"]
    assert got[("triage_model_info", (("model_version", version),))] == 1


def test_one_json_line_per_request_without_text(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="triage.access"):
        res = client.post("/v1/classify", json={"id": "P-7", "subject": "VPN", "body": SECRET_TEXT},
                          headers=auth("helpdesk"))
    assert res.status_code == 200
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "triage.access"]
    request = next(line for line in lines if line["msg"] == "request")
    assert request["route"] == "/v1/classify" and request["status"] == 200 and request["key"] == "helpdesk"
    assert request["latency_ms"] > 0
    assert any(line.get("ticket_ids") == ["P-7"] for line in lines)  # ids, not texts
    # timestamps and latencies are numbers that may contain "912" by chance; the text must not be anywhere else
    dumped = json.dumps([{k: v for k, v in line.items() if k not in ("ts", "latency_ms")} for line in lines],
                        ensure_ascii=False)
    assert "912" not in dumped and "Qwerty" not in dumped and "VPN" not in dumped
