"""The console's two languages: the browser's choice (Accept-Language), switchable, remembered in a cookie.

Strings live here, one entry per message with both languages side by side, so a missing translation is
visible in review (and tests/api/console/test_console.py checks every key has both).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

LANGS = ("en", "ru")
DEFAULT = "en"

T: dict[str, tuple[str, str]] = {  # key -> (English, Russian)
    "title": ("Triage console", "Консоль триажа"),
    "home": ("Home", "Главная"),
    "ticket": ("Ticket", "Обращение"),
    "review": ("Review queue", "Очередь проверки"),
    "incidents": ("Incidents", "Инциденты"),
    "problems": ("Known problems", "Известные проблемы"),
    "escalations": ("Escalation quality", "Качество эскалаций"),
    "kb_gaps": ("KB gaps", "Пробелы базы знаний"),
    "model": ("Model", "Модель"),
    "api_docs": ("API docs", "Документация API"),
    "sign_in": ("Sign in", "Войти"),
    "sign_out": ("Sign out", "Выйти"),
    "key_label": ("API key", "API-ключ"),
    "key_help": ("The key an administrator gave you (`triage keys add`). It is checked once; the browser keeps "
                 "only a session cookie.", "Ключ, выданный администратором (`triage keys add`). Он проверяется "
                 "один раз, браузер хранит только cookie сессии."),
    "wrong_key": ("This key is not known. Check it, or ask an administrator for a key.",
                  "Такой ключ неизвестен. Проверьте его или попросите ключ у администратора."),
    "forbidden": ("Not allowed", "Нет доступа"),
    "forbidden_text": ("Key “{name}” has role(s) {roles}; this page needs one of: {needed}. Ask an administrator "
                       "for a key with that role.", "У ключа «{name}» роли: {roles}; для этой страницы нужна одна "
                       "из: {needed}. Попросите у администратора ключ с такой ролью."),
    "no_roles_page": ("Your key's roles open none of the console pages.",
                      "Роли вашего ключа не открывают ни одной страницы консоли."),
    "csrf_failed": ("The form expired (or came from another site). Reload the page and try again.",
                    "Форма устарела (или пришла с другого сайта). Обновите страницу и повторите."),
    "signed_in_as": ("Signed in as {name} ({roles})", "Вы вошли как {name} ({roles})"),
    "language": ("Language", "Язык"),
    "welcome": ("What would you like to do?", "Что нужно сделать?"),
    "confirm": ("Confirm", "Подтвердить"),
    "correct": ("Correct", "Исправить"),
    "correct_to": ("Correct value", "Верное значение"),
    "new_value": ("New module (not in the list)", "Новый модуль (нет в списке)"),
    "new_value_field": ("New value", "Новое значение"),
    "save": ("Save", "Сохранить"),
    "confirmed": ("Confirmed by {name}", "Подтверждено: {name}"),
    "corrected": ("Corrected to {value} by {name}", "Исправлено на {value}: {name}"),
    "not_sure": ("not sure: {options}", "не уверена: {options}"),
    "or": (" or ", " или "),
    "confidence": ("confidence", "уверенность"),
    "abstained": ("abstained", "воздержалась"),
    "evidence": ("Evidence", "Обоснование"),
    "supporting": ("Supporting tickets", "Похожие решённые обращения"),
    "weighing": ("Weighing words", "Весомые слова"),
    "owners": ("Owners", "Владельцы"),
    "field": ("Field", "Поле"),
    "module_f": ("Module", "Модуль"),
    "owner_f": ("Owner", "Исполнитель"),
    "from": ("From", "С"),
    "to": ("To", "По"),
    "filter": ("Filter", "Отобрать"),
    "pending": ("{n} awaiting review", "Ждут проверки: {n}"),
    "queue_empty": ("Nothing awaits review here.", "Здесь нечего проверять."),
    "keys_help": ("Keys: j / k next / previous, c confirm, e correct, Enter save, Esc back, ? help",
                  "Клавиши: j / k следующее / предыдущее, c подтвердить, e исправить, Enter сохранить, "
                  "Esc назад, ? справка"),
    "any": ("any", "любой"),
    "open_ticket": ("Open a ticket by id", "Открыть обращение по номеру"),
    "ticket_id": ("Ticket id", "Номер обращения"),
    "open": ("Open", "Открыть"),
    "paste_ticket": ("…or paste one", "…или вставьте текст"),
    "subject": ("Subject", "Тема"),
    "body": ("Text", "Текст"),
    "analyse": ("Analyse", "Разобрать"),
    "not_found": ("Ticket {id} is not in the history.", "Обращения {id} нет в истории."),
    "labels": ("Labels", "Метки"),
    "kb": ("Knowledge base", "База знаний"),
    "similar": ("Similar earlier tickets", "Похожие прежние обращения"),
    "answer": ("Answer", "Ответ"),
    "completeness": ("Ready for L3?", "Готово для L3?"),
    "ready": ("ready for L3", "готово для L3"),
    "not_ready": ("not ready for L3", "не готово для L3"),
    "ask": ("Ask", "Спросить"),
    "copy": ("Copy", "Копировать"),
    "copied": ("Copied", "Скопировано"),
    "problem": ("Known problem", "Известная проблема"),
    "spike": ("Spike", "Всплеск"),
    "spike_text": ("{count} in {minutes:g} min (usually {expected:.1f})", "{count} за {minutes:g} мин "
                   "(обычно {expected:.1f})"),
    "none": ("none", "нет"),
    "open_incidents": ("Open incidents", "Открытые инциденты"),
    "today": ("Incidents of the last 24 hours", "Инциденты за сутки"),
    "no_incidents": ("No incidents.", "Инцидентов нет."),
    "started": ("started", "начало"),
    "tickets": ("tickets", "обращений"),
    "last_hour": ("last hour", "за час"),
    "last_day": ("last day", "за сутки"),
    "last_week": ("last week", "за неделю"),
    "trend": ("trend", "тренд"),
    "days14": ("last 14 days", "14 дней"),
    "no_history": ("This model has no ticket history.", "У этой модели нет истории обращений."),
    "share_ready": ("Ready for L3", "Готовы для L3"),
    "share_bounced": ("Bounced back by L3", "Возвращены L3"),
    "most_missing": ("Most missing items", "Чаще всего не хватает"),
    "over_time": ("Over time", "По времени"),
    "by": ("By", "Разрез"),
    "period": ("Period", "Период"),
    "day": ("day", "день"),
    "week": ("week", "неделя"),
    "month": ("month", "месяц"),
    "agent_f": ("Agent", "Агент"),
    "escalations_n": ("{n} escalations scored", "Оценено эскалаций: {n}"),
    "no_escalations": ("No escalations scored yet.", "Эскалаций пока нет."),
    "unknown": ("not sent", "не передано"),
    "no_kb": ("No knowledge-base index is loaded (TRIAGE_KB_DIR).", "Индекс базы знаний не загружен (TRIAGE_KB_DIR)."),
    "gaps_text": ("{poor} of {n} recent tickets have no article scoring ≥ {min:.2f}; groups to write an article for:",
                  "У {poor} из {n} недавних обращений нет статьи с оценкой ≥ {min:.2f}; группы, для которых стоит "
                  "написать статью:"),
    "no_gaps": ("No gaps found.", "Пробелов не найдено."),
    "question": ("Representative question", "Типичный вопрос"),
    "closest_article": ("Closest article", "Ближайшая статья"),
    "version": ("Version", "Версия"),
    "created": ("Created", "Создана"),
    "data": ("Training data", "Данные обучения"),
    "rows": ("tickets", "обращений"),
    "metrics": ("Metrics per head", "Метрики по головам"),
    "plots": ("Plots", "Графики"),
    "registry": ("Model registry", "Реестр моделей"),
    "embedder": ("Embedder", "Эмбеддер"),
    "error": ("Error", "Ошибка"),
    "queue_item": ("Review item", "Элемент проверки"),
    "candidate": ("Candidates", "Кандидаты"),
}


def language(request: Request) -> str:
    """The remembered choice, else the browser's first supported language, else English."""
    chosen = request.cookies.get("triage_lang")
    if chosen in LANGS:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return DEFAULT


def translator(lang: str) -> Callable[..., str]:
    index = LANGS.index(lang) if lang in LANGS else 0

    def t(key: str, **values: object) -> str:
        text = T[key][index]
        return text.format(**values) if values else text

    return t
