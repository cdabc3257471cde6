#!/usr/bin/env python3
# ruff: noqa: E501  -- long lines are prose in the text material (scenarios, KB articles)
"""Generate the ILLUSTRATIVE demo data set under data/demo/.

Everything produced here is invented by the project: the company, people,
departments, tickets and knowledge-base articles are fictional.  The output is
fully deterministic (fixed seed, standard library only):

    python scripts/make_demo_data.py            # writes data/demo/
    python scripts/make_demo_data.py --out DIR  # writes elsewhere

Layout of this file:
    1. reference data (categories, modules, owners, people)
    2. phrase pools shared by all tickets (greetings, impact, signatures, ...)
    3. scenarios: the text material of every kind of problem, one block per
       language, in a tiny line format (see ``parse_block``)
    4. knowledge-base articles
    5. the generator (``Factory``) and the writers
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SEED = 20260601
TOTAL_TICKETS = 600
START = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 9, 30, 23, 59, tzinfo=dt.UTC)
MSK = dt.timezone(dt.timedelta(hours=3))
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "data" / "demo"
KB_URL = "https://wiki.example.local/kb/{slug}"

TICKET_COLUMNS = [
    "id", "created_at", "subject", "body", "language", "customer", "channel",
    "category", "priority", "module", "owner", "answer", "duplicate_of",
    "kb_article", "info_requested",
]
JIRA_COLUMNS = ["Issue key", "Summary", "Description", "Created",
                "Component/s", "Assignee", "Priority"]
PRIORITIES = ["low", "medium", "high", "critical"]
CHANNELS = ["email", "portal", "phone", "telegram"]
CHANNEL_WEIGHTS = [40, 33, 16, 11]

# ---------------------------------------------------------------------------
# 1. Reference data
# ---------------------------------------------------------------------------

CATEGORIES = [
    "Телефония", "VPN и удалённый доступ", "Сеть", "Почта", "1С и отчёты",
    "Доступ и права", "Учётные записи", "Оборудование",
]

# module -> (owners, on_duty); the first owner is the team.
OWNERS: dict[str, tuple[list[str], str | None]] = {
    "telephony/pbx-gateway": (["team-voice", "d.kozlov"], "d.kozlov"),
    "telephony/softphone": (["team-voice", "k.belov"], None),
    "network/vpn": (["team-network", "a.smirnova"], "a.smirnova"),
    "network/wifi": (["team-network", "r.gusev"], None),
    "network/lan": (["team-network", "r.gusev"], "r.gusev"),
    "mail/exchange": (["team-mail", "s.ivanova"], "s.ivanova"),
    "mail/spam-filter": (["team-mail"], None),
    "erp-1c/reports": (["team-1c", "i.petrov"], "i.petrov"),
    "erp-1c/payroll": (["team-1c", "n.fedorova"], None),
    "iam/ad-accounts": (["team-iam", "e.volkova"], "e.volkova"),
    "iam/file-shares": (["team-iam"], None),
    "hardware/printers": (["team-desktop", "m.orlov"], None),
    "hardware/laptops": (["team-desktop", "m.orlov"], "m.orlov"),
}

DEPTS_RU = [
    "Бухгалтерия", "Отдел продаж", "Склад", "HR", "Юридический отдел",
    "Маркетинг", "Логистика", "Контакт-центр", "Финансовый отдел",
    "Служба безопасности", "Закупки", "Ресепшн", "Производство", "Дирекция",
]
DEPTS_EN = ["Sales EU", "Berlin office", "Export department", "CFO office",
            "Procurement (intl)", "Dubai office"]
ROLES_RU = {
    "Бухгалтерия": ["бухгалтер", "главный бухгалтер", "бухгалтер по расчётам"],
    "Отдел продаж": ["менеджер по продажам", "руководитель группы продаж"],
    "Склад": ["кладовщик", "начальник склада"],
    "HR": ["специалист по кадрам", "HR-бизнес-партнёр"],
    "Контакт-центр": ["оператор", "старший смены"],
    "Финансовый отдел": ["экономист", "финансовый контролёр"],
}
ROLES_RU_DEFAULT = ["специалист", "ведущий специалист", "руководитель отдела",
                    "менеджер", "ассистент"]
ROLES_EN = ["Account Manager", "Sales Director", "Financial Controller",
            "Logistics Coordinator", "Office Manager", "Buyer"]
MALE_RU = ["Алексей", "Дмитрий", "Сергей", "Андрей", "Игорь", "Павел",
           "Михаил", "Николай", "Олег", "Артём", "Роман", "Евгений"]
FEMALE_RU = ["Ольга", "Мария", "Анна", "Елена", "Наталья", "Татьяна",
             "Ирина", "Светлана", "Юлия", "Екатерина", "Дарья", "Марина"]
SURNAMES_RU = ["Кузнецов", "Соколов", "Попов", "Лебедев", "Козлов",
               "Новиков", "Морозов", "Волков", "Соловьёв", "Васильев",
               "Зайцев", "Павлов", "Семёнов", "Голубев", "Виноградов",
               "Богданов", "Воробьёв", "Фёдоров", "Михайлов", "Беляев",
               "Тарасов", "Белов", "Комаров", "Орлов", "Киселёв"]
INITIALS_RU = "АВГДЕИМНОПСЮ"
NAMES_EN = ["John Miller", "Anna Schmidt", "Lukas Weber", "Sophie Müller",
            "Mark Evans", "Laura Fischer", "Tom Becker", "Julia Hoffmann",
            "Ahmed Hassan", "Priya Nair", "Oliver Brown", "Emma Wagner",
            "Mehmet Yilmaz", "Claire Dubois"]
COMPANY_RU = "ООО «Ладога Трейд»"

# ---------------------------------------------------------------------------
# 2. Phrase pools
# ---------------------------------------------------------------------------

GREET = {
    "ru": ["Добрый день!", "Здравствуйте!", "Добрый день.", "Коллеги, добрый день!",
           "Коллеги, привет!", "Привет!", "Здравствуйте, коллеги."],
    "en": ["Hi,", "Hello,", "Hi team,", "Hello IT,", "Dear support,", "Hi all,"],
}
ASK = {
    "ru": ["Помогите, пожалуйста.", "Посмотрите, пожалуйста.", "Прошу помочь.",
           "Заранее спасибо!", "Спасибо.", "Подскажите, что делать?",
           "Прошу разобраться."],
    "en": ["Could you please take a look?", "Thanks in advance!", "Please help.",
           "Any ideas?", "Thanks."],
}
ASK_URGENT = {
    "ru": ["Просьба решить срочно!", "Очень срочно, пожалуйста.",
           "Нужно решить до конца дня.", "Прошу взять в работу в приоритете."],
    "en": ["This is urgent, please.", "Need this fixed today.",
           "Please treat as high priority."],
}
IMPACT = {  # generic impact wording; priority drives the choice
    "ru": {
        "critical": [
            "не работает у всего отдела ({n} человек)",
            "стоит работа всего отдела, {n} человек не могут работать",
            "затронуты все пользователи офиса",
            "полностью блокирует работу отдела",
        ],
        "high": [
            "не работает у {n} сотрудников",
            "руководитель отдела не может работать",
            "мешает работе всего отдела, обходного пути нет",
            "срочно, нужно решить до {h}:00",
        ],
        "medium": [
            "мешает работе, но есть обходной путь",
            "затронут один сотрудник",
            "неудобно, приходится делать вручную",
            "работать можно, но очень медленно",
        ],
        "low": [
            "не срочно", "не срочно, можно в течение недели", "когда будет время",
            "не горит, просто неудобно",
        ],
    },
    "en": {
        "critical": [
            "the whole team ({n} people) is blocked",
            "all users in the office are affected",
            "nobody in the department can work",
        ],
        "high": [
            "{n} people affected", "our director cannot work",
            "blocks the whole team, no workaround", "needs to be fixed by {h}:00",
        ],
        "medium": [
            "annoying but there is a workaround", "only me affected",
            "slows me down but I can still work",
        ],
        "low": ["not urgent", "no rush, sometime this week", "low priority, just annoying"],
    },
}
IMPACT_FAMILY = {  # extra, domain-specific impact wording
    "ru": {
        "telephony": {"critical": ["клиенты не могут до нас дозвониться, теряем заказы"],
                      "high": ["теряем звонки клиентов"],
                      "medium": ["пока звоню с мобильного"]},
        "network": {"critical": ["все удалённые сотрудники без почты и 1С"],
                    "high": ["не могу работать из дома"]},
        "mail": {"critical": ["клиенты не получают счета и договоры"],
                 "high": ["не уходят письма клиентам"],
                 "medium": ["пока работаю через веб-почту"]},
        "erp-1c": {"critical": ["блокирует закрытие месяца",
                                "под угрозой срок сдачи отчётности в ФНС"],
                   "high": ["к {h}:00 нужен отчёт для директора",
                            "тормозит закрытие месяца"]},
        "hardware": {"high": ["сорвётся встреча с клиентом"],
                     "medium": ["печатаю пока на соседнем принтере"]},
    },
    "en": {
        "telephony": {"critical": ["customers cannot reach us, we are losing orders"]},
        "network": {"high": ["I can't work from home"]},
        "mail": {"medium": ["using webmail for now"]},
        "erp-1c": {"critical": ["month-end closing is at risk"],
                   "high": ["I need this for a board report at {h}:00"]},
        "hardware": {"high": ["a customer meeting is at risk"]},
    },
}
IMPACT_PROB = {"critical": 0.9, "high": 0.75, "medium": 0.4, "low": 0.45}
SUBJECT_PREFIX = {
    "ru": {"critical": ["СРОЧНО: ", "Срочно! ", "!!! ", "Авария: "],
           "high": ["Срочно: ", "Важно: "], "low": ["Не срочно: ", "Вопрос: "]},
    "en": {"critical": ["URGENT: ", "P1: "], "high": ["Urgent: "],
           "low": ["Low prio: ", "Question: "]},
}
SUBJECT_PREFIX_PROB = {"critical": 0.35, "high": 0.12, "medium": 0.0, "low": 0.08}
STRUCT_LABELS = {
    "ru": {"steps": "Шаги воспроизведения:", "exp": "Ожидаемый результат:",
           "act": "Фактический результат:", "checked": "Что проверили:",
           "impact": "Влияние:", "env": "Окружение:", "desc": "Описание:",
           "more": "Подробности:"},
    "en": {"steps": "Steps to reproduce:", "exp": "Expected:", "act": "Actual:",
           "checked": "What we checked:", "impact": "Impact:",
           "env": "Environment:", "desc": "Description:", "more": "Details:"},
}
ENV = {
    "telephony": {
        "ru": ["АТС Asterisk 18, шлюз Grandstream GXW4216, софтфон MicroSIP 3.21.3",
               "MicroSIP 3.21.3, Windows 10 22H2, гарнитура Jabra Evolve 20",
               "IP-телефон Yealink T46U, прошивка 66.86.0.15"],
        "en": ["Asterisk 18 PBX, MicroSIP 3.21.3, Windows 11 23H2",
               "Yealink T46U desk phone, firmware 66.86"]},
    "network": {
        "ru": ["Cisco AnyConnect 4.10.07061, Windows 11 23H2",
               "Windows 10 22H2, Wi-Fi адаптер Intel AX201",
               "домашний роутер Keenetic, провайдер Ростелеком, AnyConnect 4.10"],
        "en": ["Cisco AnyConnect 4.10.07061, Windows 11 23H2",
               "ThinkPad T14, Intel AX201, home router (Vodafone DSL)"]},
    "mail": {
        "ru": ["Outlook 2019 (16.0.10406), Exchange 2019 CU13",
               "Outlook для Microsoft 365, версия 2408, Windows 11",
               "iPhone 13, iOS 17.5, стандартное приложение «Почта»"],
        "en": ["Outlook 2019 (16.0.10406), Exchange 2019 CU13",
               "Outlook for Microsoft 365, version 2408"]},
    "erp-1c": {
        "ru": ["1С:Бухгалтерия 8.3.22, Windows 10, клиент тонкий",
               "1С:Предприятие 8.3.23.1865, БП 3.0.150, сервер 1С + MS SQL 2019",
               "1С:УТ 11.5, веб-клиент, Chrome 127"],
        "en": ["1C:Enterprise 8.3.23, thin client, Windows 11",
               "1C:Trade Management 11.5, web client, Chrome 127"]},
    "erp-1c/payroll": {
        "ru": ["1С:ЗУП 3.1.27, тонкий клиент через RDP",
               "1С:Зарплата и управление персоналом 3.1.27, платформа 8.3.23.1865"],
        "en": ["1C:Payroll 3.1.27, thin client over RDP"]},
    "iam": {
        "ru": ["Windows 10 22H2, домен corp.local",
               "Windows 11, файловый сервер fs01 (Windows Server 2019)"],
        "en": ["Windows 11 23H2, domain corp.local"]},
    "hardware": {
        "ru": ["HP LaserJet Pro M428fdw, универсальный драйвер PCL6",
               "Lenovo ThinkPad T14 Gen 3, Windows 11 23H2",
               "Kyocera ECOSYS M2540dn, сервер печати print01"],
        "en": ["Lenovo ThinkPad T14 Gen 3, Windows 11 23H2",
               "HP LaserJet Pro M428fdw, print server print01"]},
}
CHECKED = {
    "ru": {
        "_": ["перезагрузили компьютер",
              "проверили по базе знаний — подходящей статьи не нашли",
              "у коллеги на соседнем ПК то же самое", "повторили через час — то же",
              "проверили на другом компьютере"],
        "telephony": ["перезапустили софтфон", "проверили с IP-телефона"],
        "network": ["переподключили VPN", "проверили через мобильный интернет"],
        "mail": ["проверили в веб-почте", "запустили Outlook в безопасном режиме"],
        "erp-1c": ["перезапустили сеанс 1С", "проверили в копии базы",
                   "очистили кэш клиента 1С"],
        "iam": ["вышли и зашли в систему", "проверили членство в группах"],
        "hardware": ["перезагрузили устройство", "переподключили кабель"],
    },
    "en": {
        "_": ["rebooted the PC", "checked the KB, nothing relevant",
              "a colleague has the same issue", "tried again an hour later"],
        "telephony": ["restarted the softphone"],
        "network": ["reconnected the VPN", "tried via mobile hotspot"],
        "mail": ["checked webmail", "started Outlook in safe mode"],
        "erp-1c": ["restarted the 1C session", "cleared the 1C client cache"],
        "iam": ["logged off and on again"],
        "hardware": ["power-cycled the device", "reseated the cable"],
    },
}
CONTEXT = {  # neutral extra sentences that make bodies longer and less uniform
    "incident": {
        "ru": ["Началось сегодня утром.", "Вчера всё работало.",
               "Такое уже было пару недель назад, тогда само прошло.",
               "Скриншот во вложении.", "Скриншот ошибки прикладываю.",
               "Если нужно, могу показать на своём компьютере.",
               "Началось примерно час назад."],
        "en": ["Started this morning.", "It worked yesterday.", "Screenshot attached.",
               "Happy to show it on a quick call.", "Started about an hour ago."],
    },
    "any": {
        "ru": ["Звонить можно на вн. {ext}.", "Я на месте до 18:00.",
               "Если что-то непонятно — пишите.", "Заранее благодарю за помощь!"],
        "en": ["I'm available until 6 pm CET.", "Call me on ext. {ext} if needed."],
    },
}
PROPER_WORDS = {"I", "Outlook", "Excel", "Windows", "Jabra", "Zoom", "Telegram"}
PHONE_INTRO = {
    "ru": ["Звонок на линию поддержки ({cust}).", "Обращение по телефону, принял L1.",
           "Пользователь позвонил на 1234 ({cust}).", "Входящий звонок, абонент: {cust}."],
    "en": ["Phone call to the service desk ({cust}).", "User called the hotline."],
}
PHONE_LEAD = {"ru": ["Со слов пользователя:", "Пользователь сообщает:", "Суть:"],
              "en": ["User reports:", "Reported:"]}
PHONE_TAIL = {
    "any": {"ru": ["Просит перезвонить по готовности.", "Контакт: вн. {ext}."],
            "en": ["Please call back on ext. {ext}."]},
    "incident": {"ru": ["Перезагрузка не помогла, передаю на L2.",
                        "Проверил по базе знаний — не помогло.",
                        "Удалённо подключиться не удалось."],
                 "en": ["Restart didn't help, escalating to L2.", "Checked the KB, no luck."]},
}
TG_PREFIX = {"ru": ["", "", "привет! ", "коллеги, ", "добрый день, ", "ребят, "],
             "en": ["", "hi, ", "hey team, "]}
TG_SUFFIX = {"ru": ["", "", " 🙏", " помогите плз"], "en": ["", " pls help", " thx"]}
TG_URGENT = {"ru": [" срочно!!", " горит"], "en": [" urgent!!", " asap pls"]}
KB_REF = {
    "ru": ["См. статью базы знаний {kb}.", "Инструкция: {kb}.",
           "Отправили пользователю статью {kb}."],
    "en": ["See KB article {kb}.", "Sent the user the KB guide {kb}."],
}
CLOSERS = {
    "ru": ["Пользователь подтвердил, что всё работает.", "Заявку закрываем.",
           "Если повторится — создайте новую заявку со ссылкой на эту.",
           "Проверили вместе с пользователем."],
    "en": ["User confirmed it works.", "Closing the ticket.",
           "If it happens again, please reopen."],
}
INFO_PREFIX = {
    "ru": ["L3 вернула на уточнение: не хватает данных — {what}.",
           "Запросили у пользователя {what}.",
           "Недостаточно информации для диагностики, запросили {what}."],
    "en": ["Bounced back by L3: missing {what}.", "Asked the user for {what}."],
}
INFO_AFTER = {"ru": ["После ответа пользователя:", "Уточнение получено.",
                     "По уточнённым данным:"],
              "en": ["After the user replied:", "With the details provided:"]}
INFO_NO_REPLY = {
    "ru": ["Пользователь не ответил в течение 3 рабочих дней, заявка закрыта.",
           "Ответа не получено, закрыто по таймауту."],
    "en": ["No reply from the user within 3 working days, closed.",
           "Closed due to no response."],
}
INFO_WHAT = {
    "ru": {"telephony": "номер, с которого звонили, куда звонили и точное время",
           "network": "где именно (кабинет, розетка или адрес подключения), точное время и текст ошибки",
           "mail": "скриншот ошибки, время отправки и адрес отправителя/получателя",
           "erp-1c": "какой именно отчёт, за какой период, в какой базе и полный текст ошибки",
           "iam": "логин, точный путь к ресурсу и текст ошибки",
           "hardware": "инвентарный номер, расположение и что показывает экран устройства"},
    "en": {"telephony": "the calling/called number and exact time",
           "network": "the location or connection type, exact time and the error text",
           "mail": "an error screenshot, time sent and sender/recipient address",
           "erp-1c": "which report, period, database and the full error text",
           "iam": "the username, exact resource path and error text",
           "hardware": "the asset number, location and what the device display shows"},
}
GENERIC_DUP = {
    "ru": ["Дубликат {orig}, решение — в исходной заявке.",
           "Закрыто как дубликат {orig} (тот же вопрос).",
           "Объединено с {orig}, работы ведутся там."],
    "en": ["Duplicate of {orig}, handled there.", "Closed as a duplicate of {orig}."],
}
FOLLOW_UP = {
    "ru": ["Добрый день! Пишу повторно по вопросу «{subj}»: проблема сохраняется, прошу ускорить.",
           "Напоминаю про свою заявку «{subj}». Есть новости? {detail}",
           "Коллеги, вчера писал(а) про «{subj}», до сих пор не решено. {detail}"],
    "en": ["Following up on \"{subj}\" — still not working, any update?",
           "Hi, I reported \"{subj}\" yesterday and it's still broken. {detail}"],
}
FOLLOW_UP_SUBJ = {"ru": ["RE: {subj}", "Повторно: {subj}", "{subj} (повторно)"],
                  "en": ["RE: {subj}", "Follow-up: {subj}"]}

# ---------------------------------------------------------------------------
# 3. Scenarios
#
# A scenario is one kind of problem (category + owning module).  Its text
# material is written per language as "KEY: value" lines:
#   S subject        Y symptom sentence     D detail / error message
#   P reproduction step (in order)          E expected       A actual
#   R resolution (answer of L2/L3)          X answer of a duplicate ({orig})
#   V vague ticket "subject || body" that L3 typically bounces back
#   Q what L3 asks for when it bounces a vague ticket back
#   N environment line (else a generic one for the module)
# A line "---" starts a VARIANT: one concrete cause with its own symptoms,
# details and resolution, so that body and answer always agree.  Lines before
# the first "---" are shared by all variants (S, Y, D are added to the
# variant's own; R, P, E, A are used only when the variant has none).
# V, X and Q are always shared.
# ---------------------------------------------------------------------------

CONCAT_KEYS = ("S", "Y", "D")
SHARED_ONLY_KEYS = ("V", "X", "Q")


def parse_block(text: str) -> dict:
    """Parse a language block into {"shared": {...}, "variants": [{...}, ...]}."""
    shared: dict[str, list[str]] = {}
    variants: list[dict[str, list[str]]] = []
    current = shared
    for raw in text.strip().splitlines():
        line = raw.strip()
        if not line:
            continue
        if line == "---":
            current = {}
            variants.append(current)
            continue
        key, sep, value = line.partition(": ")
        if not sep or len(key) > 1:
            raise ValueError(f"bad scenario line: {raw!r}")
        target = shared if key in SHARED_ONLY_KEYS else current
        target.setdefault(key, []).append(value.strip())
    return {"shared": shared, "variants": variants or [{}]}


def merge_variant(shared: dict, variant: dict) -> dict:
    out = dict(shared)
    for key, values in variant.items():
        out[key] = values + shared.get(key, []) if key in CONCAT_KEYS else values
    return out


@dataclass
class Scenario:
    key: str
    category: str
    module: str
    weight: float
    prio: tuple[int, int, int, int]  # weights for low, medium, high, critical
    texts: dict[str, dict]
    kb: str = ""
    cust: tuple[str, ...] = ()
    request: bool = False  # a service request rather than an incident
    alt: tuple[str, float] | None = None  # (other category, share) some agents choose

    @property
    def family(self) -> str:
        return self.module.split("/")[0]

    def n_variants(self, lang: str) -> int:
        return len(self.texts[lang]["variants"])

    def view(self, lang: str, variant: int) -> dict[str, list[str]]:
        block = self.texts[lang]
        return merge_variant(block["shared"], block["variants"][variant])


def scn(key, category, module, weight, prio, ru, en="", kb="", cust=(), request=False,
        alt=None):
    texts = {"ru": parse_block(ru)}
    if en.strip():
        texts["en"] = parse_block(en)
    sc = Scenario(key, category, module, weight, prio, texts, kb, tuple(cust), request, alt)
    for lang in texts:
        for i in range(sc.n_variants(lang)):
            view = sc.view(lang, i)
            missing = [k for k in ("S", "Y") if k not in view]
            if "R" not in view and "X" not in view:
                missing.append("R")
            if "P" in view and ("E" in view) != ("A" in view):
                missing.append("E/A")
            if missing:
                raise ValueError(f"scenario {key}/{lang}/variant {i}: missing {missing}")
    return sc


SCENARIOS: list[Scenario] = [
    # ------------------------------------------------------------ telephony
    scn("pbx_inbound", "Телефония", "telephony/pbx-gateway", 3, (0, 4, 4, 2), r"""
