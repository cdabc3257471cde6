"""A short schemathesis fuzz of every documented operation on a secured in-process app (~150 requests).
The long run against a real uvicorn process is bench/fuzz.py."""

from __future__ import annotations

import schemathesis

from bench.fuzz import fuzz

from .._secure import KEYS, secure_client


def test_fuzz_whole_schema_no_5xx_no_schema_violation(trained_bundle, use_embedder, cache_dir) -> None:  # type: ignore[no-untyped-def]
    keys = {("helpdesk+agent+analyst+l3" if r == "all" else r): k for r, k in KEYS.items()}
    with secure_client(trained_bundle.bundle, use_embedder, cache_dir, history=True, rate_limit_per_min=0) as client:
        schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
        report = fuzz(schema, keys, total=150)
    assert {"POST /v1/classify", "POST /v1/admin/reload", "GET /metrics", "GET /v1/problems",
            "POST /v1/feedback", "POST /v1/escalations/score"} <= set(report["operations"])
    assert report["requests"] >= 100
    assert report["server_errors"] == 0, report["statuses"]
    assert report["failures"] == [], report["failures"][:3]
    assert report["statuses"].get("401") and report["statuses"].get("403") and report["statuses"].get("2xx")
