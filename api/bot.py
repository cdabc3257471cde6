"""`triage bot`: the Telegram gateway where duty engineers already work.

Commands: `/find_kb <question>` (the best KB articles: title, link, a one-line snippet), `/problems`
(the most active known problems), `/ticket <id>` (what the service said about a ticket), `/help`.
Only the chats in TRIAGE_TELEGRAM_CHAT_ID are answered; anything else is ignored and logged by chat id
alone. Long polling through python-telegram-bot's `Bot`, with the update offset persisted (atomically)
after each update, so a restart neither loses nor replays what was already answered. The token is never
logged: httpx's request log, which prints URLs and so the token, is held at WARNING.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from kb_index.durable import atomic_write_text
from triage import Settings, Triage
from triage.errors import TriageError

log = logging.getLogger("triage.bot")
TEXT = {
    "en": {"help": "Commands:\n/find_kb <question> — knowledge-base articles\n/problems — the most active known "
                   "problems\n/ticket <id> — what triage said about a ticket",
           "no_kb": "No knowledge base is loaded (start the bot with --kb).", "nothing": "Nothing found.",
           "ask": "Write the question after the command: /find_kb VPN disconnects",
           "no_problems": "No known problems yet.", "unknown": "Ticket {id} is not in the history.",
           "tickets": "tickets", "today": "today", "week": "7 days", "answer": "answer"},
    "ru": {"help": "Команды:\n/find_kb <вопрос> — статьи базы знаний\n/problems — самые активные известные "
                   "проблемы\n/ticket <id> — что triage сказал об обращении",
           "no_kb": "База знаний не загружена (запустите бота с --kb).", "nothing": "Ничего не найдено.",
           "ask": "Напишите вопрос после команды: /find_kb не работает VPN",
           "no_problems": "Известных проблем пока нет.", "unknown": "Обращения {id} нет в истории.",
           "tickets": "обращений", "today": "за сутки", "week": "за 7 дней", "answer": "ответ"},
}
_CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


def allowed_chats(settings: Settings) -> set[int]:
    chats = {int(c) for c in (settings.telegram_chat_id or "").split(",") if c.strip()}
    if not settings.telegram_bot_token or not chats:
        raise TriageError("the bot needs TRIAGE_TELEGRAM_BOT_TOKEN and TRIAGE_TELEGRAM_CHAT_ID (the chats it serves, "
                          "comma-separated)")
    return chats


class Gateway:
    """Answers commands from a `Triage`; `answer` is the whole logic, `run` the polling around it."""

    def __init__(self, triage: Triage, settings: Settings) -> None:
        self.triage, self.settings = triage, settings
        self.chats = allowed_chats(settings)
        self.offset_file = settings.telegram_offset_file or settings.cache_dir / "telegram.offset"

    def answer(self, text: str) -> str | None:
        """The reply to one message; None for what is not a command."""
        command, _, rest = text.strip().partition(" ")
        command = command.split("@")[0].lower()
        lang = "ru" if _CYRILLIC.search(rest) else ("en" if rest.strip() else self.settings.telegram_language)
        t = TEXT[lang]
        if command in ("/start", "/help"):
            return t["help"]
        if command == "/find_kb":
            return self._find_kb(rest.strip(), t)
        if command == "/problems":
            return self._problems(t)
        if command == "/ticket":
            return self._ticket(rest.strip(), t)
        return None

    def _find_kb(self, question: str, t: dict[str, str]) -> str:
        if not question:
            return t["ask"]
        if self.triage.kb is None:
            return t["no_kb"]
        hits = self.triage.search_kb(question[:2000], k=3)
        if not hits:
            return t["nothing"]
        lines = []
        for h in hits:
            snippet = " ".join(str(h.get("snippet") or "").split())[:160]
            lines.append(f"• {h['title']}" + (f"\n  {h['url']}" if h.get("url") else "") +
                         (f"\n  {snippet}" if snippet else ""))
        return "\n".join(lines)

    def _problems(self, t: dict[str, str]) -> str:
        recurring = self.triage.recurring
        if recurring is None:
            return t["no_problems"]
        recurring.catch_up()  # tickets the service stored since the bot started
        listing = [p for p in recurring.problem_listing() if p["tickets"]][:5]
        if not listing:
            return t["no_problems"]
        return "\n".join(f"• {p['id']} {p['title']} — {p['last_day']} {t['today']}, {p['last_week']} {t['week']} "
                         f"({p['trend']})" for p in listing)

    def _ticket(self, ticket_id: str, t: dict[str, str]) -> str:
        recurring = self.triage.recurring
        if not ticket_id or recurring is None:
            return t["unknown"].format(id=ticket_id or "?")
        recurring.catch_up()
        row = recurring.history.row_of(ticket_id[:200])
        if row is None:
            return t["unknown"].format(id=ticket_id[:200])
        info = recurring.history.details([row])[row]
        said = info["predicted"] or info["labels"]
        parts = [f"{info['ticket_id']} · {info['created_at'][:16].replace('T', ' ')}", info["subject"]]
        parts += [f"{k}: {v}" for k, v in said.items()]
        if info.get("problem_id") is not None:
            parts.append(f"P-{info['problem_id']}")
        if info.get("answer"):
            parts.append(f"{t['answer']}: {str(info['answer'])[:300]}")
        return "\n".join(p for p in parts if p)

    def read_offset(self) -> int | None:
        try:
            return int(self.offset_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def write_offset(self, offset: int) -> None:
        atomic_write_text(self.offset_file, str(offset))

    async def handle(self, bot: Any, update: Any) -> None:
        message = update.message
        if message is None or not message.text:
            return
        if message.chat.id not in self.chats:
            log.warning("message from chat %s ignored: not in TRIAGE_TELEGRAM_CHAT_ID", message.chat.id)
            return
        reply = await asyncio.to_thread(self.answer, message.text)
        if reply:
            await bot.send_message(chat_id=message.chat.id, text=reply[:4000], message_thread_id=
                                   message.message_thread_id, reply_to_message_id=message.message_id,
                                   disable_web_page_preview=True)

    async def run(self, stop: asyncio.Event | None = None, poll_timeout: int = 20) -> None:
        from telegram import Bot
        from telegram.error import NetworkError, RetryAfter, TelegramError

        logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the URL, and so the token
        redact(str(self.settings.telegram_bot_token))  # and python-telegram-bot's DEBUG lines print it too
        stop = stop or asyncio.Event()
        base = f"{self.settings.telegram_api_url.rstrip('/')}/bot"
        async with Bot(str(self.settings.telegram_bot_token), base_url=base) as bot:
            log.info("bot @%s serving %d chat(s)", bot.username, len(self.chats))
            offset = self.read_offset()
            while not stop.is_set():
                try:
                    updates = await bot.get_updates(offset=offset, timeout=poll_timeout,
                                                    allowed_updates=["message"])
                except RetryAfter as exc:
                    await asyncio.sleep(float(getattr(exc, "retry_after", 1) or 1))
                    continue
                except (NetworkError, TelegramError) as exc:
                    log.warning("getUpdates failed (%s); retrying", type(exc).__name__)
                    await asyncio.sleep(1.0)
                    continue
                for update in updates:
                    try:
                        await self.handle(bot, update)
                    except TelegramError as exc:  # the reply failed; the next update must still be read
                        log.error("reply to update %s failed: %s", update.update_id, type(exc).__name__)
                    offset = update.update_id + 1
                    self.write_offset(offset)


class _Redact(logging.Filter):
    """Replaces a secret in every record that reaches a handler, whichever library logged it."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "<bot-token>"), None
        return True


def redact(secret: str) -> None:
    """Install the redaction on the root handlers (where every propagated record is written)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    for handler in root.handlers:
        if not any(isinstance(f, _Redact) and f.secret == secret for f in handler.filters):
            handler.addFilter(_Redact(secret))
