"""Helpdesk integrations end to end: a real `triage serve` (uvicorn) process, stand-in Zammad, Jira and Znuny
servers on 127.0.0.1 implementing their documented endpoints, payloads in each helpdesk's documented shape.

What a helpdesk admin relies on: a signed webhook is stored and answered at once, one internal note per
triage, a repeat delivery does nothing, a value a person set is never overwritten, a person's change is
learned as a review (the service's own writes never are), failures are retried and end as dead letters
that the CLI lists and revives, and a SIGKILL between the answer and the write-back loses nothing and
duplicates nothing.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.integrations.standins import JiraStandin, Standin, ZammadStandin, ZnunyStandin
from api.testing import KEYS, REPO, WEBHOOK_SECRET, call, keys_env, serve
from triage.deliveries import DeliveryStore

FIXTURES = Path(__file__).parent / "fixtures"
JIRA_SECRET = "jira-webhook-secret-0123456789abcdef"
MAPPING = """
zammad:
  learn: {group: category, priority: priority}
  write: [priority]
  tags: [category]
  values: {priority: {low: "1 low", medium: "2 normal", high: "3 high", critical: "4 critical"}}
jira:
  learn: {priority: priority}
  tags: [category]
  values: {priority: {low: Low, medium: Medium, high: High, critical: Highest}}
