"""Masking of personal data and secrets in anything logged, on Russian and English samples."""

from __future__ import annotations

import json
import logging

import pytest

from triage._logging import JsonFormatter
from triage._privacy import PrivacyFilter, mask


@pytest.mark.parametrize(("text", "gone", "placeholder"), [
    ("Пишите на ivan.petrov@example.ru, отвечу", "ivan.petrov@example.ru", "[EMAIL]"),
    ("Contact john.doe+vpn@corp.co.uk asap", "john.doe+vpn@corp.co.uk", "[EMAIL]"),
    ("Мой телефон +7 (912) 345-67-89, звоните", "345-67-89", "[PHONE]"),
    ("звоните 8 912 345 67 89 после обеда", "912 345 67 89", "[PHONE]"),
    ("call me at +44 20 7946 0958 please", "7946 0958", "[PHONE]"),
    ("офис: (495) 123-45-67 доб. 12", "123-45-67", "[PHONE]"),
    ("US line 555-123-4567 is down", "555-123-4567", "[PHONE]"),
    ("card 4276380012345678 declined", "4276380012345678", "[CARD]"),
    ("карта 4276 3800 1234 5678 заблокирована", "1234 5678", "[CARD]"),
    ("Authorization: Bearer abc.def-123", "abc.def-123", "[SECRET]"),
    ("мой пароль: Qwerty123!", "Qwerty123!", "[SECRET]"),
    ("password=hunter2 in the config", "hunter2", "[SECRET]"),
    ("key trg_AbCdEfGhIjKlMnOpQrStUvWx0123 leaked", "trg_AbCdEfGhIjKlMnOpQrStUvWx0123", "[KEY]"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlX2hlcmU", "eyJhbGciOiJIUzI1NiJ9", "[JWT]"),
])
def test_mask_removes_personal_data(text: str, gone: str, placeholder: str) -> None:
    out = mask(text)
    assert gone not in out and placeholder in out, out


@pytest.mark.parametrize("text", [
    "Ошибка 412 при входе в VPN, версия 10.2.3", "Order #12345 was charged twice on 2026-11-23",
    "Не работает модуль pbx-gateway с 09:15", "HTTP 503 from api/v1/classify",
    "serving model 20261201-192102-cf42283", "created 2026-11-23T09:12:00Z, ticket T-1042, build 20261201",
])
def test_mask_keeps_ordinary_ticket_text(text: str) -> None:
    assert mask(text) == text


def test_filter_masks_messages_and_arguments_in_json_logs() -> None:
    record = logging.LogRecord("triage", logging.INFO, __file__, 1, "ticket %s from %s", ("T-1", "anna@mail.ru"),
                               None)
    record.route = "/v1/classify"
    assert PrivacyFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "ticket T-1 from [EMAIL]" and line["route"] == "/v1/classify"
    assert line["level"] == "info" and line["logger"] == "triage"
