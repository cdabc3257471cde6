"""The internal note an agent reads in the ticket: what triage advises, in the ticket's language.

`advice` picks, from a triage result, what a person acts on — labels (or "not sure: A or B"), the
module and its owners, KB articles with links, similar earlier tickets with the developer's answer,
the known problem, and the completeness verdict with the question to ask for each missing item (the
end of "send more logs" ping-pong). Its `digest` covers values, not confidences, so a re-triage that
changes nothing a person would act on writes no second note. `html` (Zammad, Znuny) and `wiki` (Jira's
comment markup) render the same advice; both end with the delivery marker the worker looks for
before writing again after a crash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from html import escape
from typing import Any

from triage.results import TicketResult

TEXT = {
    "en": {"title": "Triage suggestion", "labels": "Labels", "module": "Module", "owners": "owners",
           "owner": "Owner", "kb": "Knowledge base", "similar": "Similar earlier tickets", "problem": "Known problem",
           "spike": "Part of an active spike: {count} tickets in {window:g} min", "ready": "Ready for L3",
           "not_ready": "Not ready for L3 ({score:.0%} complete). Ask the customer:", "unsure": "not sure: {options}",
           "or": " or ", "tickets": "tickets", "answer": "answer", "by": "model {version}"},
    "ru": {"title": "Подсказка triage", "labels": "Метки", "module": "Модуль", "owners": "владельцы",
           "owner": "Ответственный", "kb": "База знаний", "similar": "Похожие прошлые обращения",
           "problem": "Известная проблема", "spike": "Часть всплеска: {count} обращений за {window:g} мин",
           "ready": "Готово к передаче на L3",
           "not_ready": "Не готово к L3 (заполнено на {score:.0%}). Спросите у клиента:",
           "unsure": "не уверен: {options}", "or": " или ", "tickets": "обращений", "answer": "ответ",
           "by": "модель {version}"},
}
ITEM_NAMES = {
    "en": {"steps_to_reproduce": "steps to reproduce", "expected_behavior": "expected behaviour",
           "observed_behavior": "what happens", "diagnostics": "logs / error text", "impact": "impact",
           "environment": "environment", "suspected_module": "suspected module"},
    "ru": {"steps_to_reproduce": "шаги воспроизведения", "expected_behavior": "ожидаемое поведение",
           "observed_behavior": "что происходит", "diagnostics": "логи / текст ошибки", "impact": "влияние",
           "environment": "окружение", "suspected_module": "предполагаемый модуль"},
}


def _head(out: dict[str, Any]) -> dict[str, Any]:
    if out.get("abstained"):
        return {"value": None, "options": [t["value"] for t in (out.get("top") or [])[:2]]}
    return {"value": out.get("value"), "confidence": round(float(out.get("confidence") or 0), 2)}


def advice(result: TicketResult, link: Callable[[str], str], *, kb_top: int = 3, similar_top: int = 3,
           answer_chars: int = 300) -> dict[str, Any]:
    """What the note says, as data (JSON-able)."""
    language = "ru" if result.get("language") == "ru" else "en"
    out: dict[str, Any] = {"language": language, "model_version": result.get("model_version"),
                           "labels": {name: _head(dict(o)) for name, o in result.get("labels", {}).items()}}
    if "module" in result:
        out["module"] = {**_head(dict(result["module"])), "owners": list(result["module"].get("owners") or [])}
    if "owner" in result:
        out["owner"] = _head(dict(result["owner"]))
    out["kb"] = [{"id": h["article_id"], "title": h["title"], "url": h.get("url")}
                 for h in (result.get("kb") or [])[:kb_top]]
    recurring: dict[str, Any] = dict(result.get("recurring") or {})
    out["similar"] = [{"id": s["ticket_id"], "url": link(str(s["ticket_id"])),
                       "answer": (s.get("answer") or "")[:answer_chars] or None}
                      for s in (recurring.get("similar") or [])[:similar_top]]
    problem, spike = recurring.get("problem"), recurring.get("spike")
    out["problem"] = None if not problem else {"id": problem["id"], "title": problem["title"], "size": problem["size"]}
    out["spike"] = None if not (spike and spike.get("active")) else {"count": spike["count"],
                                                                      "window": spike["window_minutes"]}
    comp = result.get("completeness")
    if comp:
        prompts = comp.get("prompts") or {}
        out["completeness"] = {"ready": bool(comp["ready_for_l3"]), "score": float(comp["score"]),
                               "ask": [{"item": m, "question": prompts.get(m)} for m in comp.get("missing", [])]}
    return out


def digest(adv: dict[str, Any]) -> str:
    """Of what a person acts on: values, not confidences or scores."""
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("confidence", "score", "model_version", "size",
                                                                    "count")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node
    return hashlib.sha256(json.dumps(strip(adv), sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:20]


def _answer_line(t: dict[str, str], adv: dict[str, Any], name: str, value: dict[str, Any]) -> str:
    if value.get("value") is None:
        return f"{name}: {t['unsure'].format(options=t['or'].join(value.get('options') or ['?']))}"
    return f"{name}: {value['value']} ({value['confidence']:.0%})"


def _ask(items: dict[str, str], ask: dict[str, Any]) -> str:
    name = items.get(ask["item"], ask["item"])
    return f"{name}: {ask['question']}" if ask.get("question") else name


def lines(adv: dict[str, Any]) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Sections of (heading, [(text, link)]), shared by both renderers."""
    t, items = TEXT[adv["language"]], ITEM_NAMES[adv["language"]]
    sections: list[tuple[str, list[tuple[str, str | None]]]] = []
    heads: list[tuple[str, str | None]] = [(_answer_line(t, adv, n, v), None) for n, v in adv["labels"].items()]
    if "module" in adv:
        owners = adv["module"].get("owners")
        heads.append((_answer_line(t, adv, t["module"], adv["module"]) +
                      (f"; {t['owners']}: {', '.join(owners)}" if owners else ""), None))
    if "owner" in adv:
        heads.append((_answer_line(t, adv, t["owner"], adv["owner"]), None))
    sections.append((t["labels"], heads))
    comp = adv.get("completeness")
    if comp:
        if comp["ready"]:
            sections.append((t["ready"], list[tuple[str, str | None]]()))
        else:
            sections.append((t["not_ready"].format(score=comp["score"]),
                             [(_ask(items, a), None) for a in comp["ask"]]))
    if adv["kb"]:
        sections.append((t["kb"], [(h["title"], h["url"]) for h in adv["kb"]]))
    if adv["similar"]:
        sections.append((t["similar"], [(s["id"] + (f" — {t['answer']}: {s['answer']}" if s["answer"] else ""),
                                         s["url"]) for s in adv["similar"]]))
    if adv["problem"]:
        p = adv["problem"]
        sections.append((t["problem"], [(f"{p['id']}: {p['title']} ({p['size']} {t['tickets']})", None)]))
    if adv["spike"]:
        sections.append((t["spike"].format(count=adv["spike"]["count"], window=adv["spike"]["window"]), []))
    return sections


