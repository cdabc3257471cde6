"""Helpdesk bodies as text: HTML markup, quoted replies and signatures never reach the models."""

from __future__ import annotations

import pytest

from kb_index import article_text, message_text
from triage import ticket_text

ZAMMAD = ("<div>Добрый день!</div><div>AnyConnect пишет <b>Login failed</b> после смены пароля.</div>"
          "<div><br></div><div>С уважением,<br>Иван Петров<br>+7 999 123-45-67</div>")


def test_markup_becomes_paragraphs_without_tags() -> None:
    text = message_text(ZAMMAD)
    assert "<" not in text and "Login failed" in text
    assert text.splitlines()[0] == "Добрый день!"
    assert "Иван Петров" not in text and "999" not in text  # the signature block is dropped


def test_lists_keep_their_structure() -> None:
    text = message_text("<p>Steps:</p><ol><li>open Outlook</li><li>click Send</li></ol><ul><li>VPN on</li></ul>")
    assert "1. open Outlook\n2. click Send" in text
    assert "- VPN on" in text


@pytest.mark.parametrize("body", [
    '<p>Still broken.</p><blockquote type="cite"><p>Old thread: printer jams</p></blockquote>',
    '<div>Still broken.</div><div class="gmail_quote">On Mon wrote: printer jams</div>',
])
def test_html_quotes_are_dropped(body: str) -> None:
    text = message_text(body)
    assert text == "Still broken."


@pytest.mark.parametrize("body", [
    "Still broken.\n\n-----Original Message-----\nFrom: a@example.com\nSent: Monday\n\nprinter jams",
    "Still broken.\n\n-----Исходное сообщение-----\nОт: a@example.com\nprinter jams",
    "Still broken.\n\nOn Mon, 1 Dec 2026 at 10:00, Bob <bob@example.com> wrote:\n> printer jams\n> again",
    "Still broken.\n\nпн, 1 дек. 2026 г. в 10:00, Иван <ivan@example.ru> написал(а):\n> printer jams",
    "Still broken.\nFrom: Bob Smith\nSent: Monday, 1 December 2026\nTo: support\nSubject: printer\n\nprinter jams",
    "> printer jams\nStill broken.",
    "Still broken.\n--\nBob Smith\nAcme Inc",
    "Still broken.\n\nBest regards,\nBob",
])
def test_plain_text_replies_and_signatures_are_dropped(body: str) -> None:
    assert message_text(body) == "Still broken."


@pytest.mark.parametrize("body", [
    "AnyConnect пишет Login failed, steps: 1. open 2. connect",
    "From: the report menu, choose Export; the file is empty",
    "a < b and c > d in the formula",
    "The form does not allow <br> in a name; log in as <username> and retry",
    "Спасибо за помощь, но проблема вернулась: ошибка 0x80070005 при входе.",
])
def test_real_content_is_kept(body: str) -> None:
    assert message_text(body) == body


def test_a_message_that_is_only_a_quote_keeps_its_text() -> None:
    assert message_text("> forwarded: the printer jams") == "> forwarded: the printer jams"


def test_ticket_text_and_articles() -> None:
    assert ticket_text("<b>VPN</b> down", ZAMMAD).startswith("VPN down\nДобрый день!")
    assert article_text("<h2>Reset</h2><p>Open the portal</p>") == "## Reset\n\nOpen the portal"
    assert article_text("> a Markdown quote in an article stays") == "> a Markdown quote in an article stays"


def test_completeness_evidence_is_plain_text(trained_bundle, use_embedder, cache_dir) -> None:  # type: ignore[no-untyped-def]
    """The issue's case: evidence came back with markup; now it is the words a person wrote."""
    from triage import load_triage

    triage = load_triage(trained_bundle.bundle, cache_dir=cache_dir, embedder=use_embedder)
    result = triage.classify([{"id": "H-1", "subject": "VPN", "body": ZAMMAD}])[0]
    evidence = [i["evidence"] for i in result["completeness"]["items"].values() if i["evidence"]]
    assert evidence, "the body names an error message: some item must be present"
    assert all("<" not in e and ">" not in e for e in evidence)
    triage.close()