S: Не проходят входящие звонки
S: Клиенты не могут дозвониться
D: Исходящие при этом работают нормально, проблема только с входящими.
V: Телефония || Звонки не проходят, посмотрите
V: Проблема со связью || у нас опять что-то с телефоном
Q: номер, на который звонили, номер звонящего, точное время и что слышит клиент
---
S: Клиенты не могут дозвониться на 8-800
Y: С утра входящие звонки на многоканальный номер не доходят до операторов, у клиентов короткие гудки.
Y: Клиенты жалуются, что не могут до нас дозвониться: короткие гудки или «абонент недоступен».
D: В логах софтфона вижу ответ SIP 503 Service Unavailable.
D: Мобильный оператор клиента пишет «абонент недоступен», хотя линия свободна.
R: Провайдер сменил IP-адрес своего SBC, а на нашем шлюзе в белом списке остался старый адрес — отсюда SIP 503. Обновили настройки транка и ACL, звонки проходят.
---
S: Входящие на многоканальный номер сбрасываются
Y: После приветствия IVR и выбора пункта меню звонок обрывается.
Y: Входящий звонок после голосового меню уходит в тишину и через 30 секунд сбрасывается.
D: Вчера вечером меняли голосовое меню.
P: Позвонить с мобильного на +7 (495) 123-45-67
P: Выбрать в голосовом меню «1 — отдел продаж»
P: Дождаться соединения с оператором
E: звонок распределяется на свободного оператора группы 200
A: после выбора пункта меню тишина, через 30 секунд сброс
R: Ошибка в маршруте входящих после изменения IVR: пункт «1» вёл на несуществующую очередь 210. Исправили маршрут на очередь 200, проверили звонком с мобильного.
---
Y: Часть входящих звонков сбрасывается, примерно каждый третий, особенно в часы пик.
Y: Днём некоторые клиенты слышат короткие гудки, хотя операторы свободны.
D: Проблема плавающая, утром почти не проявляется.
R: На шлюзе закончились каналы в транке провайдера из-за зависших сессий. Сбросили зависшие SIP-диалоги, выставили session-timer 1800 с, входящие проходят. Добавили мониторинг занятых каналов.
---
S: Звонки обрываются при переводе на оператора
Y: При переводе звонка с ресепшн на внутренний номер связь обрывается.
Y: Когда оператор переводит клиента на менеджера, звонок сбрасывается.
R: После обновления шлюз перестал корректно обрабатывать перевод через SIP REFER. Включили перевод средствами АТС, переводы работают, проверили с ресепшн.
""", r"""
S: Inbound calls not coming through
S: Customers can't reach the sales hotline
V: Phones || phones weird again, customers complaining
---
Y: Since this morning callers get a busy tone on our main number, outbound calls still work.
D: The softphone log shows SIP 503 Service Unavailable on the INVITE.
R: The carrier rotated the IP of their SBC and our gateway ACL still had the old address, hence the 503s. Updated the trunk peer and ACL; test calls from mobile go through.
---
Y: Inbound calls to the Sales EU hotline drop right after the IVR greeting.
P: Call +49 30 1234 5670 from a mobile
P: Press 2 for sales
E: the call is routed to a free agent
A: silence for ~30 seconds, then the call is dropped
R: After yesterday's menu change the IVR option for sales pointed to a non-existent queue. Fixed the route; a test call reaches an agent.
---
Y: Roughly every third inbound call is dropped during peak hours.
R: Stuck SIP dialogs exhausted the trunk channels. Cleared them and set session timers to 1800 s; inbound calls are routed normally again.
""", kb="pbx-sip-errors.md", cust=("Контакт-центр", "Отдел продаж", "Ресепшн")),

    scn("pbx_audio", "Телефония", "telephony/pbx-gateway", 2, (1, 5, 3, 0), r"""
V: Связь || плохо слышно при звонках
---
S: Не слышно собеседника
S: Односторонняя слышимость при звонках
Y: При исходящих звонках на мобильные номера меня не слышат, я собеседника слышу нормально.
D: На внутренних звонках всё нормально, проблема только с городскими и мобильными.
R: RTP-трафик шёл через NAT без правильного внешнего адреса на шлюзе, поэтому голос уходил в одну сторону. Прописали externip и диапазон RTP 10000–20000 на межсетевом экране, проверили звонком на мобильный.
---
S: Пропадает звук во время разговора
Y: Во время разговора каждые несколько минут пропадает звук на 2–3 секунды.
D: Началось после переезда в кабинет 305.
R: Потери пакетов на коммутаторе этажа из-за рассогласования дуплекса на порту телефона. Зафиксировали 100/Full, включили QoS для голосового VLAN, звук стабильный.
---
S: Эхо при звонках на мобильные
Y: Собеседник слышит сильное эхо и свой же голос с задержкой.
D: Звоню через софтфон, гарнитура Jabra; на другой гарнитуре то же самое.
R: Эхо из-за кодека G.729 на транке и громкости гарнитуры. Переключили транк на G.711 alaw, в софтфоне включили эхоподавление.
""", r"""
V: call quality || calls are bad
---
S: One-way audio on outbound calls
Y: When I call mobile numbers the other party can't hear me, I can hear them fine.
D: Internal calls are fine, only external ones are affected.
R: RTP was NATed without the correct external address on the gateway, so audio went one way only. Set externip and opened RTP 10000-20000 on the firewall; verified with a test call.
---
S: Audio drops during calls
Y: Audio cuts out for a couple of seconds every few minutes during calls.
D: I'm using the softphone over VPN from home.
R: Packet loss on the VPN tunnel caused the dropouts. Enabled split tunnelling for voice and QoS marking; call quality is stable now.
"""),

    scn("pbx_ivr", "Телефония", "telephony/pbx-gateway", 1, (5, 3, 1, 0), r"""
D: Согласовано с руководителем отдела.
---
S: Изменить приветствие IVR на праздники
Y: Просим заменить приветствие в голосовом меню на праздничное с 1 по 4 сентября, аудиофайл приложен.
D: Файл в формате WAV, 8 кГц, моно, как требовалось в прошлый раз.
D: После 5 сентября вернуть обычное приветствие.
R: Загрузили новый аудиофайл в IVR, настроили расписание на 1–4 сентября, после этого автоматически вернётся стандартное приветствие.
---
S: Настроить переадресацию на мобильный
Y: Нужно на время отпуска настроить переадресацию номера 214 на мобильный +7 916 000-00-14.
R: Переадресация на мобильный настроена правилом «недоступен/не отвечает 20 с». Звонки на мобильные тарифицируются на отдел.
---
S: Добавить пункт в голосовое меню
Y: Просим добавить в голосовое меню пункт «3 — сервисный центр» с переводом на группу 330.
R: Добавили пункт 3 в меню с маршрутом на очередь 330, проверили тестовым звонком.
""", cust=("Контакт-центр", "Маркетинг", "Дирекция"), request=True),

    scn("pbx_recording", "Телефония", "telephony/pbx-gateway", 1, (1, 5, 3, 1), r"""
S: Не сохраняются записи разговоров
Q: за какую дату и по каким номерам нет записей
V: записи || не работают записи звонков
S: Записи звонков контакт-центра не воспроизводятся
D: Записи нужны для разбора жалобы клиента, срок ответа — завтра.
---
Y: В интерфейсе записи разговоров за вчерашний день пустые файлы, длительность 0:00.
D: За прошлую неделю записи есть, проблема с понедельника.
R: Закончилось место на разделе /var/spool/asterisk/monitor, запись не велась. Перенесли архив старше 90 дней на файловый сервер, настроили ротацию и мониторинг свободного места. Записи за вчера восстановить нельзя.
---
Y: Руководитель контакт-центра не может прослушать записи звонков, в отчёте «Файл не найден».
R: Сетевой ресурс с записями отвалился после смены пароля сервисной учётной записи. Обновили пароль в /etc/fstab, перемонтировали, записи воспроизводятся.
""", cust=("Контакт-центр",)),

    scn("softphone_register", "Телефония", "telephony/softphone", 3, (1, 6, 3, 0), r"""
S: Софтфон не регистрируется
Q: внутренний номер, текст ошибки из софтфона и откуда вы работаете (офис/VPN)
S: Не работает программный телефон
S: Не могу звонить с компьютера
Y: Программный телефон показывает «Registration failed» и не даёт звонить.
Y: Не могу ни позвонить, ни принять звонок с софтфона, внутренний номер 2147.
P: Запустить MicroSIP
P: Дождаться регистрации аккаунта
P: Набрать любой внутренний номер
E: аккаунт зарегистрирован, звонок проходит
V: Телефон на компе || софтфон опять не работает
---
S: MicroSIP: ошибка регистрации 408
Y: После переустановки Windows MicroSIP не подключается, статус красный.
D: Ошибка в логе: 408 Request Timeout.
A: статус «Registration failed (408)», звонок не начинается
R: В настройках софтфона был указан старый адрес сервера pbx-old.corp.local. Исправили на pbx.corp.local, регистрация прошла, тестовый звонок успешен.
---
Y: После переноса номера на новый ноутбук софтфон не регистрируется.
D: При регистрации ошибка 403 Forbidden.
A: «Registration failed (403 Forbidden)»
R: SIP-пароль сбросился при переносе номера, отсюда 403. Сгенерировали новый пароль, обновили профиль в MicroSIP, работает.
---
Y: Из дома софтфон не регистрируется, в офисе всё работает.
D: Работаю через VPN, почта и 1С при этом открываются.
D: Ошибка в логе: 408 Request Timeout.
A: статус «Registration failed (408)»
R: Через VPN не проходил UDP 5060: подсеть АТС не входила в split tunnel. Добавили подсеть АТС в туннель, софтфон регистрируется из дома.
""", r"""
S: Softphone won't register
Q: your extension, the softphone error text and whether you are on VPN
S: Can't make calls from my laptop
Y: The softphone shows "Registration failed" and I can't make or receive calls.
P: Start the softphone
P: Wait for the account to register
P: Dial any internal extension
E: the account registers and the call connects
A: "Registration failed (408)", the call never starts
V: softphone || softphone issue again, pls check
---
Y: My softphone extension 2311 stopped working after the laptop was reimaged.
D: The log says 408 Request Timeout.
R: The profile pointed to the decommissioned pbx-old.corp.local. Changed the server to pbx.corp.local; registration and a test call succeeded.
---
Y: The softphone registers in the office but not from home over VPN.
D: Email and 1C work over the same VPN.
R: UDP 5060 was not included in the VPN split tunnel. Added the PBX subnet to the tunnel; the softphone registers from home now.
""", kb="softphone-setup.md", cust=("Отдел продаж", "Контакт-центр")),

    scn("softphone_new", "Телефония", "telephony/softphone", 2, (6, 3, 0, 0), r"""
S: Выдать внутренний номер новому сотруднику
S: Настроить софтфон новому менеджеру
S: Нужен внутренний номер
Y: С понедельника выходит новый менеджер, Соколова Мария, нужен внутренний номер и настроенный софтфон.
Y: Прошу выделить внутренний номер и добавить в группу вызова отдела продаж сотрудника Лебедева А.
D: Учётная запись в AD уже создана.
D: Номер желательно из диапазона 21xx, как у остальных в отделе.
R: Выделили номер 2158, добавили в группу вызова 200, выслали сотруднику инструкцию по настройке софтфона. Проверили звонок.
R: Создан номер 2163, профиль MicroSIP настроен удалённо, номер добавлен в справочник.
""", r"""
S: New extension for a new hire
Y: We have a new account manager starting on Monday, please create an extension and set up the softphone.
D: The AD account already exists.
R: Created extension 2320, added it to the Sales EU hunt group and sent the softphone setup guide. Test call OK.
""", kb="softphone-setup.md", cust=("Отдел продаж", "HR"), request=True),

    scn("headset", "Оборудование", "telephony/softphone", 1, (3, 5, 1, 0), r"""
V: гарнитура || гарнитура не работает
---
S: Гарнитура не определяется
Y: Гарнитура Jabra не определяется в софтфоне, звук идёт через динамики ноутбука.
D: В Windows устройство видно, а в списке устройств софтфона его нет.
R: В софтфоне было выбрано устройство «По умолчанию», а в Windows по умолчанию стояли динамики. Выбрали Jabra явно для микрофона и динамиков, работает.
---
S: Не работает гарнитура
S: Заменить гарнитуру
Y: Сломался микрофон на гарнитуре, собеседники меня не слышат.
Y: У гарнитуры оторвался провод, нужна замена.
D: На другом ноутбуке гарнитура тоже не работает.
R: Гарнитура неисправна, выдали новую Jabra Evolve 20 со склада ИТ, старую списали.
""", r"""
S: Headset not working
Y: My headset is not detected by the softphone, sound goes through the laptop speakers.
R: The softphone used "Default device" while Windows defaulted to the speakers. Selected the headset explicitly for mic and speaker.
""", cust=("Контакт-центр",), alt=("Телефония", 0.3)),

    # ------------------------------------------------------------ VPN
    scn("vpn_login", "VPN и удалённый доступ", "network/vpn", 3, (1, 6, 3, 1), r"""
S: Не подключается VPN
S: AnyConnect: login failed
S: Ошибка входа в VPN
Q: версию AnyConnect, точное время попытки и скриншот ошибки
Y: При подключении к VPN AnyConnect выдаёт «Login failed», хотя пароль точно правильный.
D: Сообщение: «AnyConnect: login failed».
P: Открыть Cisco AnyConnect
P: Подключиться к vpn.company.ru
P: Ввести логин, пароль и код MFA
E: подключение устанавливается
A: «Login failed», окно входа появляется снова
V: VPN || впн не работает
V: Удалёнка || не могу зайти удалённо
---
S: Не могу зайти в VPN из дома
Y: С сегодняшнего дня VPN не пускает, пишет, что логин неверный. В почту через веб захожу с тем же паролем нормально.
D: На прошлой неделе меня перевели в другой отдел.
R: Учётная запись не состояла в группе VPN-Users после перевода в другой отдел. Добавили в группу, подключение работает.
---
Y: После смены пароля VPN не пускает, а после нескольких попыток перестал пускать и в Windows.
D: Пароль меняла в пятницу по требованию системы.
R: В профиле AnyConnect был сохранён старый пароль, после нескольких попыток учётку заблокировало. Разблокировали, удалили сохранённые учётные данные, подключились.
---
Y: Ввожу логин и пароль, подтверждение MFA не приходит, и снова окно входа.
D: Недавно поменял телефон.
R: MFA-приложение было привязано к старому телефону. Перепривязали токен, пользователь подключился.
""", r"""
S: VPN login failed
Q: the AnyConnect version, exact time of the attempt and a screenshot
S: Cannot connect to VPN from home
Y: AnyConnect keeps saying "Login failed" although my password is correct.
D: Error: "AnyConnect: login failed".
P: Open Cisco AnyConnect
P: Connect to vpn.company.ru
P: Enter username, password and MFA code
E: the tunnel is established
A: "Login failed", the login prompt comes back
V: VPN || VPN glitchy
V: VPN || vpn not working again
---
Y: I can log into webmail with the same password, only the VPN fails.
D: I moved from the Export team to Sales EU last week.
R: The account was missing from the VPN-Users group after the department transfer. Added it back; the user connects fine.
---
Y: After a few VPN attempts my Windows account got locked as well.
D: I changed my password on Friday.
R: The old password was cached in the AnyConnect profile and locked the account after retries. Unlocked, cleared saved credentials, connected.
""", kb="vpn-anyconnect-errors.md"),

    scn("vpn_setup", "VPN и удалённый доступ", "network/vpn", 2, (5, 4, 0, 0), r"""