"""


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def wait_for(predicate: Callable[[], Any], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def post_raw(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"content-type": "application/json",
                                                                         **headers})
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def zammad_hook(url: str, payload: dict[str, Any], delivery: str, secret: str = WEBHOOK_SECRET) -> tuple[int, Any]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    signature = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return post_raw(url + "/v1/integrations/zammad", body, {"X-Hub-Signature": signature, "X-Zammad-Delivery": delivery,
                                                            "X-Zammad-Trigger": "triage", "User-Agent": "Zammad"})


def zammad_ticket(tid: int, title: str, html: str, priority: str = "2 normal") -> dict[str, Any]:
    payload = fixture("zammad_ticket_create.json")
    payload["ticket"].update({"id": tid, "number": str(10000 + tid), "title": title})
    payload["ticket"]["priority"]["name"] = priority
    payload["article"].update({"ticket_id": tid, "body": html})
    return payload


def delivery(db: Path, key: str) -> Any:
    store = DeliveryStore(db)
    try:
        found = [d for d in store.list(limit=1000) if d.key == key]
        return found[0] if found else None
    finally:
        store.close()


def done(db: Path, key: str) -> Any:
    d = delivery(db, key)
    return d if d is not None and d.state in ("done", "dead") else None


def service_env(tmp: Path, cache_dir: Path, desks: dict[str, Standin], **extra: str) -> dict[str, str]:
    (tmp / "map.yaml").write_text(MAPPING, encoding="utf-8")
    z, j, n = desks["zammad"], desks["jira"], desks["znuny"]
    env = {"TRIAGE_CACHE_DIR": str(cache_dir), "TRIAGE_API_KEYS": keys_env(), "TRIAGE_DEV_MODE": "0",
           "TRIAGE_WEBHOOK_SECRET": WEBHOOK_SECRET, "TRIAGE_JIRA_WEBHOOK_SECRET": JIRA_SECRET,
           "TRIAGE_HISTORY_DB": str(tmp / "live.sqlite"), "TRIAGE_FEEDBACK_DB": str(tmp / "feedback.sqlite"),
           "TRIAGE_DELIVERIES_DB": str(tmp / "deliveries.sqlite"), "TRIAGE_INTEGRATIONS_CONFIG": str(tmp / "map.yaml"),
           "TRIAGE_INTEGRATIONS_WRITE_FIELDS": "1", "TRIAGE_DELIVERY_RETRIES": "2",
           "TRIAGE_DELIVERY_BACKOFF_SECONDS": "0.05", "TRIAGE_HELPDESK_SELF": "triage-bot@example.com",
           "TRIAGE_ZAMMAD_URL": z.url, "TRIAGE_ZAMMAD_TOKEN": z.token,
           "TRIAGE_JIRA_URL": j.url, "TRIAGE_JIRA_USER": "triage@example.com", "TRIAGE_JIRA_TOKEN": j.token,
           "TRIAGE_ZNUNY_URL": n.url, "TRIAGE_ZNUNY_USER": "triage", "TRIAGE_ZNUNY_PASSWORD": n.token,
           "TRIAGE_TEST_LOG": str(tmp / "service.log"), **extra}
    return env


@pytest.fixture(scope="module")
def desks() -> Iterator[dict[str, Standin]]:
    found: dict[str, Standin] = {"zammad": ZammadStandin().serve(), "jira": JiraStandin().serve(),
                                 "znuny": ZnunyStandin().serve()}
    yield found
    for d in found.values():
        d.stop()


@pytest.fixture(scope="module")
def service(trained_bundle, tmp_path_factory: pytest.TempPathFactory, cache_dir: Path,  # type: ignore[no-untyped-def]
            desks: dict[str, Standin]) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("integrations")
    with serve(trained_bundle.bundle, service_env(tmp, cache_dir, desks, TRIAGE_ACKNOWLEDGE="1")) as (url, _):
        yield url, tmp


def test_zammad_webhook_gets_one_internal_note_tags_and_an_acknowledgement(service, desks) -> None:  # type: ignore[no-untyped-def]
    url, tmp = service
    z = desks["zammad"]
    status, answer = zammad_hook(url, fixture("zammad_ticket_create.json"), "zd-1")
    assert status == 202 and answer["duplicate"] is False, answer
    d = wait_for(lambda: done(tmp / "deliveries.sqlite", "zd-1"))
    assert d.state == "done" and d.outcome["note"] == "written", d
    notes = z.notes("81")
    assert len(notes) == 1
    note = notes[0]
    assert (note["type"], note["internal"], note["content_type"]) == ("note", True, "text/html")
    assert "Подсказка triage" in note["body"] and f"triage:zammad:{d.id}" in note["body"]  # in the ticket's language
    assert "category: " in note["body"]
    assert z.tags.get("81", []) == d.outcome["tags"]  # the category answer, when the head answered
    public = [a for a in z.articles["81"] if not a["internal"]]
    assert len(public) == 1 and "10081" in public[0]["body"] and "Здравствуйте" in public[0]["body"]

    status, again = zammad_hook(url, fixture("zammad_ticket_create.json"), "zd-1")  # Zammad retries a delivery
    assert status == 202 and again == {"delivery": answer["delivery"], "duplicate": True}
    time.sleep(1.0)
    assert len(z.notes("81")) == 1 and len(z.articles["81"]) == 2


def test_bad_signature_and_wrong_role_are_refused_without_echo(service) -> None:  # type: ignore[no-untyped-def]
    url, _ = service
    status, body = zammad_hook(url, fixture("zammad_ticket_create.json"), "zd-bad", secret="not-the-secret")
    assert status == 401 and "SIP" not in json.dumps(body, ensure_ascii=False)
    status, body = call("POST", url + "/v1/integrations/zammad", fixture("zammad_ticket_create.json"),
                        {"X-API-Key": KEYS["agent"]})
    assert status == 403
    status, body = post_raw(url + "/v1/integrations/zammad", b'{"ticket": {"title": "x"}}',
                            {"X-API-Key": KEYS["helpdesk"]})
    assert status == 422 and body["detail"].startswith("not a zammad webhook body: ticket")


def test_a_value_a_person_set_is_never_overwritten(service, desks) -> None:  # type: ignore[no-untyped-def]
    url, tmp = service
    z = desks["zammad"]
    z.tickets["82"] = {"id": 82, "priority": {"name": "3 high"}}  # a person chose it after the trigger fired
    text = "<p>Не печатает принтер в бухгалтерии, очередь печати зависла.</p>"
    assert zammad_hook(url, zammad_ticket(82, "Принтер не печатает", text), "zd-82")[0] == 202
    z.tickets["83"] = {"id": 83, "priority": {"name": "2 normal"}}
    assert zammad_hook(url, zammad_ticket(83, "Принтер не печатает", text), "zd-83")[0] == 202
    d82 = wait_for(lambda: done(tmp / "deliveries.sqlite", "zd-82"))
    d83 = wait_for(lambda: done(tmp / "deliveries.sqlite", "zd-83"))
    assert z.tickets["82"]["priority"] == {"name": "3 high"} and d82.outcome["fields"] == {}
    assert not [c for c in z.calls if c[0] == "PUT" and c[1].endswith("/82")]
    puts = [c[2] for c in z.calls if c[0] == "PUT" and c[1].endswith("/83")]
    assert puts == ([d83.outcome["fields"]] if d83.outcome["fields"] else [])


def test_a_persons_change_is_a_review_and_the_services_own_is_not(service, desks) -> None:  # type: ignore[no-untyped-def]
    url, tmp = service
    wait_for(lambda: done(tmp / "deliveries.sqlite", "zd-1"))
    change = fixture("zammad_ticket_create.json")
    change["ticket"]["group"]["name"] = "Сеть"
    change["ticket"]["updated_by"] = {"login": "anna@example.com"}
    change["ticket"]["article_count"] = 2
    change["article"].update({"sender": "Agent", "internal": True, "body": "<p>переназначено</p>"})
    assert zammad_hook(url, change, "zd-change")[0] == 202
    own = copy.deepcopy(change)
    own["ticket"]["group"]["name"] = "Оборудование"
    own["ticket"]["updated_by"] = {"login": "triage-bot@example.com"}
    assert zammad_hook(url, own, "zd-own")[0] == 202
    d = wait_for(lambda: done(tmp / "deliveries.sqlite", "zd-own"))
    assert d.outcome["learned"] == [] and d.outcome["note"] == "no new customer text"
    status, listing = call("GET", url + "/v1/feedback?ticket_id=10081", headers={"X-API-Key": KEYS["l3"]})
    assert status == 200
    reviews = [(r["field"], r["correct"], r["reviewer"], r["source"]) for r in listing["items"]]
    assert reviews == [("category", "Сеть", "anna@example.com", "zammad")]


def test_failures_are_retried_then_dead_letters_listed_and_revived(service, desks) -> None:  # type: ignore[no-untyped-def]
    url, tmp = service
    z = desks["zammad"]
    z.fail(2, 503)
    assert zammad_hook(url, zammad_ticket(84, "Почта не приходит", "<p>Не приходят письма с утра.</p>"),
                       "zd-84")[0] == 202
    d = wait_for(lambda: done(tmp / "deliveries.sqlite", "zd-84"))
    assert d.state == "done" and d.attempts == 3 and len(z.notes("84")) == 1
    z.fail(100, 502)
    assert zammad_hook(url, zammad_ticket(85, "VPN", "<p>VPN отваливается каждые 5 минут.</p>"), "zd-85")[0] == 202
    dead = wait_for(lambda: done(tmp / "deliveries.sqlite", "zd-85"))
    assert dead.state == "dead" and dead.attempts == 3 and "HTTP 502" in dead.last_error
    status, metrics = call("GET", url + "/metrics", headers={"X-API-Key": KEYS["analyst"]})
    assert status == 200 and 'triage_deliveries{state="dead"} 1.0' in metrics.decode()
    cli_env = {**os.environ, "PYTHONPATH": str(REPO), "TRIAGE_DELIVERIES_DB": str(tmp / "deliveries.sqlite")}
    listing = subprocess.run([sys.executable, "-m", "triage.cli", "integrations", "deliveries", "--state", "dead"],
                             env=cli_env, capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0 and str(dead.id) in listing.stderr and "HTTP 502" in listing.stderr
    assert "--retry" in listing.stderr  # says what to do next
    with z._lock:
        z._fail.clear()
    revived = subprocess.run([sys.executable, "-m", "triage.cli", "integrations", "deliveries", "--retry"],
                             env=cli_env, capture_output=True, text=True, timeout=120)
    assert revived.returncode == 0, revived.stderr
    wait_for(lambda: delivery(tmp / "deliveries.sqlite", "zd-85").state == "done")
    assert len(z.notes("85")) == 1


def test_jira_internal_comment_labels_and_a_learned_priority(service, desks) -> None:  # type: ignore[no-untyped-def]
    url, tmp = service
    j = desks["jira"]

    def hook(payload: dict[str, Any], ident: str) -> int:
        body = json.dumps(payload).encode()
        sig = "sha256=" + hmac.new(JIRA_SECRET.encode(), body, hashlib.sha256).hexdigest()
        return post_raw(url + "/v1/integrations/jira", body, {"X-Hub-Signature": sig,
                                                               "X-Atlassian-Webhook-Identifier": ident})[0]

    assert hook(fixture("jira_issue_created.json"), "j-1") == 202
    d = wait_for(lambda: done(tmp / "deliveries.sqlite", "j-1"))
    comments = [c for c in j.articles["SUP-42"] if c["internal"]]
    assert d.outcome["note"] == "written" and len(comments) == 1
    assert comments[0]["body"].startswith("*Triage suggestion*")  # Jira markup, English ticket
    assert j.tickets["SUP-42"]["labels"] == [t.replace(" ", "_") for t in d.outcome["tags"]]
    assert hook(fixture("jira_issue_updated.json"), "j-2") == 202
    wait_for(lambda: done(tmp / "deliveries.sqlite", "j-2"))
    status, listing = call("GET", url + "/v1/feedback?ticket_id=SUP-42", headers={"X-API-Key": KEYS["l3"]})
    assert status == 200 and [(r["field"], r["correct"], r["reviewer"], r["source"]) for r in listing["items"]] == [
        ("priority", "high", "anna@example.com", "jira")]  # Jira's "High" read back through the value map


def test_znuny_invoker_gets_an_internal_article(service, desks) -> None:  # type: ignore[no-untyped-def]
    url, tmp = service
    n = desks["znuny"]
    status, _ = call("POST", url + "/v1/integrations/znuny", fixture("znuny_ticket_create.json"),
                     {"X-API-Key": KEYS["helpdesk"], "X-Znuny-Delivery": "zn-1"})
    assert status == 202
    d = wait_for(lambda: done(tmp / "deliveries.sqlite", "zn-1"))
    assert d.outcome["note"] == "written"
    notes = n.notes("2101")
    assert len(notes) == 1 and notes[0]["IsVisibleForCustomer"] == 0 and "Подсказка triage" in notes[0]["Body"]


def test_sigkill_between_answer_and_write_back_writes_exactly_once(trained_bundle, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                    cache_dir: Path, desks) -> None:
    z = ZammadStandin(delay=30.0).serve()  # the note is stored, its answer never arrives: the kill falls there
    env = service_env(tmp_path, cache_dir, {**desks, "zammad": z})
    try:
        with serve(trained_bundle.bundle, env) as (url, proc):
            assert zammad_hook(url, zammad_ticket(90, "Телефония", "<p>Не работают звонки, SIP 503.</p>"),
                               "k-90")[0] == 202
            assert zammad_hook(url, zammad_ticket(91, "Почта", "<p>Outlook просит пароль.</p>"), "k-91")[0] == 202
            wait_for(lambda: z.notes("90"))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        assert delivery(tmp_path / "deliveries.sqlite", "k-90").state == "working"
        z.delay = 0.0
        with serve(trained_bundle.bundle, env):
            d90 = wait_for(lambda: done(tmp_path / "deliveries.sqlite", "k-90"))
            d91 = wait_for(lambda: done(tmp_path / "deliveries.sqlite", "k-91"))
        assert d90.outcome["note"] == "already written" and d91.outcome["note"] == "written"
        assert len(z.notes("90")) == 1 and len(z.notes("91")) == 1
    finally:
        z.stop()
