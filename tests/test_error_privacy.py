"""Errors that leak nothing: a 422 says where and what, never the request; long text is cut and flagged;
only the request-size limit is a 413."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from api._errors import EXCERPT, excerpt
from api.app import create_app
from api.schemas import MAX_BODY
from triage import open_triage
from triage.feedback import open_feedback

from ._small_bundle import small_bundle, small_settings

EMAIL = "ivan.petrov@example.com"
SECRET_TEXT = f"Клиент {EMAIL}, тел. +7 912 345-67-89, договор 4815162342: не открывается 1С после обновления"
LIMIT = 600_000


@pytest.fixture(scope="module")
def served(tmp_path_factory, use_embedder, cache_dir):  # type: ignore[no-untyped-def]
    _, result = small_bundle(tmp_path_factory, use_embedder, cache_dir)
    root = tmp_path_factory.mktemp("privacy-service")
    settings = small_settings(root, cache_dir, max_request_bytes=LIMIT)
    triage = open_triage(result.bundle, settings, embedder=use_embedder, kb=None, history="ephemeral", alerts=False)
    with TestClient(create_app(settings, triage=triage)) as client:
        yield client, root


def _assert_nothing_echoed(text: str, *secrets: str) -> None:
    for secret in (EMAIL, "example.com", "4815162342", "912 345", *secrets):
        assert secret not in text, f"{secret!r} echoed in {text[:300]}"


@pytest.mark.parametrize("payload", [
    {"subject": 5, "body": SECRET_TEXT},  # wrong type next to the text
    {"subject": "Ошибка", "body": SECRET_TEXT, "created_at": EMAIL},  # unparseable date that is an e-mail
    {"subject": "Ошибка", "body": SECRET_TEXT, "created_at": SECRET_TEXT},  # too long, full of personal data
    {"id": SECRET_TEXT * 5, "body": SECRET_TEXT},  # id over its 200 characters
    {"body": SECRET_TEXT, "customer": SECRET_TEXT * 20},  # customer over its 500 characters
    {"body": " \n ", "customer": EMAIL},  # no text at all: the model-level error carries the whole object
], ids=["type", "date-email", "date-long", "id-long", "customer-long", "blank"])
def test_422_never_echoes_the_request(served, payload) -> None:  # type: ignore[no-untyped-def]
    client, _ = served
    res = client.post("/v1/classify", json=payload)
    assert res.status_code == 422, res.text
    _assert_nothing_echoed(res.text, SECRET_TEXT[:60])
    detail = res.json()["detail"]
    assert detail and all({"loc", "msg", "type"} <= set(d) and "input" not in d for d in detail)
    for d in detail:
        if "excerpt" in d:
            assert len(d["excerpt"]) <= EXCERPT and not re.search(r"\d|@", d["excerpt"])


def test_422_still_says_where_and_what(served) -> None:  # type: ignore[no-untyped-def]
    client, _ = served
    res = client.post("/v1/classify", json={"subject": "x", "created_at": "x" * 100})
    [error] = res.json()["detail"]
    assert error["loc"] == ["body", "created_at"] and "at most 64" in error["msg"]
    assert error["ctx"] == {"max_length": 64} and error["excerpt"] == "x" * (EXCERPT - 1) + "…"
    dated = client.post("/v1/classify", json={"subject": "x", "created_at": f"когда-то {EMAIL}"}).json()
    assert dated["detail"][0]["excerpt"] == "когда-то [EMAIL]" and "ISO-8601" in dated["detail"][0]["msg"]


def test_malformed_json_batch_and_feedback_errors_do_not_echo(served) -> None:  # type: ignore[no-untyped-def]
    client, _ = served
    broken = client.post("/v1/classify", content=f'{{"body": "{SECRET_TEXT}", oops'.encode(),
                         headers={"content-type": "application/json"})
    assert broken.status_code == 422
    _assert_nothing_echoed(broken.text)
    batch = client.post("/v1/classify/batch", json=[{"subject": 1, "body": SECRET_TEXT}] * 3)
    assert batch.status_code == 422 and [d["loc"][:2] for d in batch.json()["detail"]] == [
        ["body", 0], ["body", 1], ["body", 2]]
    _assert_nothing_echoed(batch.text)
    review = {"ticket_id": "T-0001", "predicted": "Почта", "reviewer": "r", "body": SECRET_TEXT}
    for extra in ({"field": "category", "correct": f"Почта {EMAIL}"},  # an unknown value: its 422 is masked
                  {"field": f"colour {EMAIL}", "correct": "red"},  # an unknown field: its 404 too
                  {"field": "category", "correct": "Почта", "new_label": "maybe " + EMAIL}):
        res = client.post("/v1/feedback", json={**review, **extra})
        assert res.status_code in (404, 422), res.text
        _assert_nothing_echoed(res.text)


def test_excerpt_is_short_and_masked() -> None:
    cut = excerpt(SECRET_TEXT + " ivan@corp пароль: hunter2 " * 50)
    assert len(cut) <= EXCERPT and cut.endswith("…") and cut.startswith("Клиент [EMAIL]")
    assert not re.search(r"\d|@", cut)
    assert excerpt("звонить ivan@corp или 8 912 345 67 89") == "звонить [EMAIL] или [PHONE]"
    assert excerpt("пароль: hunter2") == "пароль: [SECRET]"
    assert excerpt("счёт 12 от 03.04") == "счёт ## от ##.##"


def test_a_long_body_is_cut_and_flagged_not_refused(served) -> None:  # type: ignore[no-untyped-def]
    client, root = served
    long_body = ("После обновления 1С отчёт по продажам показывает половину выручки. " * 2500)[:MAX_BODY + 50_000]
    assert len(long_body.encode()) < LIMIT
    res = client.post("/v1/classify", json={"id": "LONG-1", "subject": "Отчёт", "body": long_body})
    assert res.status_code == 200, res.text[:500]
    assert res.json()["truncated"] is True and res.json()["ticket_id"] == "LONG-1"
    short = client.post("/v1/classify", json={"id": "SHORT-1", "subject": "Отчёт", "body": long_body[:200]})
    assert short.json()["truncated"] is False
    score = client.post("/v1/escalations/score", json={"subject": "Отчёт", "body": long_body})
    assert score.status_code == 200 and score.json()["truncated"] is True
    review = client.post("/v1/feedback", json={"ticket_id": "LONG-1", "field": "category", "predicted": None,
                                               "correct": "1С и отчёты", "reviewer": "i.petrov",
                                               "body": long_body})
    assert review.status_code == 201 and review.json()["truncated"] is True
    [stored] = [f for f in open_feedback(root / "feedback.sqlite") if f.ticket_id == "LONG-1"]
    assert stored.body is not None and len(stored.body) == MAX_BODY and long_body.startswith(stored.body)


def test_only_the_request_size_limit_is_a_413(served) -> None:  # type: ignore[no-untyped-def]
    client, _ = served
    body = (SECRET_TEXT + " ") * (LIMIT // len(SECRET_TEXT.encode()) + 10)
    res = client.post("/v1/classify", json={"subject": "x", "body": body})
    assert res.status_code == 413 and "TRIAGE_MAX_REQUEST_BYTES" in res.json()["detail"]
    _assert_nothing_echoed(res.text)
    assert len(res.content) < 500

    def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: refused while reading
        yield json.dumps({"subject": "x"})[:-1].encode() + b', "body": "'
        for _ in range(LIMIT // 10_000 + 5):
            yield b"z" * 10_000
        yield b'"}'

    chunked = client.post("/v1/classify", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413 and "z" * 50 not in chunked.text