S: Нужен удалённый доступ
---
S: Установить VPN-клиент на новый ноутбук
Y: Прошу предоставить удалённый доступ на время командировки с 12 по 20 число.
Y: Нужно установить и настроить VPN на новом ноутбуке, без него не могу работать с почтой и 1С из дома.
D: Заявка согласована руководителем отдела, письмо во вложении.
R: Добавили в группу VPN-Users, установили Cisco AnyConnect и выслали инструкцию по настройке VPN. Проверили подключение.
---
S: Настроить VPN на домашнем компьютере
Y: Подскажите, как настроить VPN на личном ноутбуке? Руководитель согласовал удалённую работу по пятницам.
D: Ноутбук личный, Windows 11 Home.
R: На личные устройства VPN не устанавливаем по политике ИБ. Согласовали выдачу корпоративного ноутбука, настроили VPN на нём.
""", r"""
S: Need VPN access
S: Set up VPN on new laptop
Y: Please set up VPN access for me, I'll be working from the Berlin office next week.
Y: Could you install the VPN client on my new laptop? I need email and 1C from home.
D: My manager approved it, see the email below.
R: Added to VPN-Users, installed AnyConnect and sent the VPN setup guide. Connection tested.
R: Installed AnyConnect 4.10 via SCCM and imported the corporate profile; connection verified with the user.
""", kb="vpn-setup.md", request=True),

    scn("vpn_drops", "VPN и удалённый доступ", "network/vpn", 2, (1, 5, 3, 0), r"""
S: VPN постоянно отключается
S: Разрывы VPN-соединения
Q: версию AnyConnect, способ подключения к интернету и время разрывов
Y: VPN отключается каждые 10–15 минут, при этом рвётся сессия 1С и Outlook переходит в «Отключено».
D: Домашний интернет стабильный, видео в Zoom не прерывается.
V: впн || VPN какой-то нестабильный
---
Y: Работаю из дома, VPN обрывается несколько раз в час, приходится заново открывать 1С.
D: Дома роутер провайдера, подключение PPPoE.
R: Проблема в MTU на домашнем роутере пользователя (PPPoE). Уменьшили MTU в профиле AnyConnect до 1300, разрывы прекратились.
---
S: Обрывается VPN каждые 10 минут
Y: VPN отключается ровно через 10 минут, если не работать с почтой и 1С.
R: В групповой политике по ошибке стоял idle-timeout 10 минут. Увеличили до 30 минут и включили DTLS, пользователь подтвердил, что разрывов больше нет.
---
Y: VPN отваливается, в логе AnyConnect: «The VPN connection was disconnected due to the loss of the network interface».
D: Подключаюсь по Wi-Fi, ноутбук работает от батареи.
R: Wi-Fi адаптер ноутбука уходил в энергосбережение. Отключили экономию энергии для адаптера, обновили драйвер Intel AX201, соединение стабильное.
""", r"""
S: VPN keeps disconnecting
Q: the AnyConnect version, how you connect to the internet and when it drops
S: VPN drops every few minutes
Y: The VPN disconnects every 10-15 minutes and my Outlook and 1C sessions drop with it.
V: VPN || VPN glitchy, please check
---
D: My home router uses PPPoE.
R: MTU issue on the user's home router (PPPoE). Lowered MTU in the AnyConnect profile to 1300; no more drops.
---
Y: The VPN drops after exactly 10 minutes if I don't actively use it.
R: The group policy had a 10-minute idle timeout by mistake. Increased it to 30 minutes and enabled DTLS; confirmed stable.
""", kb="vpn-anyconnect-errors.md"),

    scn("rdp", "VPN и удалённый доступ", "network/vpn", 2, (1, 5, 3, 1), r"""
S: Не подключается удалённый рабочий стол
Q: имя компьютера или сервера, точное время и текст ошибки RDP
V: удалёнка || не могу подключиться к компу удалённо
D: VPN подключён, почта работает.
---
S: RDP: произошла внутренняя ошибка
Y: Через VPN не могу подключиться к своему рабочему компьютеру по RDP — «Произошла внутренняя ошибка».
D: Код ошибки 0x204.
R: Рабочий ПК ушёл в сон, Wake-on-LAN не был настроен. Включили WoL и отключили сон политикой для ПК с удалённым доступом.
---
S: Не могу зайти на терминальный сервер
Y: Подключение к терминальному серверу ts02 зависает на «Настройка удалённого сеанса», у коллег так же.
R: На терминальном сервере закончились лицензии RDS CAL. Освободили зависшие сессии, заказали дополнительные лицензии.
---
Y: По имени компьютера RDP не подключается, а по IP-адресу подключается.
R: После смены IP рабочего ПК DNS-запись была устаревшей. Обновили запись, подключение по имени работает.
""", r"""
S: Remote desktop not connecting
Y: I'm on VPN but I cannot RDP to my office PC, error code 0x204.
R: The office PC had gone to sleep and Wake-on-LAN was not configured. Enabled WoL and disabled sleep via policy for remote-access PCs.
""", alt=("Сеть", 0.2)),

    scn("vpn_cert", "VPN и удалённый доступ", "network/vpn", 1, (1, 5, 3, 1), r"""
S: Ошибка сертификата при подключении к VPN
Q: версию AnyConnect и скриншот ошибки
V: VPN || VPN ругается на что-то и не подключается
---
S: AnyConnect: Certificate validation failure
Y: При подключении к VPN ошибка «Certificate validation failure», дальше не пускает.
D: Ноутбук давно не был в офисе, месяца три.
R: На ноутбуке истёк машинный сертификат: устройство 3 месяца не было в сети компании. Подключили через временный профиль, перевыпустили сертификат автоматически.
---
Y: AnyConnect пишет «Untrusted server certificate», раньше такого не было.
D: На втором ноутбуке всё подключается.
R: На ноутбуке не был установлен новый промежуточный сертификат CA. Установили цепочку сертификатов скриптом, подключение работает.
""", r"""
S: VPN certificate error
Y: AnyConnect shows "Certificate validation failure" and won't connect.
D: The laptop hasn't been in the office for about three months.
R: The machine certificate expired because the laptop was off the network for 3 months. Connected via a temporary profile and re-enrolled the certificate.
""", kb="vpn-anyconnect-errors.md"),

    # ------------------------------------------------------------ network
    scn("wifi_corp", "Сеть", "network/wifi", 2, (2, 5, 1, 0), r"""
S: Не подключается к корпоративному Wi-Fi
S: Не могу подключиться к вайфаю
D: Гостевая сеть GUEST подключается нормально.
V: вайфай || не работает интернет
---
Y: Телефон не подключается к корпоративному Wi-Fi после смены пароля.
R: Профиль Wi-Fi на телефоне хранил старый пароль. Удалили профиль, подключились заново по инструкции из базы знаний, работает.
---
S: Wi-Fi CORP запрашивает пароль
Y: Ноутбук не подключается к сети CORP, постоянно запрашивает имя пользователя и пароль.
D: Ошибка 802.1X: authentication failed.
D: Проводная сеть работает.
R: На ноутбуке истёк машинный сертификат для EAP-TLS. Перевыпустили сертификат через проводное подключение, подключение к CORP восстановлено.
---
Y: Ноутбук видит сеть CORP, но пишет «Не удаётся подключиться к этой сети».
R: Сохранённый профиль сети был повреждён. Удалили его и подключились заново по инструкции — работает.
""", r"""
S: Can't connect to corporate Wi-Fi
V: wifi || wifi not working
Y: My laptop keeps asking for credentials when connecting to CORP Wi-Fi.
D: Guest Wi-Fi works, wired works.
R: The machine certificate for EAP-TLS had expired. Re-issued it over a wired connection; the laptop connects to CORP again.
""", kb="wifi-corporate.md"),

    scn("wifi_guest", "Сеть", "network/wifi", 1, (5, 3, 0, 0), r"""
S: Гостевой Wi-Fi
---
S: Гостевой Wi-Fi для переговорки
Y: Завтра в 10:00 в переговорной «Байкал» партнёры, нужен гостевой Wi-Fi на 6 человек.
R: Выдали гостевые ваучеры на 1 день через портал Wi-Fi, отправили на ресепшн.
---
S: Не подходит пароль гостевой сети
Y: Подскажите пароль от гостевой сети, у посетителя не подключается.
D: Пароль с листочка на ресепшн не подходит.
R: Пароль гостевой сети меняется каждый понедельник. Обновили листок на ресепшн, подключение работает.
""", r"""
S: Guest Wi-Fi for visitors
Y: We have visitors from a partner company tomorrow, please provide guest Wi-Fi access for 4 people.
R: Generated day vouchers in the guest portal and sent them to reception.
""", kb="wifi-corporate.md", cust=("Ресепшн", "Дирекция"), request=True),

    scn("wifi_warehouse", "Сеть", "network/wifi", 1, (0, 4, 4, 2), r"""
S: На складе пропадает Wi-Fi
Q: номер ряда или зоны склада, время пропадания и номер терминала
S: ТСД теряют сеть в зоне отгрузки
V: склад || на складе опять нет сети
D: Терминалы Zebra TC52, сканируют в 1С:Склад.
D: Стоит отгрузка, машины ждут под погрузкой.
---
Y: В дальнем конце склада (ряды 40–52) Wi-Fi пропадает полностью.
D: Началось после того, как поставили новые стеллажи.
R: Новые металлические стеллажи экранировали сигнал. Перенесли точку доступа AP-WH-03 и добавили ещё одну в ряд 48, покрытие проверили замером.
---
Y: Терминалы сбора данных в зоне отгрузки несколько раз в день теряют Wi-Fi на 2–3 минуты, кладовщики не могут провести сборку.
R: Точка доступа AP-WH-02 перезагружалась из-за перегрева PoE-коммутатора. Заменили коммутатор, терминалы работают стабильно.
""", cust=("Склад", "Логистика"), alt=("Оборудование", 0.15)),

    scn("lan_down", "Сеть", "network/lan", 3, (1, 4, 3, 1), r"""
S: Нет сети на рабочем месте
S: Пропал интернет
V: интернет || интернета нет
---
Y: После перестановки мебели компьютер не видит сеть.
D: Индикатор на сетевой карте не горит.
R: Патч-корд был повреждён при перестановке мебели. Заменили кабель, сеть появилась.
---
Y: С утра не работают интернет и сетевые папки на двух компьютерах в кабинете 214.
D: Вчера в кабинете переставляли оборудование.
R: Порт на коммутаторе этажа перешёл в err-disabled из-за петли: в кабинете подключили маленький свитч обоими концами. Убрали петлю, подняли порт.
---
S: Неопознанная сеть
Y: На компьютере нет сети, пишет «Неопознанная сеть, без доступа к интернету».
D: Индикатор на сетевой карте горит.
R: Компьютер не получал адрес по DHCP — закончился пул в VLAN 20. Расширили пул и почистили устаревшие аренды.
""", r"""
S: No network at my desk
V: network || no network
Y: My PC shows "Unidentified network" and nothing works.
D: The laptop on Wi-Fi is fine.
R: The DHCP pool in VLAN 20 was exhausted. Extended the pool and cleaned up stale leases; the PC got an address.
"""),

    scn("lan_slow", "Сеть", "network/lan", 1, (1, 5, 3, 0), r"""
S: Тормозит сеть
V: Сеть || всё тормозит, наверное сеть
---
S: Медленно открываются сетевые папки
Y: Файлы с сетевого диска открываются по минуте, Excel виснет при сохранении.
D: ping до fs01 от 2 до 300 мс, есть потери.
D: Проблема у всего 3-го этажа.
R: На аплинке коммутатора 3-го этажа были CRC-ошибки. Заменили SFP-модуль, потерь больше нет.
---
Y: Весь день очень медленный интернет, страницы грузятся по 20 секунд.
R: Один ПК раздавал торрент и забивал канал. Заблокировали на межсетевом экране, сообщили в ИБ.
""", r"""
S: Network is very slow
Y: Opening files from the network share takes minutes, Excel freezes on save.
R: CRC errors on the 3rd floor switch uplink. Replaced the SFP module; no packet loss now.
"""),

    scn("lan_move", "Сеть", "network/lan", 1, (6, 2, 0, 0), r"""
---
S: Переезд сотрудников, подключить розетки
Y: В пятницу отдел маркетинга переезжает из 210 в 305, нужно подключить 6 сетевых розеток и телефоны.
R: Скоммутировали розетки 305-01..305-06 в VLAN пользователей и голосовой VLAN, проверили подключение.
---
S: Активировать сетевую розетку
Y: Прошу активировать сетевую розетку 3-14 в кабинете 312.
R: Розетку 3-14 подключили к коммутатору, порт в VLAN 20, работает.
""", request=True),

    # ------------------------------------------------------------ mail
    scn("outlook_disc", "Почта", "mail/exchange", 3, (1, 5, 3, 1), r"""
S: Outlook не подключается к серверу
S: Почта не синхронизируется
D: В веб-версии почты всё работает.
D: Пробовал перезапускать, не помогает.
V: Почта || почта не работает
V: Outlook || аутлук глючит
---
S: Outlook: Отключено
S: Не приходят письма
Y: Outlook в статусе «Отключено», новые письма не приходят с утра.
Y: Письма уходят, а входящие не приходят, в веб-почте они есть.
D: Файл OST весит 48 ГБ.
D: Ошибка 0x8004010F при отправке/получении.
P: Запустить Outlook
P: Нажать «Отправить и получить»
E: письма синхронизируются
A: ошибка 0x8004010F, статус «Отключено»
R: Повреждён OST-файл. Пересоздали профиль Outlook по инструкции, синхронизация прошла, письма на месте.
---
Y: Outlook постоянно пишет «Попытка подключения…», потом «Требуется пароль».
D: Вчера менял пароль.
R: В диспетчере учётных данных Windows остался старый пароль. Удалили записи MicrosoftOffice16, Outlook подключился.
---
Y: При запуске Outlook висит на «Загрузка профиля».
D: Стоит Office 2016.
R: Outlook 2016 без обновлений не поддерживал современную аутентификацию после изменения настроек сервера. Обновили Office до актуальной сборки.
""", r"""
S: Outlook not connecting
V: Email || email broken
---
S: Not receiving emails
Y: Outlook shows "Disconnected" and no new mail since the morning; webmail works.
D: Error 0x8004010F on send/receive.
P: Open Outlook
P: Click Send/Receive
E: the mailbox syncs
A: 0x8004010F, status "Disconnected"
R: Corrupted OST file. Recreated the Outlook profile; the mailbox resynced.
---
Y: Outlook keeps prompting for my password and never connects.
D: I changed my password yesterday.
R: Stale credentials in Windows Credential Manager. Removed the MicrosoftOffice16 entries; Outlook connected.
""", kb="mail-outlook-profile.md"),

    scn("quota", "Почта", "mail/exchange", 2, (2, 5, 2, 0), r"""
S: Почтовый ящик переполнен
---
S: Не могу отправить письмо — ящик заполнен
Y: Пришло уведомление «Ваш почтовый ящик почти заполнен», теперь не могу отправлять письма.
D: Размер ящика 49,8 ГБ из 50.
D: Удалил папку «Удалённые», не помогло.
R: Включили онлайн-архив, настроили политику архивации писем старше 2 лет. Ящик уменьшился до 21 ГБ.
---
S: Увеличить размер почтового ящика
Y: Прошу увеличить квоту почтового ящика, работаю с большими вложениями от поставщиков.
R: Увеличение квоты не предусмотрено политикой. Помогли очистить вложения больше 10 МБ и перенести старые письма в архив, ящик освобождён.
""", r"""
S: Mailbox full
Y: I got "Your mailbox is full" and can't send emails anymore.
D: The mailbox is 49.9 GB of 50 GB.
R: Enabled the online archive with a 2-year retention policy; the mailbox is down to 19 GB.
""", kb="mailbox-quota.md"),

    scn("shared_mbx", "Доступ и права", "mail/exchange", 2, (2, 6, 1, 0), r"""
S: Доступ к общему ящику
D: Согласовано с руководителем отдела.
V: почта || не вижу общую почту
---
S: Дать доступ к ящику sales@
Y: Прошу предоставить доступ к общему ящику sales@company.ru для новой сотрудницы Орловой Е.
R: Выдали полный доступ к ящику sales@, он появится в Outlook в течение часа (автоподключение).
---
S: Права на отправку от имени общего ящика
Y: Нужны права «Отправить как» для ящика buh@company.ru, сейчас письма уходят от моего имени.
D: Ошибка: «У вас нет разрешения на отправку от имени этого пользователя».
R: Выдали права «Отправить как» для ящика buh@, письма уходят от имени ящика.
---
Y: Не вижу общий ящик support@ в Outlook, хотя раньше был.
R: Права были сняты при чистке группы. Вернули членство в группе MBX-Support-FullAccess, ящик отображается.
""", r"""
S: Access to shared mailbox
Y: Please give me access to the shared mailbox export@company.ru.
D: Approved by my line manager.
R: Granted Full Access and Send As; the mailbox will auto-map in Outlook within an hour.
""", request=True, alt=("Почта", 0.3)),

    scn("mail_mobile", "Почта", "mail/exchange", 1, (2, 5, 1, 0), r"""
S: Почта на телефоне не работает
V: телефон || почта на телефоне не работает
D: На компьютере почта работает.
---
S: Не могу настроить почту на новом телефоне
Y: Новый телефон, не могу настроить корпоративную почту.
D: iPhone 13, iOS 17.
R: Устройство было в карантине ActiveSync как новое. Разрешили устройство, почта синхронизируется.
---
S: Не синхронизируется почта на iPhone
Y: На телефоне перестала обновляться почта, в приложении «Не удаётся получить почту».
D: На прошлой неделе менял пароль.
R: После смены пароля телефон блокировал учётку старым паролем. Обновили пароль в профиле, разблокировали учётную запись.
"""),

    scn("ndr", "Почта", "mail/exchange", 2, (1, 5, 3, 1), r"""
