"""`triage bot` as a real process against a stand-in Bot API: the commands, only the allowed chats, the
offset kept across a restart (nothing answered twice), and the token never in its output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from api.integrations.standins import TelegramStandin

from ..conftest import REPO
from .test_integrations_e2e import wait_for
from .test_kb_cli_api import demo_kb  # noqa: F401 - the fixture, built once for this module

TOKEN = "123456:SECRET-bot-token-for-tests"


def start(bundle: Path, kb: Path, env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "triage.cli", "bot", "--model", str(bundle), "--kb", str(kb)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log.open("a"), text=True)


def test_bot_commands_allowed_chats_and_offset(trained_bundle, demo_kb: Path, cache_dir: Path,  # type: ignore[no-untyped-def]  # noqa: F811
                                               tmp_path: Path) -> None:
    tg = TelegramStandin(token=TOKEN).serve()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRIAGE_CACHE_DIR": str(cache_dir),
           "TRIAGE_TELEGRAM_BOT_TOKEN": TOKEN, "TRIAGE_TELEGRAM_API_URL": tg.url,
           "TRIAGE_TELEGRAM_CHAT_ID": "-1001,-1002", "TRIAGE_TELEGRAM_OFFSET_FILE": str(tmp_path / "offset"),
           "TRIAGE_HISTORY_DB": str(tmp_path / "live.sqlite"), "TRIAGE_LOG_LEVEL": "debug"}
    log = tmp_path / "bot.log"
    tg.push(-1001, "/find_kb не подключается VPN, ошибка 412", thread=77)
    tg.push(-999, "/problems")  # a chat the bot does not serve
    tg.push(-1002, "hello")  # not a command
    tg.push(-1002, "/ticket T-0002")
    last = tg.push(-1002, "/problems")
    proc = start(trained_bundle.bundle, demo_kb, env, log)
    try:
        wait_for(lambda: len(tg.sent) >= 3)
        time.sleep(1.0)
        kb, ticket, problems = tg.sent
        assert len(tg.sent) == 3  # -999 and "hello" got nothing
        assert kb["chat_id"] == -1001 and kb["message_thread_id"] == 77 and "•" in kb["text"]
        assert "VPN" in kb["text"] or "vpn" in kb["text"].lower()
        assert ticket["chat_id"] == -1002 and ticket["text"].startswith("T-0002")
        assert problems["text"].startswith("•") or "проблем" in problems["text"]
        wait_for(lambda: (tmp_path / "offset").is_file() and (tmp_path / "offset").read_text() == str(last + 1))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    tg.push(-1001, "/help")
    proc = start(trained_bundle.bundle, demo_kb, env, log)
    try:
        wait_for(lambda: len(tg.sent) >= 4)
        time.sleep(1.0)
        assert len(tg.sent) == 4 and "/find_kb" in tg.sent[3]["text"]  # only the new one: nothing replayed
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        tg.stop()
    output = log.read_text()
    assert "getUpdates" in output or "bot @" in output or "Telegram gateway" in output
    assert TOKEN not in output and "SECRET-bot-token" not in output
