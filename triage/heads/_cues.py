"""Where in a ticket each escalation-contract item shows: headings, phrases and structure (RU + EN).

People who escalate well write sections («Шаги воспроизведения:», "Expected:"),
numbered lists, stack traces and version strings; people who escalate badly
still leave phrases ("should", «перезагрузил», «весь отдел»). This module finds
those cues and their character spans, so every detector can point at the text
that shows its item. It learns nothing: the learned part lives in
`completeness.py` and uses these cues as features.

Cue strength per item: 3 = a section heading with content, 2 = a phrase,
1 = structure only (a bare list, a log line, a model name), 0 = nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

ITEMS = ("steps_to_reproduce", "expected_behavior", "observed_behavior", "diagnostics", "impact",
         "environment", "suspected_module")
MAX_EVIDENCE = 400  # characters; longer sections are cut at a line boundary when possible

_F = re.IGNORECASE | re.UNICODE

# Section labels as people type them, in both languages (the line must start with one).
_HEADINGS: dict[str, str] = {
    "steps_to_reproduce": r"steps?\s+to\s+repro(?:duce)?|repro(?:duction)?\s+steps|how\s+to\s+reproduce|"
                          r"to\s+reproduce|str|steps|шаги(?:\s+(?:для\s+)?воспроизведения)?|"
                          r"как\s+воспроизвести|порядок\s+(?:воспроизведения|действий)|"
                          r"последовательность\s+действий|воспроизведение",
    "expected_behavior": r"expected(?:\s+(?:result|results|behaviou?r|outcome))?|expectation|"
                         r"ожидаем(?:ый|ое|ые)\s+(?:результат|поведение)|ожидается|ожидание|"
                         r"как\s+должно\s+быть|должно\s+быть",
    "observed_behavior": r"actual(?:\s+(?:result|results|behaviou?r|outcome))?|observed(?:\s+(?:result|"
                         r"behaviou?r))?|what\s+happens|symptoms?|error|"
                         r"фактическ(?:ий|ое|и)(?:\s+(?:результат|поведение))?|наблюдаем(?:ый|ое)\s+"
                         r"(?:результат|поведение)|что\s+происходит|симптомы|ошибка|текст\s+ошибки|"
                         r"проблема|описание\s+проблемы",
    "diagnostics": r"what\s+(?:we|i|was)\s+(?:checked|tried|done)|checked|diagnostics?|troubleshooting|"
                   r"tried|steps\s+taken|done\s+so\s+far|analysis|"
                   r"что\s+(?:проверили|проверено|сделано|сделали|пробовали)|проверено|проверили|"
                   r"диагностика|выполнено|предпринятые\s+действия|проведённая\s+диагностика|анализ",
    "impact": r"(?:business\s+)?impact|affected(?:\s+users)?|who\s+is\s+affected|scope|severity|"
              r"влияние(?:\s+на\s+бизнес)?|затронут[оы]?|кого\s+затрагивает|масштаб|последствия|критичность",
    "environment": r"environment|env|versions?|platform|system\s+info|configuration|setup|"
                   r"окружение|среда|верси[яи]|платформа|конфигурация|рабочее\s+место",
    "suspected_module": r"suspected\s+(?:module|component|area|cause)|(?:likely|probable|root)\s+cause|"
                        r"component|module|area|предполагаем(?:ый|ая)\s+(?:модуль|причина|компонент)|"
                        r"подозреваем(?:ый|ая)\s+(?:модуль|причина)|модуль|компонент|подсистема|"
                        r"вероятная\s+причина|предположительно",
}
# Labels that open a section but belong to no item (so a section ends there).
_OTHER_HEADING = r"description|details|summary|notes?|comment|описание|подробности|комментарий|примечание|суть"
_HEAD_RE = {item: re.compile(rf"^[\s*#>_\-–—\d.)]*(?:{pat})\s*(?:[:：]|\s[-–—]\s|$)", _F)
            for item, pat in _HEADINGS.items()}
_ANY_HEAD_RE = re.compile(rf"^[\s*#>_\-–—]*(?:{'|'.join([*_HEADINGS.values(), _OTHER_HEADING])})\s*(?:[:：]|$)", _F)
_EMPTY = re.compile(r"^[\s\-–—.:]*(?:n/?a|none|no|unknown|tbd|\?+|нет|не\s+знаю|неизвестно|—|-)?[\s.]*$", _F)

_PHRASES: dict[str, list[str]] = {
    "steps_to_reproduce": [
        r"\b(?:to\s+reproduce|reproduce\s+(?:it|this|the|with|by)|reproduced\s+(?:by|with|on|when|in))\b",
        r"\b(?:when|after|if|once|whenever)\s+(?:i|you|we|the\s+user|a\s+user|user)\s+(?:\w+ly\s+)?"
        r"(?!am\b|was\b|were\b|is\b|are\b|have\b|had\b|do\b|did\b|get\b|got\b|see\b|saw\b|think\b|want\b)\w+",
        r"^(?:(?:on|in|from|under|with)\s+[^,]{1,40},\s*)?(?:open|click|select|choose|go\s+to|navigate|type|"
        r"enter|press|create|add|delete|remove|run|start|launch|install|resize|drag|move|right-click|"
        r"double-click|set|change|edit|save|close|restart|try|perform|invoke|load|import|compile|debug|"
        r"switch|insert|log\s*in|visit|upload|download)\b",
        r"\b1\s*[.)]?\s+[^\W\d_]\S*.{3,200}?\s2\s*[.)]?\s+[^\W\d_]",
        r"^(?:откро|открыть|откройте|нажать|нажмите|выбрать|выберите|зайти|зайдите|перейти|перейдите|"
        r"запустить|запустите|создать|создайте|ввести|введите|сформировать|сформируйте|провести|"
        r"проведите|указать|укажите|подключиться|подключитесь)",
        r"\b(?:go\s+to|navigate\s+to|click\s+(?:on\s+)?|open\s+the|select\s+the)\b.{0,80}\b(?:then|and\s+then)\b",
        r"\S\s*(?:->|→|>)\s*\S+\s*(?:->|→|>)\s*\S",
        r"воспроизв", r"\b(?:при|после)\s+(?:нажати|открыти|запуск|попытк|выбор|вход|сохранени|отправк|проведени|"
        r"формировани|печат|подключени|звонк|набор)",
        r"\b(?:нажимаю|нажимаем|открываю|открываем|захожу|заходим|запускаю|выбираю|ввожу|пытаюсь|пытаемся|"
        r"кликаю|формирую|формируем|отправляю|проводим|провожу|звоню|набираю|подключаюсь)\b",
        r"\b(?:открыть|нажать|выбрать|ввести|запустить|перейти|сформировать|зайти|провести|указать|"
        r"позвонить|отправить)\b.{0,80}(?:,\s*(?:затем|потом|далее)|\bи\s+нажать\b|→|->)",
        r"\bесли\s+(?:открыть|нажать|зайти|запустить|сформировать|выбрать)",
    ],
    "expected_behavior": [
        r"\bexpect(?:ed|s|ing|ation)?\b", r"\bshould(?:n't|\s+not)?\s+(?:also\s+)?[a-z]\w+",
        r"\b(?:it\s+would\s+be\s+(?:nice|better|good|great|useful)|consider\s+\w+ing|please\s+(?:add|make|"
        r"allow|support|change|rename|fix)|needs?\s+to\s+be|must\s+(?:be|have|not))\b",
        r"(?:было\s+бы\s+(?:хорошо|удобно|правильно)|прошу\s+(?:сделать|добавить|исправить|настроить|"
        r"вернуть)|необходимо,?\s+чтобы)", r"\b(?:supposed\s+to|would\s+expect|"
        r"ought\s+to|rather\s+than|instead\s+of)\b",
        r"ожида(?:ется|лось|ем|ли|ю|ние)", r"\bдолжн(?:о|а|ы|ен)\b", r"\bа\s+должн", r"\bвместо\b",
        r"\b(?:раньше|до\s+обновления|до\s+этого|вчера)\b.{0,40}(?:работал|было|показывал|приходил|проходил|"
        r"открывал|печатал)", r"\bнужно,?\s+чтобы\b", r"\bпо\s+идее\b",
    ],
    "observed_behavior": [
        r"\b(?:error|errors|exception|fail(?:s|ed|ure|ing)?|crash(?:es|ed|ing)?|does(?:n't|\s+not)|did(?:n't|"
        r"\s+not)|not\s+working|broken|hangs?|freez\w*|wrong|incorrect|nothing\s+happens|unable|can't|cannot|"
        r"stuck|slow|time[ds]?\s*out|disconnect\w*|missing|empty|blank|duplicat\w*|denied)\b",
        r"(?:ошибк|не\s+работа|не\s+открыва|не\s+запуска|не\s+приход|не\s+уход|не\s+проход|не\s+печата|"
        r"не\s+отвеча|не\s+гру|не\s+могу|не\s+может|не\s+можем|не\s+удаётся|не\s+удается|не\s+получается|"
        r"не\s+сохраня|не\s+отправля|не\s+подключа|не\s+видит|не\s+видно|завис|вылета|пада[её]т|упал|тормоз|"
        r"медленн|неправильн|неверн|выда[её]т|пишет|показывает|пропал|исчез|задво|дублир|сбрасыва|разрыв|"
        r"отваливает|недоступ|отказ|пуст(?:ой|ая|ое)|глючит|отключает|зациклива|висит)",
    ],
    "diagnostics": [
        r"\b(?:restart(?:ed|ing)?|reboot(?:ed)?|re-?install(?:ed)?|clear(?:ed)?\s+(?:the\s+)?cache|checked|"
        r"verified|tried|tested|ran\s+(?:the\s+)?(?:script|diagnostics?|test)|looked\s+at|pinged|traceroute|"
        r"dashboard|monitoring|grafana|zabbix|kibana|logs?\s+(?:attached|show|say)|according\s+to\s+(?:the\s+)?"
        r"logs|knowledge\s+base|kb\s+article|did(?:n't|\s+not)\s+help|no\s+luck|on\s+another\s+(?:pc|computer|"
        r"machine|device|laptop)|recreated|reset)\b",
        r"(?:перезапуст|перезагруз|переустанов|очистил|очистили|очищен|проверил|проверили|проверено|пробовал|"
        r"пробовали|попробовал|протестировал|\bпинг|tracert|трассиров|посмотрел|посмотрели|в\s+логах|логи|"
        r"журнал|мониторинг|дашборд|по\s+базе\s+знаний|баз[еау]\s+знаний|\bбз\b|не\s+помог|на\s+другом\s+"
        r"(?:компьютере|пк|устройстве|ноутбуке|телефоне)|скрипт|выполнил|выполнили|пересоздал|переподключ|"
        r"сбросил|сбросили|переустановили|обновили\s+драйвер)",
    ],
    "impact": [
        r"\b(?:all|whole|entire|every|several|many|\d+)\s+(?:of\s+(?:the|our)\s+)?(?:users|employees|people|"
        r"customers|clients|staff|team|department|office|branch|stores?|agents|accountants)\b",
        r"\b(?:blocking|blocks|blocker|can(?:no|')t\s+work|business[- ]critical|production\s+(?:is\s+)?down|"
        r"outage|revenue|deadline|month[- ]end|closing|sla|affect(?:s|ed|ing)?|impact(?:s|ed)?|only\s+(?:me|"
        r"one\s+user|this\s+user)|single\s+user|workaround|nobody\s+can|no\s+one\s+can|everyone)\b",
        r"(?:весь\s+отдел|всего\s+отдела|всех\s+пользовател|все\s+пользовател|всем\s+пользовател|\bу\s+всех\b|"
        r"весь\s+офис|всего\s+офиса|весь\s+филиал|все\s+сотрудник|всех\s+сотрудник|всего\s+склада|"
        r"\d+\s*(?:пользовател|сотрудник|человек|клиент|магазин|филиал|касс|рабочих\s+мест)|несколько\s+"
        r"(?:пользовател|сотрудник|человек|отдел)|никто\s+не\s+может|блокиру|не\s+можем\s+работать|"
        r"не\s+могу\s+работать|работа\s+(?:стоит|встала|остановлена)|простой|срыв|закрыти[ея]\s+месяца|"
        r"сдач[аиу]\s+отч[её]тност|клиент(?:ы|ов)?\s+(?:не\s|жалу)|затрагивает|затронут|влияет|только\s+у\s+(?:меня|"
        r"одного|него|неё)|один\s+пользователь|обходн(?:ой|ого|ым)\s+пут|мешает\s+работе|критично|штраф)",
    ],
    "environment": [
        r"\b\d+\.\d+(?:\.\d+){1,3}\b", r"\b(?:v|ver\.?|version|build|release|версия|верси[ия]|сборка|релиз|"
        r"прошивка|firmware)\s*:?\s*\d",
        r"\b(?:windows|win)\s*(?:7|8|10|11|xp|server\s*\d*)\b", r"\b(?:macos|os\s*x|mac\s*os|ios|android|ubuntu|"
        r"linux|debian|centos|rhel|astra)\b", r"\b(?:chrome|firefox|edge|safari|opera|яндекс\.?\s*браузер)\b",
        r"\b(?:outlook|office|exchange|anyconnect|1с|1c|microsip|asterisk)\s*(?:\d{2,4}|365)\b",
    ],
    "suspected_module": [
        r"\b(?:suspect(?:ed)?|probably|likely|seems\s+(?:to\s+be|like)|looks\s+like|might\s+be|i\s+think|"
        r"my\s+guess|root\s+cause|caused\s+by|related\s+to|points?\s+to|on\s+the\s+side\s+of)\b",
        r"(?:предполага|подозрева|похоже|видимо|вероятно|скорее\s+всего|возможно|думаю|кажется|"
        r"предположительно|причина\s+в|связано\s+с|на\s+стороне|дело\s+в)",
    ],
}
_PHRASE_RE = {item: [re.compile(p, _F) for p in pats] for item, pats in _PHRASES.items()}
_NUMBERED = re.compile(r"^\s*(?:\d{1,2}\s*[.)]|[-*•#]|step\s*\d+|шаг\s*\d+)\s*\S", _F)
_TRACE = re.compile(r"\bat\s+[\w$.<>]+\([\w$]+\.(?:java|kt|scala|cs):\d+\)|Traceback \(most recent call last\)|"
                    r"^\s*(?:\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}|\[\w+\]\s|(?:ERROR|WARN|FATAL|SEVERE)\b)|"
                    r"\b\w+(?:Exception|Error)\b:|\b0x[0-9a-f]{6,8}\b|\b(?:SIP|HTTP)\s*[45]\d\d\b", _F)
_MODEL = re.compile(r"\b(?:iphone|ipad|thinkpad|yealink|cisco|lenovo|dell|xerox|kyocera|canon|samsung|huawei|"
                    r"grandstream|keenetic|mikrotik|srv[-\w]*|ts\d+|pc-\w+)\b", _F)
_LIST_MARKS = re.compile(r"(?:^|\s)\d{1,2}\s*[.)]?(?=\s|$)")
_SENT_SPLIT = re.compile(r"(?<=[.!?…])\s+(?=[A-ZА-ЯЁ«\"(\d])")


@dataclass(frozen=True)
class Cue:
    item: str
    level: int
    start: int
    end: int


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    text: str


def _lines(text: str) -> list[_Line]:
    out, pos = [], 0
    for raw in text.split("\n"):
        out.append(_Line(pos, pos + len(raw), raw))
        pos += len(raw) + 1
    return out


def _sentences(line: _Line) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _SENT_SPLIT.finditer(line.text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(line.text)))
    return [(line.start + a, line.start + b) for a, b in spans if line.text[a:b].strip()]


def _heading_cues(lines: list[_Line]) -> tuple[list[Cue], set[int]]:
    """A heading line plus its section (following lines up to a blank line or the next heading)."""
    cues: list[Cue] = []
    covered: set[int] = set()
    for i, line in enumerate(lines):
        for item, rx in _HEAD_RE.items():
            m = rx.match(line.text)
            if not m:
                continue
            rest = line.text[m.end():]
            j = i + 1
            inline = bool(rest.strip())  # "Expected: it opens" ends with its line unless a list follows
            while (j < len(lines) and lines[j].text.strip() and not _ANY_HEAD_RE.match(lines[j].text)
                   and (not inline or _NUMBERED.match(lines[j].text))):
                j += 1
            body = "\n".join([rest, *(lines[k].text for k in range(i + 1, j))])
            if _EMPTY.match(_LIST_MARKS.sub(" ", body)):
                break  # "Steps to reproduce: N/A" says the item is missing
            cues.append(Cue(item, 3, line.start, lines[j - 1].end))
            covered.update(range(i, j))
            break
    return cues, covered


def _list_cues(lines: list[_Line], covered: set[int]) -> list[Cue]:
    """Two or more consecutive numbered/bulleted lines outside any section read as steps."""
    cues, run = [], []
    for i, line in enumerate([*lines, _Line(0, 0, "")]):
        if i < len(lines) and i not in covered and _NUMBERED.match(line.text):
            run.append(i)
            continue
        if len(run) >= 2:
            cues.append(Cue("steps_to_reproduce", 2, lines[run[0]].start, lines[run[-1]].end))
        run = []
    return cues


@dataclass(frozen=True)
class _Analysis:
    """One pass over a text that `find_cues` and `pattern_features` both read (a ticket is scored by both)."""

    lines: list[_Line]
    headings: list[Cue]
    covered: set[int]
    sentences: list[tuple[int, int]]
    hits: np.ndarray  # (sentences, phrase patterns) bool, patterns in `_PHRASE_RE` order
    trace: np.ndarray  # per sentence
    model: np.ndarray


_ALL_PHRASES = [p for patterns in _PHRASE_RE.values() for p in patterns]
# Most sentences match no phrase: one search of the alternation settles them, instead of 39 searches.
_ANY_PHRASE = re.compile("|".join(f"(?:{p.pattern})" for p in _ALL_PHRASES), _F)
_ENDS = np.cumsum([len(p) for p in _PHRASE_RE.values()]).tolist()
_ITEM_SPANS = list(zip(_PHRASE_RE, [0, *_ENDS[:-1]], _ENDS, strict=True))  # (item, first, end) pattern columns


@lru_cache(maxsize=64)
def _analyse(text: str) -> _Analysis:
    lines = _lines(text)
    headings, covered = _heading_cues(lines)
    sentences = [span for line in lines for span in _sentences(line)]
    hits = np.zeros((len(sentences), len(_ALL_PHRASES)), dtype=bool)
    trace, model = np.zeros(len(sentences), dtype=bool), np.zeros(len(sentences), dtype=bool)
    for k, (a, b) in enumerate(sentences):
        sent = text[a:b]
        if _ANY_PHRASE.search(sent):
            hits[k] = [bool(p.search(sent)) for p in _ALL_PHRASES]
        trace[k], model[k] = bool(_TRACE.search(sent)), bool(_MODEL.search(sent))
    return _Analysis(lines, headings, covered, sentences, hits, trace, model)


def find_cues(text: str) -> list[Cue]:
    """Every cue in the text, strongest kind first within an item."""
    found = _analyse(text)
    cues = [*found.headings, *_list_cues(found.lines, found.covered)]
    for k, (a, b) in enumerate(found.sentences):
        for item, lo, hi in _ITEM_SPANS:
            if found.hits[k, lo:hi].any():
                cues.append(Cue(item, 2, a, b))
        if found.trace[k]:
            cues += [Cue("observed_behavior", 1, a, b), Cue("diagnostics", 1, a, b)]
        if found.model[k]:
            cues.append(Cue("environment", 1, a, b))
    return sorted(cues, key=lambda c: (c.item, -c.level, c.start))


def best_cue(cues: list[Cue], item: str) -> Cue | None:
    for cue in cues:  # sorted: strongest first, then earliest
        if cue.item == item:
            return cue
    return None


def evidence_text(text: str, cue: Cue) -> str:
    """The cue's span, cut to MAX_EVIDENCE characters at a line end when one is near."""
    span = text[cue.start:cue.end].strip()
    if len(span) <= MAX_EVIDENCE:
        return span
    cut = span.rfind("\n", 0, MAX_EVIDENCE)
    return span[: cut if cut > MAX_EVIDENCE // 2 else MAX_EVIDENCE].rstrip()


def first_statement(text: str) -> str | None:
    """The first substantive sentence: where an unlabelled report states what happens."""
    for line in _lines(text):
        for a, b in _sentences(line):
            sent = text[a:b].strip()
            if len(sent) >= 12 and not re.match(r"^(?:hi|hello|dear|добрый|здравствуй|привет|коллеги)", sent, _F):
                return sent[:MAX_EVIDENCE]
    return None


N_CUE_FEATURES = 4 * len(ITEMS) + 4


def cue_levels(cues: list[Cue]) -> np.ndarray:
    """The strongest cue level per item (0-3)."""
    levels = np.zeros(len(ITEMS), dtype=int)
    for cue in cues:
        k = ITEMS.index(cue.item)
        levels[k] = max(levels[k], cue.level)
    return levels


def cue_features(text: str, cues: list[Cue]) -> np.ndarray:
    """Per item: heading?, log(1 + #phrases), structure?, level/3; then text shape. Language-independent."""
    feats = np.zeros(N_CUE_FEATURES)
    for k, item in enumerate(ITEMS):
        own = [c for c in cues if c.item == item]
        feats[4 * k] = any(c.level == 3 for c in own)
        feats[4 * k + 1] = math.log1p(sum(c.level == 2 for c in own))
        feats[4 * k + 2] = any(c.level == 1 for c in own)
        feats[4 * k + 3] = max((c.level for c in own), default=0) / 3
    lines = [ln for ln in text.split("\n") if ln.strip()]
    feats[-4] = math.log1p(len(text)) / 10
    feats[-3] = math.log1p(len(lines)) / 5
    feats[-2] = sum(bool(_NUMBERED.match(ln)) for ln in lines) / max(len(lines), 1)
    feats[-1] = sum(bool(_TRACE.search(ln)) for ln in lines) / max(len(lines), 1)
    return feats


N_PATTERN_FEATURES = len(ITEMS) + sum(len(p) for p in _PHRASE_RE.values()) + 3


def pattern_features(text: str) -> np.ndarray:
    """One feature per heading and per phrase pattern (log count of sentences it fires in), plus structure.

    Finer than `cue_features`, so a learned model can weigh each pattern; but a pattern that never fires in
    the training language gets no weight, so these help within a language and not across.
    """
    feats = np.zeros(N_PATTERN_FEATURES)
    found = _analyse(text)
    for cue in found.headings:
        feats[ITEMS.index(cue.item)] = 1.0
    j = len(ITEMS) + len(_ALL_PHRASES)
    feats[len(ITEMS):j] = [math.log1p(int(n)) for n in found.hits.sum(axis=0)]  # math's, bit for bit as before
    feats[j] = math.log1p(sum(bool(_NUMBERED.match(ln.text)) for ln in found.lines))
    feats[j + 1] = math.log1p(int(found.trace.sum()))
    feats[j + 2] = math.log1p(int(found.model.sum()))
    return feats