S: Письма не доходят до клиента
S: Недоставленное письмо
V: Письма || письма клиенту не доходят
D: Счёт надо отправить сегодня, иначе сорвётся оплата.
---
Y: Пришёл отчёт о недоставке: «Remote Server returned 554 5.7.1 Service unavailable; Client host blocked using Spamhaus».
R: Наш внешний IP попал в блок-лист из-за заражённого ноутбука в гостевой сети. Изолировали ноутбук, подали запрос на удаление из Spamhaus, письма доходят.
---
S: Возвращается письмо с ошибкой 550
Y: Письма на домен контрагента возвращаются с ошибкой «550 5.7.1 Message rejected».
D: Письма уходят через новый сервис рассылки счетов.
R: SPF-запись нашего домена не включала новый сервис рассылки, и почтовый сервер контрагента отклонял письма. Добавили include в SPF, доставка восстановлена.
---
Y: Клиент говорит, что не получает наши письма со счетами уже неделю.
D: Письма без вложений доходят, а со сканами договоров — нет.
R: Вложения по 35 МБ превышали лимит сервера получателя. Настроили отправку сканов ссылкой через файлообменник.
""", r"""
S: Emails bouncing back
V: email || emails not delivered
Y: Emails to our distributor bounce with "550 5.7.1 Message rejected".
D: Invoices need to go out today.
R: Our SPF record didn't include the new mailing service. Updated the SPF record; delivery restored.
""", cust=("Отдел продаж", "Бухгалтерия")),

    scn("calendar", "Почта", "mail/exchange", 1, (5, 4, 0, 0), r"""
---
S: Не могу забронировать переговорку
Y: При бронировании переговорной «Байкал» в Outlook приходит отказ без причины.
R: У ресурса переговорной стояло ограничение бронирования на 1 день вперёд. Увеличили до 180 дней.
---
S: Календарь руководителя
Y: Нужно дать секретарю права на редактирование календаря директора.
R: Выдали права редактора на календарь, секретарь видит и создаёт встречи.
""", r"""
S: Cannot book meeting room
Y: My booking of the "Baikal" meeting room gets declined without a reason.
R: The room resource only allowed bookings 1 day ahead. Increased to 180 days.
""", cust=("Дирекция", "Ресепшн"), request=True),

    scn("quarantine", "Почта", "mail/spam-filter", 2, (1, 5, 3, 0), r"""
S: Не пришло письмо от контрагента
V: не пришло письмо || не приходят письма от клиента, посмотрите
---
S: Письмо попало в спам
Y: Поставщик утверждает, что вчера отправил нам акт сверки, а письма нет ни во входящих, ни в нежелательной почте.
D: Во вложении должен быть архив .zip с документами.
R: Письмо задержано спам-фильтром из-за документа Office с макросами в архиве. Проверили вложение в песочнице, освободили из карантина, добавили отправителя в доверенные.
---
S: Освободить письмо из карантина
Y: Пришло уведомление о карантине на письмо от банка, откройте его, пожалуйста.
R: Проверили письмо — легитимное уведомление банка. Освободили из карантина и добавили адрес банка в доверенные.
---
Y: Письма от домена partner-logistic.ru перестали приходить.
D: Отправитель: info@partner-logistic.ru.
R: Домен отправителя без DKIM и с плохой репутацией, письма блокировались. Добавили домен в белый список, письма доставлены.
""", r"""
S: Email stuck in quarantine
V: email || missing an email
Y: A client says they sent us a contract yesterday but I never received it.
D: Sender domain: northwind-trade.de
R: The message was quarantined because of a password-protected archive. Released it after scanning and whitelisted the sender.
""", kb="mail-spam-quarantine.md"),

    scn("phishing", "Почта", "mail/spam-filter", 2, (0, 4, 4, 2), r"""
S: Подозрительное письмо
S: Фишинг?
---
Y: Пришло письмо якобы от бухгалтерии со ссылкой «Обновите пароль», выглядит подозрительно.
Y: Несколько сотрудников получили письмо от «директора» с просьбой срочно оплатить счёт.
D: Адрес отправителя: director@company-ru.com (не наш домен).
D: Письмо пересылаю во вложении.
R: Подтвердили фишинг. Удалили письмо из всех ящиков, заблокировали домен отправителя, добавили правило на шлюзе.
---
S: Перешёл по ссылке из письма
Y: Сотрудник перешёл по ссылке из письма «Счёт на оплату» и ввёл пароль на странице, похожей на вход в почту.
R: Учётные данные скомпрометированы: сбросили пароль, завершили все сессии, проверили правила пересылки в ящике (вредоносных нет). Провели инструктаж.
""", r"""
S: Suspicious email
S: Phishing?
---
Y: I received an email "from IT" asking me to re-enter my password, looks fake.
R: Confirmed phishing. Purged the message from all mailboxes and blocked the sender domain.
---
Y: I clicked a link in an invoice email and entered my password before realizing it was fake.
R: Credentials compromised: reset the password, revoked sessions, checked mailbox forwarding rules (none found).
"""),

    scn("spam_flood", "Почта", "mail/spam-filter", 1, (6, 3, 0, 0), r"""
S: Много спама
S: Спам на ящик
Y: Последнюю неделю приходит по 50–60 рекламных писем в день.
Y: На общий ящик info@ идёт спам на английском и китайском.
R: Повысили уровень фильтрации для ящика, добавили правила на шлюзе для рассылки. Объём спама снизился.
R: Адрес попал в базы спамеров. Настроили строгий профиль фильтрации и показали кнопку «Сообщить о спаме».
""", r"""
S: Lots of spam
Y: I'm getting dozens of spam emails a day.
R: Raised the filtering level for the mailbox and added gateway rules.
"""),

    # ------------------------------------------------------------ 1C
    scn("vat", "1С и отчёты", "erp-1c/reports", 0, (0, 2, 5, 3), r"""
S: Не формируется книга продаж после обновления
S: Отчёт по НДС — ошибка после обновления
N: 1С:Бухгалтерия предприятия 3.0.150, платформа 8.3.23.1865, тонкий клиент
N: 1С:БП 3.0, база «Основная», сервер 1С + MS SQL 2019
S: Декларация по НДС: ошибка при заполнении
S: 1С: не работает отчёт по НДС
S: Опять сломался анализ НДС
Y: После вчерашнего обновления 1С не формируется книга продаж: «Поле объекта не обнаружено (СуммаНДСВосстановлено)».
Y: Отчёт «Анализ учёта по НДС» падает с ошибкой сразу после нажатия «Сформировать».
Y: При заполнении декларации по НДС за квартал появляется ошибка, раздел 9 пустой.
Y: Как и в прошлом месяце, после обновления перестал работать отчёт по НДС.
D: Ошибка: «{ОбщийМодуль.УчетНДСПереопределяемый(214)}: Поле объекта не обнаружено».
D: Срок подачи декларации — 25-е число.
D: Обновление ставили вчера вечером.
P: Открыть «Отчёты — Книга продаж»
P: Выбрать организацию и период (прошлый месяц)
P: Нажать «Сформировать»
E: отчёт сформирован
A: ошибка «Поле объекта не обнаружено», отчёт пустой
R: После обновления конфигурации отключилось расширение «НДС_Доработки» (несовместимо с новым релизом). Обновили расширение под релиз, включили, отчёт формируется.
X: Повтор известной проблемы {orig}: после обновления конфигурации отключилось расширение «НДС_Доработки». Обновили и включили расширение по статье базы знаний, отчёт формируется.
X: Дубликат {orig}, та же причина — несовместимость расширения после обновления. Исправлено.
X: См. {orig}. После обновления снова слетело расширение, переподключили. Заведена задача проверять расширение в тестовой базе перед каждым обновлением.
""", kb="1c-vat-report-after-update.md", cust=("Бухгалтерия", "Финансовый отдел")),

    scn("deadlock", "1С и отчёты", "erp-1c/reports", 3, (0, 5, 4, 2), r"""
S: Ошибка СУБД при формировании отчёта
S: Отчёт вылетает с ошибкой блокировки
D: Текст ошибки: «Ошибка СУБД: Microsoft SQL Server Native Client 11.0: Transaction (Process ID 87) was deadlocked on lock resources with another process and has been chosen as the deadlock victim».
V: 1С || не работает отчёт
V: 1С ошибка || 1С выдаёт ошибку, посмотрите срочно
---
Y: При формировании оборотно-сальдовой ведомости выходит «Ошибка СУБД: deadlock», отчёт не строится.
Y: Во время закрытия месяца у нескольких бухгалтеров одновременно падает 1С с ошибкой СУБД.
D: Повторяется, когда параллельно запущено закрытие месяца.
P: Запустить «Закрытие месяца» за прошлый месяц
P: Параллельно сформировать ОСВ по счёту 41
E: оба процесса отрабатывают
A: одному из пользователей выдаёт «Ошибка СУБД: deadlock»
R: Взаимоблокировка между регламентным заданием пересчёта итогов и закрытием месяца. Перенесли регламентное задание на ночь, включили управляемые блокировки для регистра. Повторов нет.
R: Пользователи одновременно проводили закрытие месяца по одной организации. Договорились о порядке и включили режим разделения итогов.
---
S: 1С: deadlock при проведении
S: Не проводятся документы — ошибка СУБД
Y: Документы реализации не проводятся: «Ошибка блокировки объекта. Транзакция была прервана из-за взаимоблокировки».
D: Иногда вместо этого: «Lock request time out period exceeded».
D: С каждой неделей всё хуже, раньше такого не было.
R: На SQL-сервере не обслуживались индексы, блокировки эскалировались до уровня таблицы. Перестроили индексы, обновили статистику, настроили план обслуживания.
""", r"""
S: 1C report fails with DBMS error
V: 1C error || getting an error in 1C
Y: The sales report in 1C fails with "DBMS error: deadlock" when I run it for the whole quarter.
D: Transaction (Process ID 112) was deadlocked on lock resources with another process.
R: Deadlock between the nightly totals recalculation job and the report run. Rescheduled the job and rebuilt indexes on the SQL server.
""", kb="1c-deadlock-errors.md", cust=("Бухгалтерия", "Финансовый отдел", "Склад")),

    scn("report_slow", "1С и отчёты", "erp-1c/reports", 2, (2, 5, 2, 0), r"""
S: 1С тормозит
S: Медленно работает 1С
D: Работаем через тонкий клиент.
V: 1С тормозит || всё висит
Q: в какой базе, какие именно операции тормозят и с какого времени
---
S: Долго формируется ОСВ
Y: Оборотно-сальдовая ведомость за год формируется больше 20 минут, раньше было 2 минуты.
R: Отчёт строился по регистру без итогов. Включили итоги по регистру и пересчитали их, ОСВ формируется за 1,5 минуты.
---
Y: 1С очень медленно открывает документы, каждое действие по 10–15 секунд.
D: С утра было нормально, после обеда началось, у коллег так же.
R: На сервере 1С закончилась оперативная память из-за утечки в rphost. Перезапустили рабочие процессы, настроили автоматический перезапуск по объёму памяти.
---
Y: Отчёт по продажам за месяц формируется бесконечно, через час закрыла.
D: Параллельно открыто ещё несколько отчётов.
R: У пользователя были открыты 4 сеанса с тяжёлыми отчётами. Завершили лишние сеансы, рассказали про фоновое формирование отчётов.
""", r"""
S: 1C is very slow
V: 1C || 1C is slow
Y: 1C takes 10-15 seconds for every action today, impossible to work.
R: rphost memory leak on the 1C server. Restarted worker processes and set memory-based restart limits.
Q: which database, which operations are slow and since when
"""),

    scn("report_wrong", "1С и отчёты", "erp-1c/reports", 3, (1, 5, 3, 1), r"""
S: Расхождение в отчёте
D: Скриншот отчёта прилагаю.
V: отчёт || отчёт неправильный
---
S: В отчёте дублируются строки
Y: В отчёте «Валовая прибыль» за июль суммы по контрагенту «ТехноСтрой» задвоены.
R: В пользовательском варианте отчёта было неправильно настроено соединение с регистром себестоимости. Сбросили вариант к стандартному, суммы совпадают.
---
S: Неверные суммы в отчёте по продажам
Y: Отчёт по продажам менеджеров показывает выручку в 2 раза меньше, чем в выгрузке из CRM.
D: Отчёт нужен для премирования менеджеров, срок — пятница.
R: Часть реализаций проведена задним числом без восстановления последовательности. Перепровели документы за период, расхождение устранено.
---
S: Отрицательные остатки в отчёте
Y: В отчёте по остаткам склада отрицательные остатки по 12 позициям, хотя товар на складе есть.
R: Отрицательные остатки из-за неверного порядка документов поступления и отгрузки. Восстановили последовательность, остатки корректны.
""", r"""
S: Wrong totals in sales report
Y: The monthly sales report in 1C shows revenue for Sales EU that is about half of what our CRM says.
D: Screenshot and CRM export attached.
R: The user report variant had a wrong join to the cost register. Reset the variant to standard; totals match the CRM.
V: 1C report || the 1C report doesn't work
""", cust=("Отдел продаж", "Финансовый отдел", "Склад")),

    scn("1c_rights", "Доступ и права", "erp-1c/reports", 2, (2, 6, 2, 0), r"""
S: Нет прав в 1С
---
S: Недостаточно прав для просмотра
Y: При открытии отчёта «Анализ продаж» выходит «Недостаточно прав для просмотра».
D: У коллеги с той же должностью доступ есть.
R: Добавили пользователя в группу доступа «Менеджеры по продажам (отчёты)», отчёт открывается.
---
S: Добавить роль в 1С
Y: Прошу добавить мне права на проведение документов «Поступление товаров», сейчас кнопка неактивна.
D: Согласовано с главным бухгалтером.
R: Право на проведение выдаётся только по согласованию с главным бухгалтером. Согласование приложено, добавили роль.
---
S: Доступ в 1С для нового сотрудника
Y: Новому сотруднику нужен доступ в 1С:Бухгалтерию, база «Основная».
R: Создан пользователь 1С, привязан к учётной записи AD, выдан профиль «Бухгалтер». Отправили инструкцию по входу.
""", r"""
S: No access to 1C report
Y: I get "Insufficient rights to view" when opening the Sales analysis report in 1C.
R: Added the user to the "Sales managers (reports)" access group.
""", request=True, alt=("1С и отчёты", 0.3)),

    scn("print_form", "1С и отчёты", "erp-1c/reports", 1, (2, 5, 2, 0), r"""
---
S: Не печатается УПД
Q: какой документ печатаете и скриншот печатной формы
V: печать из 1С || не печатается из 1С
Y: При печати УПД из 1С форма съезжает, подпись уходит на вторую страницу.
D: Раньше печатали нормально, сломалось после обновления.
R: Обновление изменило макет УПД, а наша доработанная внешняя печатная форма устарела. Обновили внешнюю форму под новый релиз.
---
S: Съехала печатная форма счёта
Y: Счёт на оплату печатается мелко, на половине листа.
R: В настройках печати был выбран лист A5. Исправили на A4, форма печатается корректно.
""", cust=("Бухгалтерия", "Склад", "Отдел продаж")),

    scn("payroll_calc", "1С и отчёты", "erp-1c/payroll", 2, (0, 5, 3, 2), r"""
S: Ошибка в расчёте зарплаты
Q: табельные номера сотрудников, период и какой документ считается неверно
D: Выплата 5-го числа, нужно исправить до 3-го.
D: Конфигурация 1С:ЗУП 3.1.27.
V: ЗУП || зарплата считается неправильно, посмотрите
---
S: НДФЛ рассчитан неверно
Y: В ЗУП при расчёте зарплаты за август у 5 сотрудников НДФЛ посчитался по ставке 30%, хотя они резиденты.
R: У сотрудников не был заполнен статус налогового резидента с начала года. Заполнили статус, пересчитали НДФЛ, проверили с расчётчиком.
---
S: Неправильно посчитался больничный
Y: Больничный сотруднику Иванову посчитан из МРОТ, хотя у него есть заработок за 2 прошлых года.
R: Не были внесены справки о заработке с прошлого места работы. Внесли справки, пересчитали больничный.
---
S: ЗУП: не проводится начисление зарплаты
Y: Документ «Начисление зарплаты» не проводится: «Не указан способ отражения».
R: У нового вида начисления не был указан способ отражения в бухучёте. Заполнили, документ проводится.
""", kb="1c-payroll-calculation.md", cust=("HR", "Бухгалтерия")),

    scn("payroll_bank", "1С и отчёты", "erp-1c/payroll", 1, (0, 3, 4, 3), r"""
S: Ошибка выгрузки в зарплатный проект
D: Зарплату нужно перечислить сегодня до 16:00.
---
S: Банк не принимает реестр на зарплату
Y: Банк отклонил реестр на зачисление зарплаты: «Неверный формат файла».
D: Банк недавно обновил формат XML.
R: Банк перешёл на новую версию формата реестра. Обновили обработку выгрузки, реестр принят.
---
Y: Банк принял реестр частично: трём сотрудникам зарплата не зачислена.
R: У 3 сотрудников не были указаны номера лицевых счетов. Заполнили, выгрузили повторно, банк принял.
""", kb="1c-payroll-calculation.md", cust=("Бухгалтерия", "HR")),

    scn("payroll_vac", "1С и отчёты", "erp-1c/payroll", 1, (2, 5, 1, 0), r"""
---
S: Не закрывается табель
Y: Не получается провести табель за сентябрь: «Период уже закрыт».
R: Была установлена дата запрета изменения 31.08. Сдвинули дату запрета по согласованию с главным бухгалтером.
---
S: Отпускные посчитались неправильно
Y: Сотруднице посчитали отпускные меньше, чем она ожидала, проверьте расчёт.
R: Расчёт корректен: в расчётный период попал отпуск без сохранения зарплаты. Расписали расчёт сотруднице.
""", cust=("HR", "Бухгалтерия")),

    # ------------------------------------------------------------ accounts / access
    scn("password", "Учётные записи", "iam/ad-accounts", 4, (1, 6, 3, 0), r"""
S: Не могу войти в компьютер
V: Войти не могу || не пускает
---
S: Заблокирована учётная запись
Y: Не могу войти в Windows: «Учётная запись пользователя заблокирована».
D: Пароль вводил правильно, раскладка английская.
D: Вчера менял пароль, а на телефоне остался старый.
R: Учётку блокировал телефон со старым паролем в почте. Разблокировали, обновили пароль на телефоне.
---
S: Сбросить пароль
S: Забыл пароль
Y: Забыла пароль после отпуска, прошу сбросить.
R: Сбросили пароль с обязательной сменой при входе, пользователь сменил пароль и вошёл.
---
Y: Система требует сменить пароль, но новый пароль не принимает.
D: Сообщение: «Пароль не отвечает требованиям политики».
R: Новый пароль совпадал с одним из 12 последних. Объяснили требования политики, пароль сменён.
""", r"""
---
S: Account locked
V: login || can't log in
Y: I'm locked out of my Windows account.
D: "The referenced account is currently locked out".
R: The account was locked by a phone with an old cached password. Unlocked and updated the phone.
---
S: Password reset
Y: Forgot my password after vacation, please reset.
R: Reset the password with change at next logon; the user logged in.
""", kb="password-reset.md"),

    scn("new_user", "Учётные записи", "iam/ad-accounts", 2, (3, 6, 1, 0), r"""
S: Новый сотрудник с понедельника
S: Выход нового сотрудника
D: Приказ о приёме во вложении.
---
S: Создать учётную запись новому сотруднику
Y: С 15 числа выходит новый сотрудник в отдел логистики: Павлов Сергей Иванович, специалист по логистике.
D: Доступы как у Смирновой А. В.
R: Создали учётную запись s.pavlov, почтовый ящик, добавили в группы отдела. Данные для входа переданы руководителю.
---
Y: Прошу создать учётную запись, почту и доступ в 1С для нового бухгалтера.
R: Учётная запись и почта созданы по шаблону отдела, заявка на доступ в 1С передана группе 1С.
""", r"""
S: New starter account
Y: We have a new starter in the Berlin office on Monday, please create an account and mailbox.
R: Created the account and mailbox from the Sales EU template, credentials sent to the line manager.
""", cust=("HR",), request=True),

    scn("offboarding", "Учётные записи", "iam/ad-accounts", 1, (1, 4, 4, 1), r"""
S: Блокировка учётной записи уволенного
S: Увольнение сотрудника — отключить доступы
Y: Сегодня последний рабочий день у Морозова Д. А., прошу в 18:00 заблокировать все доступы.
Y: Сотрудник уволен, прошу срочно заблокировать учётную запись и VPN.
D: Почту перенаправить на руководителя.
R: Учётная запись отключена, VPN и доступы отозваны, почта перенаправлена руководителю на 30 дней.
R: Учётная запись заблокирована в 18:00, сессии завершены, почта перенаправлена руководителю, ноутбук принят на склад ИТ.
""", r"""
S: Leaver — disable account
Y: Today is the last day for one of our team members, please disable all access at 18:00 CET.
R: Account disabled, VPN revoked, mail forwarded to the manager for 30 days.
""", cust=("HR", "Служба безопасности"), request=True),

    scn("pwd_vpn", "Учётные записи", "iam/ad-accounts", 2, (1, 5, 3, 0), r"""
---
S: После смены пароля не работает VPN и почта
Y: Сменил пароль по требованию Windows, после этого не подключается VPN и на телефоне не работает почта.
D: На ноутбуке войти получается.
D: Ошибка при входе в VPN: «Login failed».
R: Пароль меняли удалённо, без связи с контроллером домена, и кэш на ноутбуке остался старым. Подключили VPN со старым кэшем, синхронизировали пароль, обновили пароль на телефоне.
---
S: Сменил пароль — учётка блокируется
Y: После смены пароля учётка блокируется каждые полчаса.
R: Блокировку вызывал старый ноутбук с сохранённым паролем к сетевому диску. Нашли источник по журналам контроллера домена, удалили учётные данные.
""", r"""
S: Password change broke VPN and email
Y: I changed my password this morning and now the VPN fails and my phone can't get email.
R: The old password was cached on the phone and locked the account. Unlocked it, updated the phone; VPN works.
""", kb="password-reset.md", alt=("VPN и удалённый доступ", 0.3)),

    scn("mfa", "Учётные записи", "iam/ad-accounts", 2, (1, 5, 3, 0), r"""
---
S: Новый телефон — перенести аутентификатор
Y: Поменяла телефон, теперь не могу получить код для входа в VPN и почту.
R: Сбросили привязку MFA, пользователь заново зарегистрировал приложение на новом телефоне.
---
S: Не приходят коды MFA
Y: Push-уведомления для подтверждения входа не приходят.
R: На телефоне были отключены уведомления для приложения-аутентификатора. Включили, вход подтверждается.
""", r"""
S: MFA codes not arriving
Y: New phone, I can't get MFA codes for VPN and email.
R: Reset the MFA registration; the user re-enrolled the authenticator app on the new phone.
""", alt=("VPN и удалённый доступ", 0.2)),

    scn("share_access", "Доступ и права", "iam/file-shares", 3, (2, 6, 2, 0), r"""
S: Нет доступа к сетевой папке
V: папка || нет доступа к папке
---
S: Доступ к папке \\fs01\Бухгалтерия
Y: При открытии \\fs01\Бухгалтерия\Закрытие пишет «Нет доступа», ошибка 0x80070005.
D: Руководитель согласовал, письмо прикладываю.
R: Добавили пользователя в группу FS-Buh-RW, после повторного входа доступ есть.
---
S: Запрос доступа к общей папке
Y: Прошу дать права на чтение папки \\fs01\Продажи\Прайсы для менеджеров склада.
R: Доступ на чтение выдан через группу FS-Sales-Price-RO по согласованию владельца ресурса.
---
S: Отказано в доступе к папке
Y: Не могу сохранить файл в общую папку отдела — «Отказано в доступе».
D: Ещё неделю назад доступ был.
R: Папку перенесли при реорганизации, права унаследовались неверно. Восстановили ACL, доступ проверили.
""", r"""
S: Access denied to network folder
Y: I get "Access denied" (0x80070005) when opening \\fs01\Export\Contracts.
R: Added the user to FS-Export-RW; access works after re-logon.
V: access || can't open the shared folder
""", kb="file-share-access.md"),

    scn("share_restore", "Доступ и права", "iam/file-shares", 1, (1, 5, 3, 0), r"""
S: Восстановить файл
---
S: Восстановить удалённый файл
Y: Случайно удалила файл «План продаж 2026.xlsx» из папки \\fs01\Продажи, нужно восстановить.
R: Восстановили файл из теневой копии за вчера 12:00, положили рядом с суффиксом _restored.
---
S: Пропал файл с сетевого диска
Y: Коллега перезаписал файл с отчётом старой версией, нужна версия трёхнедельной давности.
R: Теневые копии хранятся 14 дней, поэтому восстановили версию из резервной копии.
""", kb="file-share-access.md"),

    scn("drive_map", "Доступ и права", "iam/file-shares", 1, (2, 5, 1, 0), r"""
S: Не подключается сетевой диск
V: диск || пропал диск
---
S: Пропал диск Z:
Y: Пропал сетевой диск Z:, в проводнике его нет.
D: Работаю из дома через VPN.
R: Диск подключается скриптом входа, а при входе без VPN скрипт не отработал. Подключили диск вручную, объяснили порядок входа.
---
Y: Сетевой диск подключается с красным крестиком и пишет «Не удалось восстановить подключение».
D: На прошлой неделе меня перевели в другой отдел.
R: Пользователя исключили из группы отдела при переводе. Вернули нужную группу, диск подключается.
""", alt=("Сеть", 0.2)),

    # ------------------------------------------------------------ hardware
    scn("printer", "Оборудование", "hardware/printers", 4, (2, 6, 2, 0), r"""
S: Не печатает принтер
S: Не могу распечатать документ
D: Перезагружали принтер — не помогло.
V: принтер || принтер опять
---
S: Принтер не печатает, задания висят
Y: Принтер HP в кабинете 204 не печатает, задания висят в очереди со статусом «Ошибка».
D: С других компьютеров тоже не печатает.
R: Зависла очередь на сервере печати. Перезапустили диспетчер очереди печати, очистили задания, печать идёт.
---
S: Принтер в бухгалтерии не работает
Y: Отправляю на печать — ничего не происходит, принтер в списке «Отключён».
D: С панели принтера копии делаются нормально.
R: Принтер получил новый IP по DHCP. Закрепили адрес резервированием, обновили порт на сервере печати.
---
Y: Принтер печатает пустые листы.
R: Закончился тонер, индикатор не срабатывал. Заменили картридж.
---
Y: На экране принтера «Ошибка 49.4C02», ничего не печатает.
R: Сбой прошивки из-за повреждённого задания. Выключили принтер на 5 минут, удалили задание из очереди, обновили прошивку.
""", r"""
S: Printer not printing
Y: The printer on the 2nd floor doesn't print, jobs are stuck in the queue.
R: Stuck print spooler on the print server. Restarted the spooler and cleared the queue.
V: printer || printer not working
""", kb="printer-troubleshooting.md"),

    scn("toner", "Оборудование", "hardware/printers", 2, (6, 3, 0, 0), r"""
---
S: Заменить картридж
S: Закончился тонер
Y: В МФУ на 3 этаже закончился тонер, нужен новый картридж.
R: Заменили картридж, старый отправили на заправку.
---
S: Замятие бумаги
Y: В принтере замятие бумаги, достать не получается.
R: Удалили замятую бумагу из узла фиксации, проверили печать.
""", kb="printer-troubleshooting.md", request=True),

    scn("scan_email", "Оборудование", "hardware/printers", 1, (2, 5, 1, 0), r"""
S: Не работает сканирование в почту
V: МФУ || сканер не работает
D: Последний раз работало на прошлой неделе.
---
S: Скан не приходит на почту
Y: МФУ сканирует, но письмо со сканом не приходит на почту.
R: Сменился пароль сервисной учётки МФУ для отправки через SMTP-релей. Обновили пароль в настройках МФУ, письма приходят.
---
Y: При сканировании в почту МФУ пишет «Ошибка подключения к серверу».
R: В МФУ был указан старый адрес SMTP-сервера. Исправили на relay.corp.local, сканы приходят.
""", r"""
S: Scan to email not working
Y: The MFP scans but the email with the scan never arrives.
R: The MFP's SMTP relay password had expired. Updated it; scans are delivered.
""", alt=("Почта", 0.25)),

    scn("bitlocker", "Оборудование", "hardware/laptops", 2, (0, 5, 4, 1), r"""
S: Ноутбук просит ключ восстановления BitLocker
S: BitLocker при включении
D: Идентификатор ключа начинается на 4F2A.
D: Нахожусь в командировке.
---
Y: При включении ноутбука появился синий экран «Введите ключ восстановления BitLocker».
R: Продиктовали ключ восстановления из AD по телефону после подтверждения личности. Приостановили и возобновили BitLocker, повторного запроса нет.
---
Y: После обновления BIOS ноутбук требует ключ восстановления, работать не могу.
R: Запрос ключа вызван обновлением BIOS без приостановки BitLocker. Продиктовали ключ, добавили приостановку в сценарий обновления.
""", r"""
S: BitLocker recovery key requested
Y: My laptop asks for a BitLocker recovery key after a BIOS update.
D: I'm travelling, no access to the office.
R: Read the recovery key from AD over the phone after identity verification; suspended and resumed BitLocker to reseal the TPM.
""", kb="laptop-bitlocker-recovery.md"),

    scn("laptop_broken", "Оборудование", "hardware/laptops", 2, (1, 5, 3, 1), r"""
D: Модель Lenovo ThinkPad T14.
V: ноутбук || ноутбук сломался
D: Завтра важная презентация у клиента.
---
S: Не включается ноутбук
Y: Ноутбук не включается, индикатор питания мигает оранжевым.
R: Неисправна материнская плата. Выдали подменный ноутбук, перенесли данные, исходный отправлен в сервис по гарантии.
---
S: Разбил экран ноутбука
Y: Уронили ноутбук, треснул экран, изображение с полосами.
R: Заменили матрицу по гарантии, ноутбук выдан.
---
S: Ноутбук перегревается и выключается
Y: Ноутбук сильно греется и выключается во время видеозвонков.
R: Забита система охлаждения. Почистили, заменили термопасту, температура в норме.
""", r"""
S: Laptop won't turn on
V: laptop || laptop problem
Y: My laptop doesn't boot, the power LED blinks orange.
R: Faulty mainboard; issued a loaner laptop and sent the original for warranty repair.
"""),

    scn("laptop_new", "Оборудование", "hardware/laptops", 1, (6, 3, 0, 0), r"""
---
S: Выдать ноутбук новому сотруднику
Y: Прошу подготовить ноутбук для нового сотрудника отдела продаж к понедельнику.
R: Подготовили ноутбук с корпоративным образом, установили 1С и софтфон, выдали под подпись.
---
S: Нужен второй монитор
Y: Нужен второй монитор и док-станция для сотрудника бухгалтерии.
R: Выдали монитор Dell P2422H и док-станцию, подключили на месте.
""", cust=("HR", "Отдел продаж", "Бухгалтерия"), request=True),

    scn("pc_slow", "Оборудование", "hardware/laptops", 2, (4, 5, 1, 0), r"""
S: Тормозит компьютер
V: комп || компьютер тупит
---
S: Долго загружается ноутбук
Y: Компьютер очень медленно работает, загрузка занимает 10 минут.
D: Давно не перезагружал, обновления всё время ставятся.
R: Установили отложенные обновления Windows, почистили автозагрузку, работает нормально.
---
Y: Постоянно всё висит, диск загружен на 100%.
D: Компьютеру лет шесть.
R: Старый HDD загружен на 100%. Заменили HDD на SSD с переносом профиля.
""", r"""
S: Laptop very slow
V: laptop || laptop slow
Y: My laptop is extremely slow, takes 10 minutes to boot.
R: Pending Windows updates and a full disk. Installed the updates and cleaned up temp files.
"""),

    scn("monitor", "Оборудование", "hardware/laptops", 1, (4, 5, 0, 0), r"""
S: Не работает второй монитор
S: Док-станция не видит монитор
Y: Второй монитор через док-станцию не определяется, пишет «Нет сигнала».
R: Обновили прошивку док-станции и драйвер DisplayLink, оба монитора работают.
""", r"""
S: Second monitor not detected
Y: My second monitor connected through the dock shows "No signal".
R: Updated the dock firmware and the DisplayLink driver; both monitors work.
"""),
]
SCENARIO_BY_KEY = {s.key: s for s in SCENARIOS}

# Outage bursts: many reworded reports of ONE cause within 1-2 hours.
BURST_SCENARIOS = [
    scn("burst_pbx", "Телефония", "telephony/pbx-gateway", 0, (0, 1, 5, 4), r"""
S: Не работает телефония
S: Не проходят входящие звонки
S: Телефоны не работают!!!
S: Клиенты не могут дозвониться
S: Сбой телефонии
S: Нет связи на городских номерах
S: SIP 503 на всех линиях
S: Телефония лежит?
Y: Не проходят ни входящие, ни исходящие звонки на городские номера.
Y: С 9:40 клиенты не могут дозвониться, у них «абонент недоступен».
Y: При попытке позвонить на мобильный — короткие гудки, внутренние звонки работают.
Y: У всего контакт-центра очередь пустая, звонков нет уже полчаса, это ненормально.
Y: Софтфон пишет SIP 503 Service Unavailable на любой внешний номер.
Y: Телефон на ресепшн молчит, клиенты звонят на мобильные и говорят, что не могут дозвониться.
D: Ошибка: SIP/2.0 503 Service Unavailable.
D: Внутренние звонки работают.
D: У коллег в соседнем отделе то же самое.
D: Пробовали с разных аппаратов.
R: После ночного обновления прошивки шлюза отвалился основной SIP-транк провайдера (в новой версии сменился порт регистрации). В 11:02 переключили на резервный транк, вернули предыдущую конфигурацию шлюза, звонки проходят. Разбор — в постмортеме.
X: Дубликат {orig}: массовый сбой телефонии, причина — отказ основного SIP-транка после обновления шлюза. Восстановлено в 11:02.
X: Массовый инцидент, см. {orig}. Связь восстановлена, проверьте, пожалуйста, у себя.
X: Закрыто как дубликат {orig}. Переключились на резервный транк, входящие и исходящие работают.
""", r"""
S: Phones are down
S: Can't make external calls
S: Customers can't reach us
Y: No inbound or outbound external calls since about 9:45 Moscow time.
Y: Every external number returns SIP 503 Service Unavailable from the softphone.
Y: Our German customers say our number is unreachable.
D: Internal calls work.
X: Duplicate of {orig}: PBX gateway outage, the main SIP trunk failed after a firmware update. Restored at 11:02 MSK.
X: Mass incident, see {orig}. Service restored via the backup trunk.
""", cust=("Контакт-центр", "Отдел продаж", "Ресепшн", "Логистика")),

    scn("burst_vpn", "VPN и удалённый доступ", "network/vpn", 0, (0, 2, 5, 3), r"""
S: Не работает VPN
S: VPN не подключается ни у кого
S: AnyConnect: login failed
S: Не могу подключиться к удалёнке
S: VPN упал?
S: Срочно: VPN
Y: С утра не подключается VPN: «AnyConnect: login failed», пароль правильный.
Y: Ни у кого в отделе не работает VPN, все на удалёнке сидим без почты и 1С.
Y: VPN выдаёт «Login failed» сразу после ввода пароля, код MFA даже не запрашивает.
Y: Не могу подключиться к VPN, коллеги пишут, что у них тоже.
Y: Пытаюсь зайти в VPN уже полчаса, каждый раз «Login failed». В веб-почту захожу нормально.
D: Ошибка: «AnyConnect: login failed».
D: Перезагружал ноутбук, переустанавливать клиент не стал.
D: Вчера вечером всё работало.
R: Истёк сертификат RADIUS-сервера (NPS), через который межсетевой экран проверяет логины VPN, — аутентификация отклонялась у всех. В 10:25 выпустили и установили новый сертификат, подключения восстановлены. Добавили мониторинг сроков действия сертификатов.
X: Дубликат {orig}: массовый сбой VPN из-за истёкшего сертификата RADIUS. Восстановлено в 10:25, переподключитесь.
X: См. {orig} — общий сбой аутентификации VPN. Исправлено, подключение у пользователя проверили.
X: Массовый инцидент {orig}, решён. Пароль менять не нужно.
""", r"""
S: VPN down
S: VPN login failed for everyone
S: Cannot connect to VPN
Y: AnyConnect says "login failed" for me and the whole Sales EU team this morning.
Y: VPN won't connect since ~9am Moscow time, "Login failed" right after the password.
Y: VPN glitchy — login failed every time.
D: Webmail works with the same password.
X: Duplicate of {orig}: VPN authentication outage caused by an expired RADIUS server certificate. Fixed at 10:25 MSK, please reconnect.
X: Mass incident {orig}, resolved. No need to change your password.
"""),

    scn("burst_mail", "Почта", "mail/exchange", 0, (0, 3, 5, 2), r"""
S: Не работает почта
S: Outlook: Отключено
S: Почта не приходит
S: Не отправляются письма
Y: Outlook у всего отдела в статусе «Отключено», веб-почта тоже не открывается.
Y: Письма не уходят, висят в исходящих.
Y: Веб-почта выдаёт ошибку 500, Outlook не подключается.
Y: С 10 утра не приходят письма, у коллег так же.
D: Ошибка: «Сервер Microsoft Exchange недоступен».
D: В веб-версии: «Something went wrong».
R: На сервере Exchange закончилось место на томе журналов транзакций (сломалось задание резервного копирования, журналы не усекались), база MBX-DB02 отмонтировалась. Запустили полный бэкап, журналы усечены, база смонтирована в 11:40. Исправили задание резервного копирования.
X: Дубликат {orig}: сбой почтового сервера (отмонтирована база MBX-DB02). Восстановлено в 11:40, письма доставлены из очереди.
X: Массовый инцидент {orig}. Почта работает, письма из очереди доставлены.
""", r"""
S: Email down
Y: Outlook disconnected and webmail returns error 500.
X: Duplicate of {orig}: Exchange database MBX-DB02 dismounted (log volume full). Restored at 11:40 MSK, queued mail delivered.
"""),
]
# (scenario key, start in UTC, number of tickets, how many of them in English)
BURSTS = [
    ("burst_pbx", dt.datetime(2026, 7, 14, 6, 38, tzinfo=dt.UTC), 20, 3),
    ("burst_vpn", dt.datetime(2026, 8, 18, 5, 52, tzinfo=dt.UTC), 18, 5),
    ("burst_mail", dt.datetime(2026, 9, 8, 7, 5, tzinfo=dt.UTC), 8, 1),
]
# Monthly 1C update (Monday evening) that breaks the VAT report again and again.
VAT_UPDATES = [dt.date(2026, 6, 8), dt.date(2026, 7, 6), dt.date(2026, 8, 10),
               dt.date(2026, 9, 7)]
VAT_REPORTS_PER_UPDATE = [3, 4, 4, 4]
SCATTERED_DUPLICATES = 7

# ---------------------------------------------------------------------------
# 4. Knowledge base: (id, category, markdown)
# ---------------------------------------------------------------------------

KB_ARTICLES: list[tuple[str, str, str]] = [
    ("vpn-setup.md", "VPN и удалённый доступ", r"""
# Подключение к корпоративному VPN (Cisco AnyConnect)

Статья описывает, как получить удалённый доступ и настроить VPN-клиент на корпоративном ноутбуке. Через VPN доступны почта (Outlook), 1С, сетевые папки и софтфон.

## Кто может получить доступ

Доступ к VPN выдаётся сотрудникам, у которых есть согласование руководителя отдела. Заявку оформляет сам сотрудник или руководитель через портал самообслуживания (категория «VPN и удалённый доступ»). После согласования учётная запись добавляется в группу AD `VPN-Users`. На личные устройства VPN-клиент не устанавливается — это требование службы информационной безопасности; для удалённой работы выдаётся корпоративный ноутбук.

## Установка и первое подключение

1. На корпоративном ноутбуке клиент Cisco AnyConnect устанавливается автоматически. Если его нет, откройте «Центр программного обеспечения» и установите пакет «Cisco AnyConnect 4.10».
2. Запустите AnyConnect и введите адрес `vpn.company.ru`.
3. Введите логин в формате `i.ivanov` (без домена) и пароль от Windows.
4. Подтвердите вход в приложении-аутентификаторе (push-уведомление или шестизначный код).
5. После подключения проверьте, что открывается страница `https://intranet.corp.local`.

Первое подключение лучше выполнять в офисе или сразу после получения ноутбука: при этом на устройство устанавливается машинный сертификат.

## Полезно знать

- Сессия VPN разрывается после 30 минут бездействия и в любом случае через 12 часов.
- Трафик к интернет-сайтам идёт напрямую (split tunnel), через туннель идут только корпоративные ресурсы.
- Если вы сменили пароль вне офиса, подключитесь к VPN, заблокируйте экран (Win+L) и разблокируйте его новым паролем — так обновится кэш учётных данных.
- При ошибках подключения см. статью «Ошибки AnyConnect» (`vpn-anyconnect-errors.md`).
"""),
    ("vpn-anyconnect-errors.md", "VPN и удалённый доступ", r"""
# Ошибки AnyConnect: login failed, ошибки сертификата, разрывы

## «Login failed»

Наиболее частые причины:

- пароль недавно менялся, а в профиле AnyConnect сохранён старый;
- учётная запись заблокирована после нескольких неудачных попыток (см. `password-reset.md`);
- учётная запись не состоит в группе `VPN-Users` (например, после перевода в другой отдел);
- приложение-аутентификатор привязано к старому телефону.

Что сделать: проверьте вход в веб-почту с тем же паролем. Если веб-почта открывается, а VPN — нет, создайте заявку и укажите точное время попытки. Если «Login failed» одновременно у многих сотрудников — это массовый сбой: дежурный инженер сети уже получил оповещение мониторинга, отдельные заявки создавать не нужно.

## «Certificate validation failure»

Ошибка означает, что на ноутбуке нет действующего машинного сертификата или не установлена цепочка сертификатов удостоверяющего центра. Обычно так бывает, если ноутбук больше 60 дней не подключался к корпоративной сети. Исправляет инженер: подключение через временный профиль и перевыпуск сертификата. Пользователю нужно быть на связи и держать ноутбук включённым 15–20 минут.

## VPN постоянно отключается

- Проверьте стабильность домашнего интернета (например, видеозвонок без VPN).
- Отключите режим энергосбережения Wi-Fi адаптера в диспетчере устройств.
- При подключении через мобильный интернет или PPPoE возможны проблемы с MTU — укажите это в заявке, инженер поменяет параметры профиля.
- Приложите журнал: AnyConnect → шестерёнка → Diagnostics → Collect DART.

## Что указать в заявке

Версию клиента, время ошибки, текст ошибки (скриншот) и способ подключения к интернету (домашний Wi-Fi, 4G, гостиница).
"""),
    ("softphone-setup.md", "Телефония", r"""
# Настройка софтфона MicroSIP

## Получение внутреннего номера

Внутренний номер выдаёт группа телефонии (team-voice) по заявке руководителя или HR. Номера выделяются из диапазонов: 20xx — дирекция и бухгалтерия, 21xx — отдел продаж, 23xx — международный отдел (Sales EU), 33xx — контакт-центр и сервис. В заявке укажите ФИО, отдел и нужно ли включить сотрудника в группу вызова.

## Настройка

1. Установите MicroSIP из «Центра программного обеспечения».
2. Меню → «Добавить аккаунт». Заполните поля:
   - SIP-сервер и домен: `pbx.corp.local`;
   - пользователь: внутренний номер (например, `2158`);
   - пароль: SIP-пароль из письма team-voice (он не совпадает с паролем Windows);
   - транспорт: UDP, порт 5060.
3. В настройках звука явно выберите гарнитуру для микрофона и динамиков, не оставляйте «По умолчанию».
4. Наберите `*43` — эхо-тест. Если вы слышите себя, всё настроено.

## Работа из дома

Софтфон работает только при подключённом VPN. Если дома статус регистрации красный, а в офисе зелёный — подключите VPN и перезапустите MicroSIP. Старый адрес `pbx-old.corp.local` выведен из эксплуатации: если он указан в настройках, замените его на `pbx.corp.local`.

## Частые ошибки

- `408 Request Timeout` — сервер недоступен: нет VPN или неверный адрес сервера.
- `403 Forbidden` — неверный SIP-пароль, запросите новый.
- Нет звука — проверьте выбор устройств и что на гарнитуре не нажата кнопка mute.

Подробнее о кодах ответов SIP — в статье `pbx-sip-errors.md`.
"""),
    ("pbx-sip-errors.md", "Телефония", r"""
# SIP response codes: what they mean and what to do

Our PBX (Asterisk 18) and the VoIP gateway talk SIP to the carrier. Softphones and IP phones show SIP response codes when something goes wrong. This article explains the most common ones for L1/L2 staff.

## Client-side errors (4xx)

- **403 Forbidden** — wrong SIP password or the extension is disabled. Check the extension in the PBX admin panel and regenerate the password if needed.
- **404 Not Found** — the dialled number does not exist or the dial plan has no route for it (often after IVR changes).
- **408 Request Timeout** — the phone cannot reach the PBX. Usually no VPN, a wrong server address (`pbx-old.corp.local` is decommissioned) or UDP 5060 blocked.
- **486 Busy Here** — the callee is busy; not an error unless the line is actually free (then check call-waiting settings).

## Server and carrier errors (5xx)

- **503 Service Unavailable** — the PBX or the gateway cannot route the call to the carrier: the SIP trunk is down, all trunk channels are in use or the carrier rejects us (changed IP, ACL). If many users report 503 at the same time, treat it as a major incident: check the trunk status on the gateway and call the carrier's NOC. Do not work every caller's ticket separately; link them to the first one as duplicates.
- **500 Server Internal Error** — usually a dial plan error after a configuration change; roll back the last change.

## What to collect before escalating to L3

1. Calling and called number, exact time (with time zone).
2. Inbound or outbound, internal or external call.
3. The SIP code and a screenshot or log lines from the softphone.
4. Whether colleagues are affected.

Tickets without this information are returned to the reporter for clarification.
"""),
    ("mail-outlook-profile.md", "Почта", r"""
# Outlook не подключается к серверу: пересоздание профиля

## Признаки

- Outlook в статусе «Отключено» или «Попытка подключения…», при этом веб-почта `https://mail.company.ru` работает.
- Outlook постоянно запрашивает пароль.
- Зависание на «Загрузка профиля».
- Ошибка `0x8004010F` при отправке/получении.

Если веб-почта тоже не открывается или проблема сразу у многих сотрудников — это сбой сервера, заявку нужно привязать к массовому инциденту.

## Шаг 1. Очистить сохранённые пароли

Откройте «Панель управления → Диспетчер учётных данных → Учётные данные Windows» и удалите все записи, начинающиеся с `MicrosoftOffice16`. Перезапустите Outlook и введите пароль заново. Это помогает после смены пароля.

## Шаг 2. Пересоздать профиль

1. Закройте Outlook.
2. «Панель управления → Почта → Показать конфигурации → Добавить», назовите профиль, например, `Outlook2`.
3. Введите адрес почты, Outlook настроится автоматически.
4. Выберите «Всегда использовать этот профиль» и запустите Outlook.

Первая синхронизация большого ящика (более 20 ГБ) может занять несколько часов. Старый OST-файл после проверки можно удалить из папки `%LOCALAPPDATA%\Microsoft\Outlook`.

## Когда создавать заявку

Если после пересоздания профиля проблема осталась, создайте заявку и укажите версию Outlook («Файл → Учётная запись Office»), текст ошибки и размер ящика. Для ящиков больше 45 ГБ см. также `mailbox-quota.md`.
"""),
    ("mailbox-quota.md", "Почта", r"""
# Mailbox quota and online archive

## Limits

Standard mailboxes have a 50 GB quota. At 45 GB you receive a warning, at 49 GB sending is blocked, and at 50 GB the mailbox stops receiving mail and senders get a non-delivery report. Shared mailboxes have the same limits. Quota increases are not granted by default: the mail team enables the online archive instead.

## Online archive

The online archive is a second mailbox shown in Outlook as "Online Archive - name@company.ru". Once enabled, a retention policy moves items older than two years to the archive automatically (the first run can take up to 48 hours). Archived mail stays searchable in Outlook and webmail. To request the archive, open a ticket in the "Почта" category with your mailbox address.

## Freeing space quickly

1. In Outlook, go to File → Tools → Mailbox Cleanup and sort by size.
2. Search for `size:>10MB`, save large attachments to OneDrive or the department file share, then delete the messages.
3. Empty "Deleted Items" and "Recoverable Items" (Folder → Recover Deleted Items → select all → Purge).
4. Check "Sent Items": it is often the largest folder.

## Notes

Do not create PST files on network drives — they are not supported and get corrupted. If the mailbox does not shrink within a day after the cleanup, mention it in the ticket; the OST file may need to be rebuilt (see `mail-outlook-profile.md`).
"""),
    ("mail-spam-quarantine.md", "Почта", r"""
# Письмо попало в карантин спам-фильтра

## Как работает фильтр

Все входящие письма проходят через шлюз спам-фильтра. Письма с высокой оценкой спама, вложениями с макросами, зашифрованными архивами или от доменов с плохой репутацией задерживаются в карантине на 30 дней. Раз в день пользователь получает дайджест «Письма в карантине» со списком задержанных писем.

## Как освободить письмо самостоятельно

1. Откройте дайджест и нажмите «Освободить» напротив нужного письма. Письмо придёт во «Входящие» в течение 5 минут.
2. Если ссылки «Освободить» нет (письмо с опасным вложением), освободить его может только администратор.
3. Кнопка «Всегда разрешать отправителя» добавляет адрес в личный белый список.

## Когда создавать заявку

- Контрагент утверждает, что отправил письмо, но его нет ни во «Входящих», ни в «Нежелательной почте», ни в дайджесте.
- Письма от какого-то домена перестали приходить совсем.
- Нужно добавить домен партнёра в белый список для всей компании.

В заявке укажите адрес отправителя, примерное время отправки и тему письма. Скриншот отчёта о доставке со стороны отправителя сильно ускоряет поиск.

## Важно

Не просите освободить письмо, если сомневаетесь в отправителе: подозрительные письма пересылайте во вложении на `security@company.ru` или создайте заявку «Подозрительное письмо». Вложения, освобождённые администратором, предварительно проверяются в песочнице.
"""),
    ("1c-vat-report-after-update.md", "1С и отчёты", r"""
# Отчёты по НДС не формируются после обновления 1С

## Симптомы

После планового ежемесячного обновления конфигурации 1С:Бухгалтерия перестают формироваться книга продаж, книга покупок, отчёт «Анализ учёта по НДС» или декларация по НДС. Типовые ошибки:

- «Поле объекта не обнаружено (СуммаНДСВосстановлено)»;
- `{ОбщийМодуль.УчетНДСПереопределяемый(214)}: Поле объекта не обнаружено`;
- раздел 9 декларации заполняется пустым.

Проблема повторяется почти после каждого обновления, потому что в базе используется расширение «НДС_Доработки», написанное под конкретный релиз конфигурации.

## Причина

При обновлении конфигурации платформа проверяет совместимость расширений. Если расширение затрагивает объекты, изменённые в новом релизе, оно отключается («Расширение не применено») без явного предупреждения пользователям. Отчёты, которые используют доработанные модули, начинают падать.

## Решение (для группы 1С)

1. Откройте «Администрирование → Печатные формы, отчёты и обработки → Расширения».
2. Проверьте статус расширения «НДС_Доработки». Если стоит «Не применено», загрузите версию расширения для нового релиза из хранилища `1c-extensions/nds`.
3. Включите расширение, снимите флаг «Безопасный режим», перезапустите сеансы пользователей.
4. Сформируйте книгу продаж за прошлый месяц и сверьте с предыдущим результатом.

## Профилактика

Перед установкой обновления в рабочую базу проверяйте расширение в тестовой копии. Обновления ставятся в понедельник вечером; во вторник утром дежурный по 1С проверяет отчёты по НДС до начала массовой работы бухгалтерии. Новые обращения с той же ошибкой связывайте с исходной заявкой как дубликаты.
"""),
    ("1c-deadlock-errors.md", "1С и отчёты", r"""
# «Ошибка СУБД: deadlock» и ошибки блокировок в 1С

## Что означает ошибка

Сообщение «Ошибка СУБД: … Transaction was deadlocked on lock resources with another process and has been chosen as the deadlock victim» означает, что две транзакции ждали друг друга и сервер СУБД принудительно прервал одну из них. Похожие ошибки: «Lock request time out period exceeded», «Ошибка блокировки объекта». Данные при этом не повреждаются — прерванная операция просто не выполнилась.

## Что делать пользователю

1. Повторите операцию через 1–2 минуты.
2. Если ошибка повторяется, узнайте у коллег, не выполняется ли сейчас закрытие месяца или массовое перепроведение документов.
3. Создайте заявку и приложите полный текст ошибки, время и название отчёта или документа.

## Диагностика (группа 1С)

- Посмотрите технологический журнал и журнал регистрации за время ошибки, найдите второй процесс.
- Частая причина — регламентное задание пересчёта итогов или обмена, запущенное днём. Перенесите его на ночь.
- Проверьте, что для регистров включены управляемый режим блокировок и режим разделения итогов.
- На SQL-сервере проверьте план обслуживания: перестроение индексов и обновление статистики должны выполняться еженедельно.

## Закрытие месяца

В последние и первые рабочие дни месяца нагрузка максимальна. Согласуйте с главным бухгалтером порядок: закрытие месяца по каждой организации выполняет один пользователь, тяжёлые отчёты за год формируются в фоновом режиме.
"""),
    ("1c-payroll-calculation.md", "1С и отчёты", r"""
# ЗУП: проверка расчёта зарплаты, НДФЛ и больничных

## Перед созданием заявки

Большинство вопросов по расчёту зарплаты в 1С:ЗУП 3.1 связаны с исходными данными, а не с ошибкой программы. Перед обращением проверьте:

- статус налогового резидента сотрудника (карточка сотрудника → «Налог на доходы») — при незаполненном статусе НДФЛ считается по ставке 30%;
- справки о заработке с предыдущих мест работы для расчёта больничных и декретных — без них пособие считается из МРОТ;
- дату запрета изменения данных — если период закрыт, документы не проводятся;
- способ отражения в бухучёте для новых видов начислений.

## Как проверить расчёт

Откройте документ «Начисление зарплаты», выделите строку сотрудника и нажмите «Подробнее о расчёте». Для больничных и отпускных используйте кнопку «Подробнее» в самом документе — там видны расчётный период, исключаемые дни и средний заработок. Сравните с прошлым месяцем через отчёт «Анализ зарплаты по сотрудникам».

## Выгрузка в банк

Реестры для зарплатного проекта формируются обработкой «Обмен с банками». Если банк отклонил реестр, проверьте, что у всех сотрудников заполнены лицевые счета, и уточните у банка версию формата — банки периодически обновляют схемы XML.

## Сроки

Аванс выплачивается 20-го числа, зарплата — 5-го. Заявки по расчёту зарплаты, созданные за 2 рабочих дня до выплаты, получают высокий приоритет. Укажите табельные номера сотрудников и период.
"""),
    ("password-reset.md", "Учётные записи", r"""
# Сброс пароля и разблокировка учётной записи

## Требования к паролю

Пароль учётной записи Windows используется для входа в компьютер, почту, VPN, 1С и Wi-Fi. Требования: не менее 12 символов, буквы в разных регистрах и цифры, нельзя повторять 12 последних паролей. Пароль действует 90 дней, за 14 дней Windows предупреждает о смене.

## Учётная запись заблокирована

Учётная запись блокируется на 30 минут после 10 неверных попыток. Чаще всего блокировку вызывает не сам пользователь, а устройство со старым паролем: телефон с настроенной почтой, второй ноутбук, подключённый сетевой диск или пароль, сохранённый в AnyConnect. После разблокировки обновите пароль на всех устройствах, иначе блокировка повторится.

## Как сбросить пароль

1. На портале самообслуживания `https://password.company.ru` — после подтверждения кода из SMS.
2. По телефону поддержки 1234 — инженер подтверждает личность по табельному номеру и контрольному вопросу.
3. Лично в ИТ-отделе (каб. 108) с пропуском.

Пароли по электронной почте и в мессенджерах не передаются.

## После смены пароля вне офиса

Если вы работаете удалённо, меняйте пароль при подключённом VPN, затем заблокируйте экран (Win+L) и войдите с новым паролем — так обновится кэш на ноутбуке. Обновите пароль в почте на телефоне и в настройках Wi-Fi. Если после смены пароля не работает VPN, см. `vpn-anyconnect-errors.md`.
"""),
    ("file-share-access.md", "Доступ и права", r"""
# Доступ к сетевым папкам: как запросить и что делать при 0x80070005

## Как устроены права

Права на папки файлового сервера `\\fs01` выдаются только через группы AD: `FS-<Отдел>-RO` (чтение) и `FS-<Отдел>-RW` (изменение). Персональные права на папки не назначаются. У каждой папки верхнего уровня есть владелец ресурса — обычно руководитель отдела; без его согласования доступ не выдаётся.

## Как запросить доступ

Создайте заявку на портале в категории «Доступ и права» и укажите:

- полный путь к папке, например `\\fs01\Бухгалтерия\Закрытие`;
- нужен доступ на чтение или на изменение;
- согласование владельца ресурса (можно переслать письмо).

Срок выполнения — 1 рабочий день после согласования.

## Ошибка «Нет доступа» (0x80070005)

1. Выйдите из системы и войдите снова — членство в группах обновляется только при входе.
2. Если работаете через VPN, после подключения VPN заблокируйте и разблокируйте экран.
3. Если доступ был и пропал — возможно, вас исключили из группы при переводе в другой отдел или папку перенесли. Укажите в заявке, когда доступ последний раз работал.

## Восстановление файлов

Для папок на `\\fs01` включены теневые копии (2 раза в день, хранятся 14 дней): правой кнопкой по папке → «Свойства» → «Предыдущие версии». Файлы старше 14 дней восстанавливаются из резервной копии по заявке.
"""),
    ("printer-troubleshooting.md", "Оборудование", r"""
# Принтер не печатает: порядок действий

## Проверьте сами

1. Посмотрите на экран принтера: замятие бумаги, нет тонера, открыта крышка.
2. Выключите и включите принтер, подождите 2 минуты.
3. Откройте «Параметры → Принтеры» и проверьте, что принтер не в статусе «Отключён» и нет зависших заданий. Удалите свои зависшие задания.
4. Попробуйте напечатать тестовую страницу с другого компьютера.

## Частые причины

- **Зависла очередь на сервере печати `print01`.** Задания у всех висят со статусом «Ошибка». Решение — перезапуск диспетчера очереди печати на сервере (выполняет группа рабочих мест).
- **Принтер получил новый IP-адрес.** Принтер печатает с панели, но не по сети. Решение — резервирование адреса в DHCP и обновление порта на сервере печати.
- **Коды ошибок HP 49.xxxx и 79.xxxx** — сбой прошивки; выключите принтер на 5 минут. Если ошибка повторяется, нужна заявка.
- **Печать пустыми листами** — закончился тонер или с нового картриджа не снята защитная лента.

## Картриджи и ремонт

Картриджи хранятся в ИТ-отделе (каб. 108), заявку на замену можно создать через портал или Telegram-бот. Если у МФУ перестало работать сканирование в почту, укажите это в заявке: обычно причина в настройках SMTP-релея, а не в самом устройстве.
"""),
    ("wifi-corporate.md", "Сеть", r"""
# Connecting to corporate Wi-Fi (CORP, 802.1X)

## Networks

- **CORP** — corporate network for company laptops and phones. It uses 802.1X: laptops authenticate with a machine certificate (EAP-TLS), phones with your Windows username and password (PEAP).
- **GUEST** — internet only, for visitors. The password changes every Monday and is available at reception; for events, reception can issue day vouchers.
- **WH-SCAN** — warehouse network for handheld scanners only.

## Connecting a phone

1. Select CORP, EAP method PEAP, phase 2 MSCHAPv2.
2. CA certificate: "Use system certificates", domain `corp.local`.
3. Identity: your username (e.g. `a.schmidt`); password: your Windows password.

After a password change the phone keeps trying the old password and can lock your account — forget the network and connect again.

## Laptop does not connect

- If the laptop keeps asking for credentials, the machine certificate is missing or expired (usually after a long time away from the office). Connect with a cable or via VPN and open a ticket; the certificate will be re-issued.
- "Can't connect to this network": forget the network (Settings → Wi-Fi → Manage known networks) and reconnect.
- Weak signal in a specific area: note the room or warehouse row and the time; the network team will check access point coverage.

## What to include in a ticket

Device type, location (floor, room), network name, the exact error and whether colleagues nearby are affected.
"""),
    ("laptop-bitlocker-recovery.md", "Оборудование", r"""
# BitLocker recovery key prompt

## Why it happens

All company laptops are encrypted with BitLocker. The recovery screen ("Enter the recovery key for this drive") appears when the TPM detects a change in the boot environment: a BIOS/firmware update installed without suspending BitLocker, a docking station or USB device in the boot order, changed Secure Boot settings or a replaced mainboard. It is not a virus and your data is safe.

## Getting the key

1. Note the **Key ID** (first 8 characters) shown on the recovery screen.
2. Call the service desk (+7 495 123-45-00, ext. 1234). The engineer verifies your identity (employee number and security question) and reads the 48-digit key from Active Directory.
3. Never send the key by email or messenger and never give it to anyone who calls you.

Outside working hours the on-duty engineer of team-desktop handles these calls.

## After entering the key

To stop the prompt from coming back, the TPM protector has to be resealed: an administrator runs `manage-bde -protectors -disable C: -RebootCount 1` and restarts the laptop. If you are not an administrator, the engineer does it remotely. For planned BIOS updates, IT suspends BitLocker automatically as part of the update package.

## Repeated prompts

If the key is requested at every boot, open a ticket: the TPM may need to be cleared or the mainboard replaced. Include the laptop model and asset number.
"""),
]
KB_IDS = {kb_id for kb_id, _, _ in KB_ARTICLES}

# ---------------------------------------------------------------------------
# 5. Generator
# ---------------------------------------------------------------------------

WORD_RE = re.compile(r"\b[а-яёa-z]{5,}\b")
QUOTED_RE = re.compile(r"«[^»]*»|\"[^\"]*\"")


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def lcfirst(text: str) -> str:
    """Lower-case the first letter unless it starts an acronym or a name."""
    first = text.split(" ", 1)[0].rstrip(",.:")
    if (not first or first in PROPER_WORDS or first.startswith("I'")
            or any(c.isupper() or c.isdigit() for c in first[1:]) or first[0].isdigit()):
        return text
    return text[:1].lower() + text[1:]


@dataclass
class Person:
    name: str   # "Ольга Кузнецова"
    first: str  # "Ольга"
    short: str  # "Кузнецова О. В."
    dept: str
    role: str


@dataclass
class Factory:
    """Builds ticket dicts; all randomness goes through ``self.rng``."""

    rng: random.Random
    seq: int = 0

    # -- small helpers -------------------------------------------------------
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, seq):
        return self.rng.choice(seq)

    def weighted(self, items, weights):
        return self.rng.choices(items, weights=weights)[0]

    def sample(self, seq, k: int) -> list:
        return self.rng.sample(seq, min(k, len(seq)))

    def ext(self) -> int:
        return self.rng.randint(2000, 3399)

    def typo(self, text: str) -> str:
        """Introduce one realistic typo outside quoted error messages."""
        protected = [m.span() for m in QUOTED_RE.finditer(text)]
        words = [m for m in WORD_RE.finditer(text)
                 if not any(a <= m.start() < b for a, b in protected)]
        if not words:
            return text
        m = self.pick(words)
        w, i = m.group(), self.rng.randrange(1, len(m.group()) - 1)
        kind = self.rng.randrange(3)
        if kind == 0:
            new = w[:i] + w[i + 1] + w[i] + w[i + 2:]
        elif kind == 1:
            new = w[:i] + w[i + 1:]
        else:
            new = w[:i] + w[i] + w[i:]
        return text[:m.start()] + new + text[m.end():]

    # -- people --------------------------------------------------------------
    def person(self, lang: str, dept: str | None = None) -> Person:
        if lang == "en":
            name = self.pick(NAMES_EN)
            return Person(name, name.split()[0], name, dept or self.pick(DEPTS_EN),
                          self.pick(ROLES_EN))
        female = self.chance(0.55)
        first = self.pick(FEMALE_RU if female else MALE_RU)
        last = self.pick(SURNAMES_RU) + ("а" if female else "")
        dept = dept or self.pick(DEPTS_RU)
        return Person(f"{first} {last}", first,
                      f"{last} {first[0]}. {self.pick(INITIALS_RU)}.", dept,
                      self.pick(ROLES_RU.get(dept, ROLES_RU_DEFAULT)))

    def customer(self, sc: Scenario, lang: str) -> tuple[str, Person]:
        dept = self.pick(sc.cust) if lang == "ru" and sc.cust and self.chance(0.75) else None
        sender = self.person(lang, dept)
        return (sender.short if self.chance(0.25) else sender.dept), sender

    def signature(self, lang: str, p: Person) -> str:
        if lang == "en":
            return self.pick([
                f"Best regards,\n{p.name}\n{p.role} | {p.dept}\n+49 30 {self.rng.randint(1000000, 9999999)}",
                f"Thanks,\n{p.first}",
                f"Kind regards,\n{p.name}\n\nSent from my iPhone",
                f"Cheers,\n{p.first}",
            ])
        mobile = (f"+7 9{self.rng.randint(10, 99)} {self.rng.randint(100, 999)}-"
                  f"{self.rng.randint(10, 99)}-{self.rng.randint(10, 99)}")
        return self.pick([
            f"--\nС уважением,\n{p.name}\n{cap(p.role)}, {p.dept}\nтел. вн. {self.ext()}",
            f"С уважением, {p.name}",
            f"{p.name}\n{p.dept}\nвн. {self.ext()}, моб. {mobile}",
            f"Спасибо!\n{p.first}",
            f"--\n{p.name} | {p.role}\n{COMPANY_RU}\n"
            "Это письмо и вложения к нему конфиденциальны.",
        ])

    def owner(self, module: str) -> str:
        owners, _ = OWNERS[module]
        if len(owners) == 1 or self.chance(0.6):
            return owners[0]
        return self.pick(owners[1:])

    # -- time ----------------------------------------------------------------
    def month_edge(self, day: dt.date) -> dt.date:
        """Move a day to the month-end / month-start closing window."""
        first = day.replace(day=1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        if self.chance(0.5):
            return last - dt.timedelta(days=self.rng.randint(0, 2))
        return first + dt.timedelta(days=self.rng.randint(0, 4))

    def random_time(self, family: str, start=START, end=END) -> dt.datetime:
        n_days = (end.date() - start.date()).days + 1
        while True:
            day = start.date() + dt.timedelta(days=self.rng.randrange(n_days))
            if family == "erp-1c" and self.chance(0.35):
                day = self.month_edge(day)
            if day.weekday() < 5 or self.chance(0.12):
                break
        if self.chance(0.92):  # 08:30-19:00 Moscow time, peak in the morning
            minutes = int(self.rng.triangular(5 * 60 + 30, 16 * 60, 7 * 60))
        elif self.chance(0.5):
            minutes = self.rng.randint(16 * 60, 23 * 60 + 59)
        else:
            minutes = self.rng.randint(0, 5 * 60 + 29)
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        return midnight + dt.timedelta(minutes=minutes, seconds=self.rng.randint(0, 59))

    # -- text pieces ---------------------------------------------------------
    def symptom(self, t: dict, typo_p: float = 0.1) -> str:
        text = self.pick(t["Y"])
        while self.chance(typo_p):
            text = self.typo(text)
            typo_p /= 3
        return text

    def impact(self, lang: str, prio: str, family: str) -> str:
        extra = IMPACT_FAMILY[lang].get(family, {}).get(prio, [])
        return self.pick(IMPACT[lang][prio] + extra * 2).format(
            n=self.rng.randint(3, 25), h=self.rng.randint(11, 17))

    def context(self, lang: str, request: bool) -> str:
        pool = CONTEXT["any"][lang] + ([] if request else CONTEXT["incident"][lang])
        return self.pick(pool).format(ext=self.ext())

    def subject(self, t: dict, lang: str, prio: str, channel: str) -> str:
        subj = self.pick(t["S"])
        already_urgent = re.search(r"срочно|urgent", subj, re.I)
        if not already_urgent and self.chance(SUBJECT_PREFIX_PROB[prio]):
            subj = self.pick(SUBJECT_PREFIX[lang][prio]) + subj
        elif channel == "email" and self.chance(0.06):
            subj = self.pick(["RE: ", "FW: ", "Fwd: "]) + subj
        if channel == "telegram" and self.chance(0.3):
            subj = subj.lower()
        return subj

    def checked(self, lang: str, family: str) -> str:
        pool = CHECKED[lang]["_"] + CHECKED[lang].get(family, [])
        return ", ".join(self.sample(pool, self.rng.randint(1, 3)))

    def phone_intro(self, lang: str, customer: str) -> str:
        return self.pick(PHONE_INTRO[lang]).format(cust=customer).replace("..", ".")

    def greet(self, lang: str, text: str) -> str:
        greet = self.pick(GREET[lang])
        if self.chance(0.6):
            return f"{greet}\n\n{text}"
        return f"{greet} {lcfirst(text) if greet.endswith(',') else text}"

    # -- body styles ---------------------------------------------------------
    def wants_impact(self, sc, prio) -> bool:
        if sc.request and prio == "medium":
            return False
        return self.chance(IMPACT_PROB[prio])

    def plain_body(self, t, lang, prio, sc, sender, sign_p) -> str:
        sentences = [self.symptom(t)]
        sentences += self.sample(t.get("D", []), self.pick([0, 1, 1, 2]))
        if self.chance(0.35):
            sentences.append(self.context(lang, sc.request))
        if self.wants_impact(sc, prio):
            sentences.append(cap(self.impact(lang, prio, sc.family)) + ".")
        if self.chance(0.5):
            urgent = prio in ("high", "critical") and self.chance(0.6)
            sentences.append(self.pick((ASK_URGENT if urgent else ASK)[lang]))
        text = (" " if self.chance(0.55) else "\n").join(sentences)
        if self.chance(0.65):
            text = self.greet(lang, text)
        if self.chance(sign_p):
            text += "\n\n" + self.signature(lang, sender)
        return text

    def structured_body(self, t, lang, prio, sc, sender, sign_p) -> str:
        lab = STRUCT_LABELS[lang]
        blocks = [self.pick(GREET[lang])] if self.chance(0.5) else []
        blocks.append(self.symptom(t, typo_p=0.05))
        if "P" in t and self.chance(0.85):
            steps = "\n".join(f"{i}. {s}" for i, s in enumerate(t["P"], 1))
            blocks.append(f"{lab['steps']}\n{steps}")
            if "E" in t:
                blocks.append(f"{lab['exp']} {cap(t['E'][0])}\n{lab['act']} {cap(t['A'][0])}")
            if t.get("D") and self.chance(0.4):
                blocks.append(f"{lab['more']} {self.pick(t['D'])}")
        elif t.get("D"):
            details = " ".join(self.sample(t["D"], self.pick([1, 1, 2])))
            blocks.append(f"{self.pick([lab['desc'], lab['more']])} {details}")
        if self.chance(0.3):
            blocks.append(self.context(lang, sc.request))
        facts = []
        if self.chance(0.7):
            facts.append(f"{lab['checked']} {self.checked(lang, sc.family)}.")
        if self.chance(0.85):
            facts.append(f"{lab['impact']} {cap(self.impact(lang, prio, sc.family))}.")
        if self.chance(0.75):
            envs = t.get("N") or ENV.get(sc.module, ENV[sc.family])[lang]
            facts.append(f"{lab['env']} {self.pick(envs)}")
        if facts:
            blocks.append("\n".join(facts))
        if self.chance(sign_p):
            blocks.append(self.signature(lang, sender))
        return "\n\n".join(blocks)

    def short_body(self, t, lang) -> str:
        text = self.symptom(t, typo_p=0.15)
        if t.get("D") and self.chance(0.3):
            text += " " + self.pick(t["D"])
        if self.chance(0.3):
            text += " " + ("Спасибо." if lang == "ru" else "Thanks.")
        return text

    def phone_body(self, t, lang, prio, sc, customer) -> str:
        parts = [self.phone_intro(lang, customer),
                 self.pick(PHONE_LEAD[lang]), lcfirst(self.symptom(t, typo_p=0.05))]
        parts += self.sample(t.get("D", []), self.pick([0, 1, 1]))
        if self.wants_impact(sc, prio):
            parts.append(cap(self.impact(lang, prio, sc.family)) + ".")
        if self.chance(0.6):
            tails = PHONE_TAIL["any"][lang] + ([] if sc.request else PHONE_TAIL["incident"][lang])
            parts.append(self.pick(tails).format(ext=self.ext()))
        return " ".join(parts)

    def chat_body(self, t, lang, prio) -> str:
        text = lcfirst(self.symptom(t, typo_p=0.3))
        if text.endswith(".") and self.chance(0.7):
            text = text[:-1]
        if t.get("D") and self.chance(0.35):
            text += "\n" + lcfirst(self.pick(t["D"]))
        urgent = prio in ("high", "critical") and self.chance(0.5)
        suffix = self.pick((TG_URGENT if urgent else TG_SUFFIX)[lang])
        return self.pick(TG_PREFIX[lang]) + text + suffix

    def vague_text(self, t, lang, prio, channel, sender, customer) -> tuple[str, str]:
        subj, body = (part.strip() for part in self.pick(t["V"]).split("||"))
        if prio in ("high", "critical") and self.chance(0.5):
            body += self.pick([". Срочно!", ", очень нужно сегодня"] if lang == "ru"
                              else [". Urgent!", ", need it today"])
        if channel == "phone":
            intro = self.phone_intro(lang, customer)
            return subj, f"{intro} {self.pick(PHONE_LEAD[lang])} {body}."
        if channel in ("email", "portal") and self.chance(0.5):
            body = f"{self.pick(GREET[lang])} {body}"
        if channel == "email" and self.chance(0.6):
            body += "\n\n" + self.signature(lang, sender)
        return subj, body

    def compose(self, sc, t, lang, prio, channel, vague, sender, customer):
        if vague:
            return self.vague_text(t, lang, prio, channel, sender, customer)
        subject = self.subject(t, lang, prio, channel)
        if channel == "phone":
            return subject, self.phone_body(t, lang, prio, sc, customer)
        if channel == "telegram":
            return subject, self.chat_body(t, lang, prio)
        weights = [55, 25, 20] if channel == "email" else [45, 40, 15]
        if sc.request:  # service requests are not written as bug reports
            weights[1] = 0
        style = self.weighted(["plain", "structured", "short"], weights)
        sign_p = 0.8 if channel == "email" else 0.15
        if style == "plain":
            return subject, self.plain_body(t, lang, prio, sc, sender, sign_p)
        if style == "structured":
            return subject, self.structured_body(t, lang, prio, sc, sender, sign_p)
        return subject, self.short_body(t, lang)

    def answer(self, sc, t, lang, role, kb, info, no_reply) -> str:
        if role == "duplicate":
            return self.pick(t.get("X") or GENERIC_DUP[lang])
        text = self.pick(t["R"])
        if kb and self.chance(0.5):
            text += " " + self.pick(KB_REF[lang]).format(kb=kb)
        elif self.chance(0.3):
            text += " " + self.pick(CLOSERS[lang])
        if info:
            what = self.pick(t["Q"]) if "Q" in t else INFO_WHAT[lang][sc.family]
            prefix = self.pick(INFO_PREFIX[lang]).format(what=what)
            follow = self.pick(INFO_NO_REPLY[lang]) if no_reply else \
                f"{self.pick(INFO_AFTER[lang])} {text}"
            text = f"{prefix} {follow}"
        return text

    # -- tickets -------------------------------------------------------------
    def ticket(self, sc, lang, when, *, role="single", prio=None, channel=None,
               vague=None, customer=None, kb_p=0.6, variant=None) -> dict:
        if variant is None:
            variant = self.rng.randrange(sc.n_variants(lang))
        t = sc.view(lang, variant)
        prio = prio or self.weighted(PRIORITIES, sc.prio)
        channel = channel or self.weighted(CHANNELS, CHANNEL_WEIGHTS)
        if vague is None:
            vague = role == "single" and "V" in t and self.chance(0.23)
        cust, sender = customer or self.customer(sc, lang)
        subject, body = self.compose(sc, t, lang, prio, channel, vague, sender, cust)
        info = role == "single" and self.chance(0.9 if vague else 0.035)
        no_reply = info and self.chance(0.2)
        kb = sc.kb if sc.kb and not no_reply and self.chance(kb_p) else ""
        category = sc.category
        if sc.alt and self.chance(sc.alt[1]):  # boundary cases are labelled inconsistently
            category = sc.alt[0]
        self.seq += 1
        return {
            "key": self.seq, "when": when, "subject": subject, "body": body,
            "language": lang, "customer": cust, "channel": channel,
            "category": category, "priority": prio, "module": sc.module,
            "owner": self.owner(sc.module),
            "answer": self.answer(sc, t, lang, role, kb, info, no_reply),
            "dup_key": None, "kb_article": kb, "info_requested": info,
            "scenario": sc, "variant": variant,
        }

    def background(self, n: int) -> list[dict]:
        weights = {lang: [s.weight if lang in s.texts else 0 for s in SCENARIOS]
                   for lang in ("ru", "en")}
        out = []
        for _ in range(n):
            lang = "en" if self.chance(0.21) else "ru"
            sc = self.rng.choices(SCENARIOS, weights=weights[lang])[0]
            out.append(self.ticket(sc, lang, self.random_time(sc.family)))
        return out

    def burst(self, sc: Scenario, start: dt.datetime, size: int, n_en: int) -> list[dict]:
        """An outage: the first report is the original, the rest point at it."""
        rest = ["en"] * n_en + ["ru"] * (size - 1 - n_en)
        self.rng.shuffle(rest)
        owners, on_duty = OWNERS[sc.module]
        incident_owner = on_duty or owners[0]
        out, when = [], start
        for i, lang in enumerate(["ru", *rest]):
            role = "original" if i == 0 else "duplicate"
            tk = self.ticket(sc, lang, when, role=role, prio="critical" if i == 0 else None,
                             channel=self.weighted(CHANNELS, [25, 15, 35, 25]),
                             vague=False, kb_p=0.0)
            tk["owner"] = incident_owner if self.chance(0.8) else owners[0]
            if out:
                tk["dup_key"] = out[0]["key"]
            out.append(tk)
            when += dt.timedelta(minutes=self.rng.uniform(1.0, 8.0), seconds=self.rng.randint(0, 59))
        return out

    def recurring_vat(self) -> list[dict]:
        """The VAT report breaks after every monthly 1C update."""
        sc = SCENARIO_BY_KEY["vat"]
        out: list[dict] = []
        for update, n in zip(VAT_UPDATES, VAT_REPORTS_PER_UPDATE, strict=True):
            morning = dt.datetime.combine(update + dt.timedelta(days=1), dt.time(5, 35),
                                          tzinfo=dt.UTC)
            when = morning + dt.timedelta(minutes=self.rng.randint(0, 50))
            for _ in range(n):
                role = "duplicate" if out else "original"
                tk = self.ticket(sc, "ru", when, role=role, vague=False, kb_p=0.9)
                if out:
                    tk["dup_key"] = out[0]["key"]
                out.append(tk)
                when += dt.timedelta(minutes=self.rng.randint(15, 240), seconds=self.rng.randint(0, 59))
        return out

    def scattered_duplicates(self, pool: list[dict], n: int) -> list[dict]:
        """Re-submissions and colleagues reporting an already open problem."""
        cands = [t for t in pool if not t["info_requested"] and not t["scenario"].request
                 and t["when"] < END - dt.timedelta(days=2)]
        out = []
        for orig in self.sample(cands, n):
            sc, lang = orig["scenario"], orig["language"]
            when = orig["when"] + dt.timedelta(minutes=self.rng.randint(30, 28 * 60))
            same = {"role": "duplicate", "vague": False, "variant": orig["variant"]}
            if self.chance(0.5):  # a colleague writes about the same thing
                tk = self.ticket(sc, lang, when, **same)
            else:                 # the same person chases the first ticket
                tk = self.ticket(sc, lang, when, **same,
                                 customer=(orig["customer"], self.person(lang)))
                detail = self.pick(sc.view(lang, orig["variant"]).get("D", [""]))
                tk["subject"] = self.pick(FOLLOW_UP_SUBJ[lang]).format(subj=orig["subject"])
                tk["body"] = self.pick(FOLLOW_UP[lang]).format(
                    subj=orig["subject"], detail=detail).strip()
            tk.update(dup_key=orig["key"], owner=orig["owner"], kb_article=orig["kb_article"])
            out.append(tk)
        return out


def finalize(tickets: list[dict], id_fmt: str = "T-{:04d}") -> list[dict]:
    """Sort chronologically, assign ids and resolve duplicate references."""
    tickets = sorted(tickets, key=lambda t: (t["when"], t["key"]))
    ids = {t["key"]: id_fmt.format(i) for i, t in enumerate(tickets, 1)}
    rows = []
    for t in tickets:
        dup = ids[t["dup_key"]] if t["dup_key"] else ""
        rows.append({
            "id": ids[t["key"]],
            "created_at": t["when"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "subject": t["subject"], "body": t["body"], "language": t["language"],
            "customer": t["customer"], "channel": t["channel"],
            "category": t["category"], "priority": t["priority"],
            "module": t["module"], "owner": t["owner"],
            "answer": t["answer"].replace("{orig}", dup), "duplicate_of": dup,
            "kb_article": t["kb_article"],
            "info_requested": "true" if t["info_requested"] else "false",
        })
    return rows


def generate_tickets(factory: Factory) -> list[dict]:
    special = sum(size for _, _, size, _ in BURSTS) + sum(VAT_REPORTS_PER_UPDATE)
    background = factory.background(TOTAL_TICKETS - special - SCATTERED_DUPLICATES)
    tickets = list(background)
    burst_by_key = {s.key: s for s in BURST_SCENARIOS}
    for key, start, size, n_en in BURSTS:
        tickets += factory.burst(burst_by_key[key], start, size, n_en)
    tickets += factory.recurring_vat()
    tickets += factory.scattered_duplicates(background, SCATTERED_DUPLICATES)
    return finalize(tickets)


# ---------------------------------------------------------------------------
# Foreign (Jira-style) export
# ---------------------------------------------------------------------------

JIRA_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
               "Oct", "Nov", "Dec"]


def jira_date(when: dt.datetime) -> str:
    """Jira's default export format in local (Moscow) time: 23/Nov/26 15:04."""
    local = when.astimezone(MSK)
    return (f"{local.day:02d}/{JIRA_MONTHS[local.month - 1]}/{local.year % 100:02d} "
            f"{local.hour:02d}:{local.minute:02d}")


