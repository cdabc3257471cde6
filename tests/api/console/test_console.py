"""The console in-process: sign-in, sessions, CSRF, roles, the review flow and every page, on a real bundle."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api._auth import route_roles
from api.console.i18n import T
from api.console.web import PAGES

from ._app import KEYS, secure_app

TICKETS = [{"id": f"C-{i}", "subject": s, "body": b, "created_at": f"2026-11-2{i % 9}T10:00:00Z", "agent": "anna"}
           for i, (s, b) in enumerate([
               ("Не проходят входящие звонки", "SIP 503 на телефонах офиса"),
               ("Outlook не получает почту", "с утра нет новых писем"),
               ("Отчёт в 1С не формируется", "ошибка при выгрузке"),
               ("VPN не подключается", "ошибка 412"),
           ])]


@pytest.fixture(scope="module")
def app(tmp_path_factory, use_embedder, cache_dir):  # type: ignore[no-untyped-def]
    application = secure_app(tmp_path_factory, use_embedder, cache_dir)
    with TestClient(application) as c:
        res = c.post("/v1/classify/batch", json=TICKETS, headers={"X-API-Key": KEYS["helpdesk"]})
        assert res.status_code == 200, res.text
        yield application  # inside: leaving the block closes the stores (lifespan)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "form without a CSRF token"
    return found.group(1)


def _signed_in(app, role: str) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    page = client.get("/ui/sign-in")
    res = client.post("/ui/sign-in", data={"key": KEYS[role], "csrf": _csrf(page.text), "next": "/ui"},
                      follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/ui"
    cookie = res.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert KEYS[role] not in cookie  # the cookie names the key by digest, never the key
    return client


def test_every_console_route_declares_roles_from_the_page_table(app) -> None:  # type: ignore[no-untyped-def]
    declared = route_roles(app)
    for key, (path, roles) in PAGES.items():
        assert declared[("GET", path)] == frozenset(roles), key
    assert declared[("POST", "/ui/review/decide")] == {"l3"}
    assert declared[("GET", "/v1/review/queue")] == {"l3", "analyst"}
    assert all(len(v) == 2 and all(v) for v in T.values())  # every message in both languages


def test_signed_out_pages_redirect_to_sign_in_and_a_wrong_key_is_refused(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    res = client.get("/ui/review?field=module", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"].startswith("/ui/sign-in?next=%2Fui%2Freview")
    page = client.get("/ui/sign-in")
    assert 'name="key"' in page.text and "content-security-policy" in page.headers
    assert "script-src 'self'" in page.headers["content-security-policy"]
    res = client.post("/ui/sign-in", data={"key": "trg_wrong", "csrf": _csrf(page.text)})
    assert res.status_code == 401 and "not known" in res.text and "trg_wrong" not in res.text
    assert "triage_session" not in res.headers.get("set-cookie", "")
    res = client.post("/ui/sign-in", data={"key": KEYS["l3"], "csrf": "forged"})
    assert res.status_code == 403 and "expired" in res.text  # CSRF checked before the key
    # a bearer key does not open console pages, and a session cookie does not open the JSON API
    assert client.get("/ui/review", headers={"X-API-Key": KEYS["l3"]}, follow_redirects=False).status_code == 303
    signed = _signed_in(app, "l3")
    assert signed.get("/v1/review/queue").status_code == 401


def test_under_privileged_key_sees_a_clear_page_and_only_its_navigation(app) -> None:  # type: ignore[no-untyped-def]
    client = _signed_in(app, "agent")
    home = client.get("/ui")
    assert 'href="/ui/ticket"' in home.text and 'href="/ui/review"' not in home.text
    res = client.get("/ui/review")
    assert res.status_code == 403 and "agent" in res.text and "l3" in res.text and "Ask an administrator" in res.text
    ru = client.get("/ui/review", headers={"accept-language": "ru-RU,ru;q=0.9"})
    assert "Нет доступа" in ru.text
    client.get("/ui/lang/ru?next=/ui", follow_redirects=False)
    assert "Очередь" not in client.get("/ui").text and "Обращение" in client.get("/ui").text  # remembered


def test_review_queue_confirm_and_correct_store_reviews_under_the_key_name(app) -> None:  # type: ignore[no-untyped-def]
    api = {"X-API-Key": KEYS["l3"]}
    client = _signed_in(app, "l3")
    queue = TestClient(app).get("/v1/review/queue?field=module&limit=10", headers=api).json()
    assert queue["pending"] >= 4 and [i["confidence"] for i in queue["items"] if not i["abstained"]] == sorted(
        i["confidence"] for i in queue["items"] if not i["abstained"])
    page = client.get("/ui/review?field=module")
    assert page.status_code == 200 and "Confirm" in page.text and queue["items"][0]["ticket_id"] in page.text
    first = queue["items"][0]
    confirm = {"csrf": _csrf(page.text), "action": "confirm", "ticket_id": first["ticket_id"], "field": "module",
               "predicted": first["predicted"] or "", "candidate": first["predicted"] or first["top"][0]["value"]}
    res = client.post("/ui/review/decide", data=confirm, headers={"HX-Request": "true"})
    assert res.status_code == 200 and 'data-done="stored"' in res.text and "l3" in res.text
    stored = TestClient(app).get(f"/v1/feedback?ticket_id={first['ticket_id']}", headers=api).json()["items"]
    assert stored[0]["reviewer"] == "l3" and stored[0]["field"] == "module"
    after = TestClient(app).get("/v1/review/queue?field=module", headers=api).json()
    assert first["ticket_id"] not in [i["ticket_id"] for i in after["items"]]
    assert after["pending"] == queue["pending"] - 1
    second = after["items"][0]
    typo = {**confirm, "action": "correct", "ticket_id": second["ticket_id"], "correct": "mail/exchnge"}
    res = client.post("/ui/review/decide", data=typo, headers={"HX-Request": "true"})
    assert 'data-done="error"' in res.text and "mail/exchange" in res.text  # refused as the API refuses it
    new = {**typo, "is_new": "1", "new_value": "mail/archive"}
    res = client.post("/ui/review/decide", data=new, follow_redirects=False)  # no JavaScript: back to the queue
    assert res.status_code == 303 and res.headers["location"].startswith("/ui/review")
    stored = TestClient(app).get(f"/v1/feedback?ticket_id={second['ticket_id']}", headers=api).json()["items"]
    assert stored[0]["correct"] == "mail/archive" and stored[0]["new_label"] and stored[0]["reviewer"] == "l3"
    res = client.post("/ui/review/decide", data={**confirm, "csrf": "x"})
    assert res.status_code == 403
    out = client.post("/ui/sign-out", data={"csrf": _csrf(client.get("/ui").text)}, follow_redirects=False)
    assert out.status_code == 303 and client.get("/ui", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", ["/ui/ticket?id=C-1", "/ui/incidents", "/ui/problems", "/ui/escalations",
                                  "/ui/kb-gaps", "/ui/model", "/ui/ticket?id=nope"])
def test_every_page_renders_for_a_key_with_every_role(app, path: str) -> None:  # type: ignore[no-untyped-def]
    client = _signed_in(app, "all")
    res = client.get(path)
    assert res.status_code == 200, res.text[:2000]
    assert "<script>" not in res.text  # no inline script anywhere
    if path == "/ui/ticket?id=C-1":
        assert "C-1" in res.text and "mail" in res.text and "Copy" in res.text, res.text
    if path == "/ui/escalations":
        assert 'id="escalation-table"' in res.text and "anna" not in res.text  # by module by default
        assert "anna" in client.get("/ui/escalations?by=agent").text
    if path == "/ui/model":
        assert client.get("/ui/model/plots/../../manifest.json").status_code == 404


def test_pasted_ticket_is_analysed_without_joining_the_history(app) -> None:  # type: ignore[no-untyped-def]
    client = _signed_in(app, "agent")
    page = client.get("/ui/ticket")
    res = client.post("/ui/ticket", data={"csrf": _csrf(page.text), "subject": "Не работает телефон",
                                          "body": "гудков нет"})
    assert res.status_code == 200 and "pasted" in res.text
    assert "не передано" not in res.text
    assert client.get("/ui/ticket?id=pasted").text.count("not in the history") == 1


def test_docs_use_the_vendored_assets(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    for path in ("/docs", "/redoc"):
        res = client.get(path)
        assert res.status_code == 200 and "http" not in re.sub(r"<!doctype html>", "", res.text).replace(
            'content="width', "")
        assert "'unsafe-eval'" not in res.headers["content-security-policy"]
    assert client.get("/ui/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/ui/static/vendor/htmx/LICENSE").status_code == 200
