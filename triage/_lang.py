"""Language detection tuned for helpdesk text.

Tickets are short, full of product names, codes and Latin-script jargon inside
Russian sentences ("не работает VPN AnyConnect"). A statistical identifier
alone calls such text English or Ukrainian, so the script decides first and
py3langid only separates Latin-script languages.
"""

from __future__ import annotations

import re
from functools import lru_cache

_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_UKRAINIAN_ONLY = re.compile(r"[іїєґ]", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
_LATIN_LANGS = ["en", "de", "fr", "es", "pt", "it", "nl", "pl", "tr", "sv"]


@lru_cache(maxsize=1)
def _latin_identifier():  # type: ignore[no-untyped-def]
    from py3langid.langid import _load_identifier

    return _load_identifier(norm_probs=True, langs=_LATIN_LANGS)


def detect_language(text: str, default: str = "en") -> str:
    """Return an ISO 639-1 code; `default` when the text has no letters."""
    cyr = len(_CYRILLIC.findall(text))
    lat = len(_LATIN.findall(text))
    if cyr == 0 and lat == 0:
        return default
    # Russian tickets carry many Latin product names; a third of letters is enough.
    if cyr >= 0.3 * (cyr + lat):
        return "uk" if len(_UKRAINIAN_ONLY.findall(text)) >= 2 else "ru"
    if lat < 12:
        return "en"  # too short to tell Latin languages apart; English is the safe guess
    lang, _ = _latin_identifier().classify(text)
    return str(lang)
