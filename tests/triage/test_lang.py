import pytest

from triage import detect_language


@pytest.mark.parametrize(("text", "lang"), [
    ("Не работает VPN AnyConnect после обновления Windows", "ru"),
    ("1С:Бухгалтерия 8.3 не формирует отчёт по НДС", "ru"),
    ("Outlook не отправляет письма, ошибка 0x800CCC0E", "ru"),
    ("The VPN client fails with 'login failed' since this morning", "en"),
    ("Die Datenanalyse-Plattform brach unerwartet ab, da der Speicher zu gering war", "de"),
    ("El servidor no responde desde ayer y necesitamos ayuda urgente", "es"),
    ("Не працює принтер у відділі, і їх треба перевірити", "uk"),
    ("VPN down", "en"),
    ("12345 !!!", "en"),
])
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang
