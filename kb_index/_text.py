"""Tokens for the lexical signal: lower-cased words, stemmed as Russian or English.

Error codes, module names and version strings are kept whole because support
tickets are often findable only by them; stemming makes "отчёты"/"отчета" and
"reports"/"reporting" meet.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[0-9a-zа-яё]+(?:[._\-/][0-9a-zа-яё]+)*", re.IGNORECASE)
_CYRILLIC = re.compile(r"[а-яё]")


@lru_cache(maxsize=2)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def tokenize(text: str) -> list[str]:
    """Stemmed tokens; compound tokens (`ERR-1042`, `8.3.22`) also yield their parts."""
    words = _WORD.findall(text.lower().replace("ё", "е"))
    out: list[str] = []
    ru, en = _stemmer("russian"), _stemmer("english")
    for word in words:
        parts = re.split(r"[._\-/]", word)
        if len(parts) > 1:
            out.append(word)
        for part in parts:
            if not part:
                continue
            if part.isdigit() or len(part) < 3:
                out.append(part)
            elif _CYRILLIC.search(part):
                out.append(ru.stemWord(part))
            else:
                out.append(en.stemWord(part))
    return out
