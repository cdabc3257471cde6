"""The integration parts on their own: payloads read as tickets, the mapping file, the delivery store, the note."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.integrations._inbound import delivery_key, parse
from api.integrations._mapping import load_mappings
from api.integrations._note import advice, digest, html, wiki
from triage.deliveries import DeliveryStore, TicketMemory
from triage.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_zammad_default_payload_is_a_ticket_with_its_html_read_as_text() -> None:
    inbound = parse("zammad", fixture("zammad_ticket_create.json"), load_mappings(None)["zammad"])
    assert (inbound.ref, inbound.ticket_id, inbound.created) == ("81", "10081", True)
    assert inbound.subject == "Не проходят входящие звонки"
    assert inbound.body is not None and "<" not in inbound.body and "SIP 503" in inbound.body
    assert "Исходящие проходят" in inbound.body
    assert inbound.fields["group"] == "Service Desk" and inbound.fields["priority"] == "2 normal"
    assert inbound.customer == "emily@example.com" and inbound.organization == "Awesome Customer Inc."
    assert inbound.actor == "emily@example.com"


def test_zammad_agent_note_is_not_customer_text() -> None:
    payload = fixture("zammad_ticket_create.json")
    payload["ticket"]["article_count"] = 2
    payload["article"].update({"sender": "Agent", "internal": True, "body": "<p>звонил клиенту</p>"})
    inbound = parse("zammad", payload, load_mappings(None)["zammad"])
    assert inbound.body is None and not inbound.created


def test_jira_created_and_updated_with_changelog() -> None:
    mapping = load_mappings(None)["jira"]
    created = parse("jira", fixture("jira_issue_created.json"), mapping)
    assert (created.ref, created.created, created.fields["priority"]) == ("SUP-42", True, "Medium")
    assert created.body is not None and "Expected: stays signed in." in created.body
    updated = parse("jira", fixture("jira_issue_updated.json"), mapping)
    assert updated.body is None  # only the priority changed: no new text to triage
    assert updated.changed == {"priority": ("Medium", "High")} and updated.actor == "anna@example.com"


def test_znuny_invoker_call() -> None:
    inbound = parse("znuny", fixture("znuny_ticket_create.json"), load_mappings(None)["znuny"])
    assert (inbound.ref, inbound.ticket_id) == ("2101", "2026120110000011")
    assert inbound.body is not None and inbound.body.startswith("Принтер HP")
    assert inbound.fields["queue"] == "Raw" and inbound.organization == "ООО Ромашка"
    nested = parse("znuny", {"Data": fixture("znuny_ticket_create.json")}, load_mappings(None)["znuny"])
    assert nested.ref == "2101"


@pytest.mark.parametrize("source,payload", [("zammad", {"article": {}}), ("jira", {"issue": {}}),
                                            ("znuny", {"Ticket": {}}), ("zammad", ["not", "an", "object"])])
def test_a_body_without_a_ticket_is_refused_by_name(source: str, payload: Any) -> None:
    with pytest.raises(ValueError, match=r"ticket|issue|object|Ticket"):
        parse(source, payload, load_mappings(None)[source])


def test_delivery_key_is_the_helpdesks_or_a_digest() -> None:
    assert delivery_key("zammad", {"x-zammad-delivery": "abc"}, b"{}") == "abc"
    assert delivery_key("jira", {}, b"{}") == delivery_key("jira", {}, b"{}") != delivery_key("jira", {}, b"[]")


def test_mapping_file_overrides_and_refuses_unknown_helpdesks(tmp_path: Path) -> None:
    good = tmp_path / "map.yaml"
    good.write_text("zammad:\n  learn: {group: module}\n  write: [group]\n  values: {group: {net: Сеть}}\n")
    m = load_mappings(good)["zammad"]
    assert m.learn == {"group": "module"} and m.write == ["group"]
    assert m.to_helpdesk("group", "net") == "Сеть" and m.from_helpdesk("group", "Сеть") == "net"
    assert m.is_default("priority", "2 normal") and not m.is_default("priority", "3 high")
    bad = tmp_path / "bad.yaml"
    bad.write_text("freshdesk: {}\n")
    with pytest.raises(DataError, match="unknown helpdesk 'freshdesk'"):
        load_mappings(bad)


def test_delivery_store_is_idempotent_and_survives_an_interrupted_claim(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path / "d.sqlite")
    first, new = store.add("zammad", "k1", {"a": 1}, "trigger", now=100.0)
    again, new_again = store.add("zammad", "k1", {"a": 1}, "trigger", now=101.0)
    assert new and not new_again and first == again
    claimed = store.claim(now=100.0)
    assert claimed is not None and claimed.attempts == 1 and claimed.state == "working" and not claimed.resumed
    assert store.claim(now=100.0) is None
    store.close()
    reopened = DeliveryStore(tmp_path / "d.sqlite")  # as after a kill: the claim is to do again, checked first
    assert reopened.recover() == 1
    resumed = reopened.claim()
    assert resumed is not None and resumed.resumed and resumed.attempts == 2
    reopened.fail(resumed.id, "HTTP 503", retry_at=None)
    assert reopened.counts() == {"pending": 0, "working": 0, "done": 0, "dead": 1}
    assert reopened.retry() == 1 and reopened.claim() is not None
    reopened.finish(first, {"note": "written"})
    assert reopened.get(first).outcome == {"note": "written"}  # type: ignore[union-attr]
    assert "payload" not in reopened.list()[0].public()
    reopened.remember("zammad", "81", TicketMemory("h", {"category": "Сеть"}, None, {"group": "x"}, "text", True))
    assert reopened.memory("zammad", "81") == TicketMemory("h", {"category": "Сеть"}, None, {"group": "x"},
                                                           "text", True)


def _result(language: str, confidence: float, abstained: bool = False) -> dict[str, Any]:
    top = [{"value": "Телефония", "p": confidence}, {"value": "Сеть", "p": 0.1}]
    return {"ticket_id": "10081", "model_version": "v1", "language": language,
            "labels": {"category": {"value": None if abstained else "Телефония", "confidence": confidence,
                                    "abstained": abstained, "top": top}},
            "recurring": {"similar": [{"ticket_id": "T-0977", "score": 0.93, "answer": "Перезапустили SBC."}],
                          "problem": None, "spike": None},
            "completeness": {"score": 0.4, "ready_for_l3": False, "missing": ["environment"],
                             "prompts": {"environment": "Укажите офис и модель телефона."}},
            "kb": [{"article_id": "kb-1", "title": "SIP 503", "score": 0.9, "snippet": "", "url": "https://kb/1"}]}


def test_note_in_the_tickets_language_with_questions_links_and_marker() -> None:
    adv = advice(_result("ru", 0.91), lambda t: f"https://desk/t/{t}")  # type: ignore[arg-type]
    note = html(adv, "triage:zammad:7")
    assert "Подсказка triage" in note and "Телефония (91%)" in note and "Укажите офис и модель телефона." in note
    assert '<a href="https://kb/1">SIP 503</a>' in note and "https://desk/t/T-0977" in note
    assert "Перезапустили SBC." in note and note.rstrip().endswith("triage:zammad:7</small></p>")
    english = wiki(advice(_result("en", 0.91, abstained=True), str), "m")  # type: ignore[arg-type]
    assert "not sure: Телефония or Сеть" in english and "*Triage suggestion*" in english


def test_digest_ignores_confidence_but_not_values() -> None:
    link = str
    a = digest(advice(_result("ru", 0.91), link))  # type: ignore[arg-type]
    assert a == digest(advice(_result("ru", 0.87), link))  # type: ignore[arg-type]
    assert a != digest(advice(_result("ru", 0.87, abstained=True), link))  # type: ignore[arg-type]
