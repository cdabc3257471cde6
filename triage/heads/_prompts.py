"""What to ask the escalating agent to add, per missing item, in the ticket's language."""

from __future__ import annotations

PROMPTS: dict[str, dict[str, str]] = {
    "steps_to_reproduce": {
        "ru": "Добавьте шаги воспроизведения: что именно делает пользователь, по пунктам (меню, кнопки, данные).",
        "en": "Add steps to reproduce: what exactly the user does, step by step (menus, buttons, input data)."},
    "expected_behavior": {
        "ru": "Опишите ожидаемый результат: как система должна была себя повести.",
        "en": "Describe the expected behaviour: what the system should have done."},
    "observed_behavior": {
        "ru": "Опишите фактический результат: что происходит на самом деле, точный текст ошибки или скриншот.",
        "en": "Describe the observed behaviour: what actually happens, with the exact error text or a screenshot."},
    "diagnostics": {
        "ru": "Укажите, что уже проверили: статью базы знаний, перезапуск службы/клиента, мониторинг, логи, "
              "диагностические скрипты — и с каким результатом.",
        "en": "List the diagnostics done: KB article checked, service/client restarted, dashboard, logs, "
              "diagnostic scripts — and what they showed."},
    "impact": {
        "ru": "Укажите влияние: сколько пользователей или клиентов затронуто, блокирует ли это работу, есть ли "
              "обходной путь.",
        "en": "State the impact: how many users or customers are affected, whether it blocks work, whether "
              "there is a workaround."},
    "environment": {
        "ru": "Укажите окружение: версии программ и конфигурации, ОС, рабочее место или сервер.",
        "en": "Give the environment: software and configuration versions, OS, workstation or server."},
    "suspected_module": {
        "ru": "Укажите, какой модуль или компонент вы подозреваете, и почему.",
        "en": "Name the module or component you suspect, and why."},
}


def prompt(item: str, language: str | None) -> str:
    """Russian for Russian (and other Cyrillic) tickets, English otherwise."""
    lang = "ru" if (language or "").lower() in ("ru", "uk", "be", "kk") else "en"
    return PROMPTS[item][lang]