def html(adv: dict[str, Any], marker: str) -> str:
    t = TEXT[adv["language"]]
    parts = [f"<p><b>{escape(t['title'])}</b></p>"]
    for heading, entries in lines(adv):
        parts.append(f"<p><b>{escape(heading)}</b></p>")
        if entries:
            rows = "".join(f"<li>{_a(text, url)}</li>" for text, url in entries)
            parts.append(f"<ul>{rows}</ul>")
    parts.append(f"<p><small>{escape(t['by'].format(version=adv.get('model_version')))} · {escape(marker)}"
                 "</small></p>")
    return "".join(parts)


def _a(text: str, url: str | None) -> str:
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{escape(url, quote=True)}">{escape(text)}</a>'
    return escape(text)


def wiki(adv: dict[str, Any], marker: str) -> str:
    """Jira's comment markup (API v2): *bold*, `* ` lists, [text|url] links."""
    t = TEXT[adv["language"]]

    def clean(s: str) -> str:
        return s.replace("|", "/").replace("[", "(").replace("]", ")")

    out = [f"*{t['title']}*"]
    for heading, entries in lines(adv):
        out.append(f"*{clean(heading)}*")
        out += [f"* [{clean(text)}|{url}]" if url and url.startswith(("http://", "https://")) else f"* {clean(text)}"
                for text, url in entries]
    out.append(f"_{t['by'].format(version=adv.get('model_version'))} · {marker}_")
    return "\n".join(out)
