"""Incident alerts in a Telegram chat with topics: one forum topic per incident, updates in it, closed at the end;
in a chat without topics, replies to the first message (the Bot API stand-in answers getChat either way)."""

from __future__ import annotations

from api.integrations.standins import TelegramStandin
from triage._alerts import AlertConfig, AlertEvent, AlertSender

HEADER = "[Инцидент][pbx-gateway] – Не проходят входящие звонки с 12:02"


def _run(forum: bool) -> TelegramStandin:
    tg = TelegramStandin(token="1:tok", forum=forum).serve()
    sender = AlertSender(AlertConfig(telegram_token="1:tok", telegram_chat_id="-1001", telegram_api_url=tg.url,
                                     backoff_seconds=0.01))
    for kind, line in (("open", "3 обращения"), ("update", "обновление: 4"), ("close", "закрыт")):
        sender.send(AlertEvent(kind, "I-1", f"{HEADER}\n{line}", {"header": HEADER}))
    sender.close()
    tg.stop()
    return tg


def test_forum_chat_gets_a_topic_per_incident_closed_when_it_ends() -> None:
    tg = _run(forum=True)
    assert [t["name"] for t in tg.topics.values()] == [HEADER]
    (thread, topic), = tg.topics.items()
    assert topic["closed"] and [m["message_thread_id"] for m in tg.sent] == [thread] * 3
    assert [c[1] for c in tg.calls] == ["getChat", "createForumTopic", "sendMessage", "sendMessage", "sendMessage",
                                        "closeForumTopic"]


def test_chat_without_topics_threads_by_reply() -> None:
    tg = _run(forum=False)
    assert tg.topics == {} and "reply_to_message_id" not in tg.sent[0]
    assert {m["reply_to_message_id"] for m in tg.sent[1:]} == {9001}
    assert "closeForumTopic" not in [c[1] for c in tg.calls]