def jira_markup(body: str) -> str:
    """Turn our plain-text structure into Jira wiki markup."""
    body = re.sub(r"(?m)^\d+\. ", "# ", body)
    for labels in STRUCT_LABELS.values():
        for label in labels.values():
            body = re.sub(rf"(?m)^{re.escape(label)}", f"*{label}*", body)
    return body


def jira_rows(factory: Factory, n: int = 30) -> list[dict]:
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    end = dt.datetime(2026, 11, 27, 23, 59, tzinfo=dt.UTC)
    weights = {lang: [s.weight if lang in s.texts else 0 for s in SCENARIOS]
               for lang in ("ru", "en")}
    tickets = []
    for _ in range(n):
        lang = "en" if factory.chance(0.3) else "ru"
        sc = factory.rng.choices(SCENARIOS, weights=weights[lang])[0]
        tickets.append(factory.ticket(sc, lang, factory.random_time(sc.family, start, end)))
    tickets.sort(key=lambda t: (t["when"], t["key"]))
    return [{
        "Issue key": f"HD-{1201 + i}", "Summary": t["subject"],
        "Description": jira_markup(t["body"]), "Created": jira_date(t["when"]),
        "Component/s": t["module"], "Assignee": t["owner"],
        "Priority": t["priority"].capitalize(),
    } for i, t in enumerate(tickets)]


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------

MAPPING_EXAMPLE = """\
# Example column mapping for a foreign export (see jira_export_sample.csv).
columns:          # canonical name: column in the source file
  id: "Issue key"
  subject: "Summary"
  body: "Description"
  created_at: "Created"
  module: "Component/s"
  owner: "Assignee"
targets: [priority]
"""


def write_text(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def write_kb(out: Path) -> None:
    kb_dir = out / "kb"
    kb_dir.mkdir(parents=True, exist_ok=True)
    for stale in sorted(kb_dir.glob("*.md")):
        if stale.name not in KB_IDS:
            stale.unlink()
    rows = []
    for kb_id, category, markdown in KB_ARTICLES:
        markdown = markdown.strip() + "\n"
        title_line, _, rest = markdown.partition("\n")
        assert title_line.startswith("# "), kb_id
        write_text(kb_dir / kb_id, markdown)
        rows.append({"id": kb_id, "title": title_line[2:].strip(), "body": rest.strip(),
                     "url": KB_URL.format(slug=kb_id.removesuffix(".md")),
                     "category": category})
    write_csv(out / "kb.csv", ["id", "title", "body", "url", "category"], rows)


def owners_yaml() -> str:
    lines = ["# ILLUSTRATIVE CODEOWNERS-like map for the demo data.",
             "# Generated by scripts/make_demo_data.py; the first owner is the team.",
             "modules:"]
    for module, (owners, on_duty) in OWNERS.items():
        lines.append(f"  {module}:")
        lines.append(f"    owners: [{', '.join(owners)}]")
        if on_duty:
            lines.append(f"    on_duty: {on_duty}")
    return "\n".join(lines) + "\n"


def md_counts(rows: list[dict], column: str) -> str:
    counts = Counter(r[column] for r in rows)
    lines = [f"| {column} | tickets |", "|---|---:|"]
    lines += [f"| {value or '(empty)'} | {n} |" for value, n in
              sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "\n".join(lines)


def incident_summary(rows: list[dict]) -> str:
    by_orig = Counter(r["duplicate_of"] for r in rows if r["duplicate_of"])
    by_id = {r["id"]: r for r in rows}
    lines = []
    for orig, n in sorted(by_orig.items(), key=lambda kv: (-kv[1], kv[0])):
        if n < 5:
            continue
        r = by_id[orig]
        lines.append(f"- `{orig}` ({r['created_at'][:10]}, {r['module']}): "
                     f"{n} duplicates — «{r['subject']}»")
    small = sum(n for n in by_orig.values() if n < 5)
    lines.append(f"- plus {small} scattered duplicates (re-submissions, colleagues "
                 "reporting the same problem)")
    return "\n".join(lines)


README_TEMPLATE = """\
# Demo data (ILLUSTRATIVE)

**Everything in this folder is illustrative data written by the triage project.**
The company («Ладога Трейд»), its departments, people, e-mail addresses, phone
numbers, servers and tickets are invented. Nothing here comes from real
customers or a real helpdesk; any resemblance is accidental. Use it for demos,
tests and tutorials only — not to judge model quality on real data.

The data imitates four months (2026-06-01 … 2026-09-30) of the IT helpdesk of a
mid-size Russian company: L1/L2 support and L3 developers, ~80 % of tickets in
Russian and ~20 % in English (a European sales office). Category labels are
always Russian because the team labels in Russian.

## How it was generated

    python scripts/make_demo_data.py            # (re)writes data/demo/
    python scripts/make_demo_data.py --out /tmp/demo

The script uses only the Python standard library and a fixed seed
(`SEED = @@SEED@@`), so every run produces byte-identical files. Ticket texts are
assembled from per-problem phrase material (several subjects, symptom
sentences, error messages, reproduction steps, resolutions) combined with
different writing styles: plain e-mails with greetings and signatures,
structured escalations («Шаги воспроизведения / Ожидаемый результат /
Фактический результат / Что проверили / Влияние / Окружение» and the English
equivalents), one-liners, phone notes written by L1, Telegram messages, and
vague reports that L3 bounced back. Typos are injected on purpose. Priority is
drawn per problem type and the impact wording in the text follows the priority.

## Files

| file | content |
|---|---|
| `tickets.csv` | @@N_TICKETS@@ helpdesk tickets with labels and resolutions (main training / demo set) |
| `kb/*.md` | @@N_KB@@ knowledge-base articles in Markdown (@@N_KB_EN@@ of them in English) |
| `kb.csv` | the same articles as a table |
| `owners.yaml` | CODEOWNERS-like map: module → owners (first = team) and optional on-duty person |
| `mapping.example.yaml` | example column mapping for a foreign export |
| `jira_export_sample.csv` | @@N_JIRA@@ tickets in a Jira-like export shape that the mapping adapts |

All CSV files are UTF-8, comma-separated, with a header row and RFC 4180
quoting (written with Python's `csv` module); `body`, `answer` and
`Description` contain line breaks inside quoted fields.

## `tickets.csv` columns

| column | meaning |
|---|---|
| `id` | ticket id `T-0001` …, in chronological order |
| `created_at` | creation time, ISO-8601 UTC with `Z` (Moscow time = UTC+3) |
| `subject` | ticket subject as typed by the reporter |
| `body` | ticket text (free form; may contain signatures, error codes, typos) |
| `language` | `ru` or `en` |
| `customer` | reporting department (e.g. «Бухгалтерия», "Sales EU") or person |
| `channel` | `email`, `portal`, `phone` (written down by L1) or `telegram` |
| `category` | target label, one of @@N_CAT@@ Russian categories (see below) |
| `priority` | target label: `low`, `medium`, `high`, `critical` |
| `module` | owning module, hierarchical `area/component` (see `owners.yaml`) |
| `owner` | team or person who handled the ticket (one of the module's owners) |
| `answer` | resolution written by the agent/developer, in the ticket's language |
| `duplicate_of` | id of an EARLIER ticket with the same cause, else empty |
| `kb_article` | id (relative path under `kb/`) of the article that answers it, else empty |
| `info_requested` | `true` if L3 bounced the ticket back asking for more information |

## `kb.csv` columns

`id` (relative path under `kb/`, e.g. `vpn-setup.md`), `title` (the `#` heading),
`body` (Markdown without the title), `url` (fictional wiki address),
`category` (same labels as tickets).

## `jira_export_sample.csv`

Columns `Issue key, Summary, Description, Created, Component/s, Assignee,
Priority`. `Created` uses Jira's default export format (`23/Nov/26 15:04`) in
local Moscow time without a zone; `Description` uses Jira wiki markup (`*bold*`,
`#` numbered lists); `Priority` is capitalised (`High`, …); `Component/s` holds
module names from `owners.yaml`. `mapping.example.yaml` maps these columns to
the canonical names; the target column `priority` is found by name.

## What is planted in the data

- **Outage bursts** (all reports point to the first one via `duplicate_of`):
  PBX gateway on 2026-07-14 from ~09:40 MSK (main SIP trunk failed after a
  gateway firmware update, `SIP 503`), VPN on 2026-08-18 from ~08:50 MSK
  (expired RADIUS certificate, `AnyConnect: login failed`), Exchange on
  2026-09-08 (mailbox database dismounted). Reports are reworded, come through
  all channels and partly in English.
- **Recurring problem**: the 1C VAT report breaks after every monthly update
  (installed on Monday evening; reports on Tuesday in June, July, August and
  September). All later reports point to the June original and mostly link
  `1c-vat-report-after-update.md`.
- **Scattered duplicates**: people chasing their own ticket («RE: …», «Повторно»)
  or a colleague reporting the same problem a few hours later.
- **Vague escalations** («не работает отчёт», "VPN glitchy"): most have
  `info_requested=true`; the answer starts with what L3 asked for, and about
  one in five was closed because the reporter never replied.
- **Overlapping vocabulary between categories**, on purpose: VPN tickets
  mention e-mail and 1С, account tickets mention VPN and phones, «Доступ и
  права» covers 1С roles and shared mailboxes (modules `erp-1c/reports`,
  `mail/exchange`), headsets are «Оборудование» owned by `telephony/softphone`.
- **Inconsistent labels on boundary cases**, as when different agents triage:
  a share of shared-mailbox and 1С-role requests, password changes that broke
  VPN, MFA problems, headsets, scan-to-mail, remote desktop, lost network
  drives and warehouse Wi-Fi carry the neighbouring category (the `module`
  stays the same), so category accuracy has a realistic ceiling below 100 %.
- **Priority ↔ wording**: critical/high tickets more often state the impact
  («не работает у всего отдела», «блокирует закрытие месяца», subject prefixes
  like «СРОЧНО»), low ones say «не срочно»; 1С tickets cluster around month end.
- Ticket body and answer always describe the same cause (each problem type has
  several concrete causes with their own symptoms and resolution).

## Statistics of `tickets.csv`

@@TABLES@@

Duplicates: @@N_DUP@@ tickets (@@P_DUP@@ %). Incidents with many duplicates:

@@INCIDENTS@@

`kb_article` is filled for @@N_KB_LINKED@@ tickets (@@P_KB@@ %); `info_requested`
is `true` for @@N_INFO@@ tickets (@@P_INFO@@ %).
"""


def readme(rows: list[dict], jira: list[dict]) -> str:
    n = len(rows)
    n_dup = sum(1 for r in rows if r["duplicate_of"])
    n_kb = sum(1 for r in rows if r["kb_article"])
    n_info = sum(1 for r in rows if r["info_requested"] == "true")
    tables = "\n\n".join(md_counts(rows, col) for col in
                         ("category", "priority", "module", "language", "channel", "owner"))
    values = {
        "SEED": str(SEED), "N_TICKETS": str(n), "N_KB": str(len(KB_ARTICLES)),
        "N_KB_EN": str(sum(1 for _, _, md in KB_ARTICLES
                           if not re.search("[а-яё]", md.split("\n", 2)[1].lower()))),
        "N_JIRA": str(len(jira)), "N_CAT": str(len({r["category"] for r in rows})),
        "TABLES": tables, "N_DUP": str(n_dup), "P_DUP": f"{100 * n_dup / n:.1f}",
        "INCIDENTS": incident_summary(rows), "N_KB_LINKED": str(n_kb),
        "P_KB": f"{100 * n_kb / n:.1f}", "N_INFO": str(n_info),
        "P_INFO": f"{100 * n_info / n:.1f}",
    }
    text = README_TEMPLATE
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder (default: data/demo)")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    factory = Factory(random.Random(SEED))
    rows = generate_tickets(factory)
    jira = jira_rows(Factory(random.Random(SEED + 1)))

    write_csv(out / "tickets.csv", TICKET_COLUMNS, rows)
    write_kb(out)
    write_text(out / "owners.yaml", owners_yaml())
    write_text(out / "mapping.example.yaml", MAPPING_EXAMPLE)
    write_csv(out / "jira_export_sample.csv", JIRA_COLUMNS, jira)
    write_text(out / "README.md", readme(rows, jira))
    print(f"wrote {len(rows)} tickets, {len(KB_ARTICLES)} KB articles, "
          f"{len(jira)} Jira rows to {out}")


if __name__ == "__main__":
    main()
