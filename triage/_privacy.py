"""Masking personal data and secrets before anything reaches a log.

Logs carry ticket ids, never ticket texts; where some text must be logged (an error echoing input, a
third-party message), `mask` replaces e-mail addresses, phone numbers, card numbers and credentials
with placeholders, and `PrivacyFilter` applies it to every record of a logger.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # credentials first, so a key that contains '@' or digits is not half-masked as an e-mail or phone
    (re.compile(r"(?i)\b(bearer|token|api[_-]?key|password|passwd|pwd|secret|пароль|токен)(\s*[:=]\s*|\s+)"
                r"([^\s,;]+)"), r"\1\2[SECRET]"),
    (re.compile(r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}"), "[JWT]"),
    (re.compile(r"\b(?:trg|sk|pk|ghp|gho|xox[abp]|AKIA)[_-]?[A-Za-z0-9_\-]{16,}"), "[KEY]"),
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), "[KEY]"),  # hex digests / tokens
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[EMAIL]"),
    # cards: 13-19 digits in one run or in groups of four (not dates, not model versions like 20261201-192102)
    (re.compile(r"\b(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7})\b"), "[CARD]"),
    # phones, in the shapes people write them, so timestamps and ids stay readable:
    (re.compile(r"(?<![\w+])\+\d{1,3}[\s-]?\(?\d{1,5}\)?(?:[\s-]?\d){6,12}(?!\w)"), "[PHONE]"),  # +7 (912) 345-67-89
    (re.compile(r"(?<![\w+])8[\s-]?\(?\d{3}\)?[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2}(?!\w)"), "[PHONE]"),  # 8 912 345 67 89
    (re.compile(r"\(\d{3,5}\)[\s-]?\d{2,3}[\s-]?\d{2}[\s-]?\d{2}(?!\w)"), "[PHONE]"),  # (495) 123-45-67
    (re.compile(r"\b\d{3}[\s.-]\d{3}[\s.-]?\d{2}[\s.-]?\d{2}\b"), "[PHONE]"),  # 912 345-67-89, 555-123-4567
]


def mask(text: str) -> str:
    """The text with e-mails, phones, card numbers and secrets replaced by placeholders."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class PrivacyFilter(logging.Filter):
    """Masks the message and its string arguments of every record passing through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _masked(v) for k, v in record.args.items()}
        return True


def _masked(value: Any) -> Any:
    return mask(value) if isinstance(value, str) else value
