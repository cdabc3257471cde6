"""Write one ticket's text: people, times, and the subject/body/answer in one of several styles.

The words come from the source material (``Source.phrases`` and the scenario's lines); this module only
decides how to combine them.  All randomness goes through ``self.rng`` and the order of the draws is
part of the output: changing it (or the order of a phrase pool) changes every file the generator writes.
"""
from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from demo_data.source import Lines, Scenario, Source

START = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 9, 30, 23, 59, tzinfo=dt.UTC)
IMPACT_PROB = {"critical": 0.9, "high": 0.75, "medium": 0.4, "low": 0.45}
SUBJECT_PREFIX_PROB = {"critical": 0.35, "high": 0.12, "medium": 0.0, "low": 0.08}
WORD_RE = re.compile(r"\b[а-яёa-z]{5,}\b")
QUOTED_RE = re.compile(r"«[^»]*»|\"[^\"]*\"")
T = TypeVar("T")


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass
class Person:
    name: str   # "Ольга Кузнецова"
    first: str  # "Ольга"
    short: str  # "Кузнецова О. В."
    dept: str
    role: str


@dataclass
class Writer:
    """Composes ticket texts from the source material with a seeded random generator."""

    rng: random.Random
    src: Source

    @property
    def ph(self) -> dict[str, Any]:
        return self.src.phrases

    # -- small helpers -------------------------------------------------------
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, seq: list[T] | str) -> Any:
        return self.rng.choice(seq)

    def weighted(self, items: list[T], weights: list[int]) -> T:
        return self.rng.choices(items, weights=weights)[0]

    def sample(self, seq: list[T], k: int) -> list[T]:
        return self.rng.sample(seq, min(k, len(seq)))

    def ext(self) -> int:
        return self.rng.randint(2000, 3399)

    def lcfirst(self, text: str) -> str:
        """Lower-case the first letter unless it starts an acronym or a name."""
        first = text.split(" ", 1)[0].rstrip(",.:")
        if (not first or first in self.ph["proper_words"] or first.startswith("I'")
                or any(c.isupper() or c.isdigit() for c in first[1:]) or first[0].isdigit()):
            return text
        return text[:1].lower() + text[1:]

    def typo(self, text: str) -> str:
        """Introduce one realistic typo outside quoted error messages."""
        protected = [m.span() for m in QUOTED_RE.finditer(text)]
        words = [m for m in WORD_RE.finditer(text)
                 if not any(a <= m.start() < b for a, b in protected)]
        if not words:
            return text
        m: re.Match[str] = self.pick(words)
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
        ref = self.src.reference
        names, roles = ref["names"], ref["roles"]
        if lang == "en":
            name = self.pick(names["en"])
            return Person(name, name.split()[0], name, dept or self.pick(ref["departments"]["en"]),
                          self.pick(roles["en"]))
        female = self.chance(0.55)
        first = self.pick(names["ru_female" if female else "ru_male"])
        last = self.pick(names["ru_surnames"]) + ("а" if female else "")
        dept = dept or self.pick(ref["departments"]["ru"])
        return Person(f"{first} {last}", first,
                      f"{last} {first[0]}. {self.pick(names['ru_initials'])}.", dept,
                      self.pick(roles["ru"].get(dept, roles["ru_default"])))

    def customer(self, sc: Scenario, lang: str) -> tuple[str, Person]:
        dept = self.pick(sc.customers) if lang == "ru" and sc.customers and self.chance(0.75) else None
        sender = self.person(lang, dept)
        return (sender.short if self.chance(0.25) else sender.dept), sender

    def signature(self, lang: str, p: Person) -> str:
        values: dict[str, Any] = {"name": p.name, "first": p.first, "role": p.role, "Role": cap(p.role),
                                  "dept": p.dept, "company": self.src.reference["company_ru"]}
        if lang == "en":
            values["phone"] = self.rng.randint(1000000, 9999999)
        else:
            values["mobile"] = (f"+7 9{self.rng.randint(10, 99)} {self.rng.randint(100, 999)}-"
                                f"{self.rng.randint(10, 99)}-{self.rng.randint(10, 99)}")
            values["ext"], values["ext2"] = self.ext(), self.ext()
        return str(self.pick(self.ph["signatures"][lang])).format(**values)

    def owner(self, module: str) -> str:
        owners = self.src.reference["owners"][module]["owners"]
        if len(owners) == 1 or self.chance(0.6):
            return str(owners[0])
        return str(self.pick(owners[1:]))

    # -- time ----------------------------------------------------------------
    def month_edge(self, day: dt.date) -> dt.date:
        """Move a day to the month-end / month-start closing window."""
        first = day.replace(day=1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        if self.chance(0.5):
            return last - dt.timedelta(days=self.rng.randint(0, 2))
        return first + dt.timedelta(days=self.rng.randint(0, 4))

    def random_time(self, family: str, start: dt.datetime = START, end: dt.datetime = END) -> dt.datetime:
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
    def symptom(self, t: Lines, typo_p: float = 0.1) -> str:
        text = self.pick(t["Y"])
        while self.chance(typo_p):
            text = self.typo(text)
            typo_p /= 3
        return str(text)

    def impact(self, lang: str, prio: str, family: str) -> str:
        extra = self.ph["impact_family"][lang].get(family, {}).get(prio, [])
        return str(self.pick(self.ph["impact"][lang][prio] + extra * 2).format(
            n=self.rng.randint(3, 25), h=self.rng.randint(11, 17)))

    def context(self, lang: str, request: bool) -> str:
        context = self.ph["context"]
        pool = context["any"][lang] + ([] if request else context["incident"][lang])
        return str(self.pick(pool).format(ext=self.ext()))

    def subject(self, t: Lines, lang: str, prio: str, channel: str) -> str:
        subj = self.pick(t["S"])
        already_urgent = re.search(r"срочно|urgent", subj, re.I)
        if not already_urgent and self.chance(SUBJECT_PREFIX_PROB[prio]):
            subj = self.pick(self.ph["subject_prefix"][lang][prio]) + subj
        elif channel == "email" and self.chance(0.06):
            subj = self.pick(self.ph["reply_prefix"]) + subj
        if channel == "telegram" and self.chance(0.3):
            subj = subj.lower()
        return str(subj)

    def checked(self, lang: str, family: str) -> str:
        checked = self.ph["checked"][lang]
        pool = checked["_"] + checked.get(family, [])
        return ", ".join(self.sample(pool, self.rng.randint(1, 3)))

    def phone_intro(self, lang: str, customer: str) -> str:
        return str(self.pick(self.ph["phone_intro"][lang]).format(cust=customer).replace("..", "."))

    def greet(self, lang: str, text: str) -> str:
        greet = self.pick(self.ph["greet"][lang])
        if self.chance(0.6):
            return f"{greet}\n\n{text}"
        return f"{greet} {self.lcfirst(text) if greet.endswith(',') else text}"

    # -- body styles ---------------------------------------------------------
    def wants_impact(self, sc: Scenario, prio: str) -> bool:
        if sc.request and prio == "medium":
            return False
        return self.chance(IMPACT_PROB[prio])

    def plain_body(self, t: Lines, lang: str, prio: str, sc: Scenario, sender: Person, sign_p: float) -> str:
        sentences = [self.symptom(t)]
        sentences += self.sample(t.get("D", []), self.pick([0, 1, 1, 2]))
        if self.chance(0.35):
            sentences.append(self.context(lang, sc.request))
        if self.wants_impact(sc, prio):
            sentences.append(cap(self.impact(lang, prio, sc.family)) + ".")
        if self.chance(0.5):
            urgent = prio in ("high", "critical") and self.chance(0.6)
            sentences.append(self.pick(self.ph["ask_urgent" if urgent else "ask"][lang]))
        text = (" " if self.chance(0.55) else "\n").join(sentences)
        if self.chance(0.65):
            text = self.greet(lang, text)
        if self.chance(sign_p):
            text += "\n\n" + self.signature(lang, sender)
        return text

    def structured_body(self, t: Lines, lang: str, prio: str, sc: Scenario, sender: Person,
                        sign_p: float) -> str:
        lab = self.ph["struct_labels"][lang]
        blocks = [self.pick(self.ph["greet"][lang])] if self.chance(0.5) else []
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
        blocks += self.facts(t, lang, prio, sc)
        if self.chance(sign_p):
            blocks.append(self.signature(lang, sender))
        return "\n\n".join(blocks)

    def facts(self, t: Lines, lang: str, prio: str, sc: Scenario) -> list[str]:
        """The "what we checked / impact / environment" block of a structured escalation."""
        lab, env = self.ph["struct_labels"][lang], self.ph["env"]
        facts = []
        if self.chance(0.7):
            facts.append(f"{lab['checked']} {self.checked(lang, sc.family)}.")
        if self.chance(0.85):
            facts.append(f"{lab['impact']} {cap(self.impact(lang, prio, sc.family))}.")
        if self.chance(0.75):
            envs = t.get("N") or env.get(sc.module, env[sc.family])[lang]
            facts.append(f"{lab['env']} {self.pick(envs)}")
        return ["\n".join(facts)] if facts else []

    def short_body(self, t: Lines, lang: str) -> str:
        text = self.symptom(t, typo_p=0.15)
        if t.get("D") and self.chance(0.3):
            text += " " + self.pick(t["D"])
        if self.chance(0.3):
            text += " " + self.ph["short_thanks"][lang]
        return text

    def phone_body(self, t: Lines, lang: str, prio: str, sc: Scenario, customer: str) -> str:
        parts = [self.phone_intro(lang, customer),
                 self.pick(self.ph["phone_lead"][lang]), self.lcfirst(self.symptom(t, typo_p=0.05))]
        parts += self.sample(t.get("D", []), self.pick([0, 1, 1]))
        if self.wants_impact(sc, prio):
            parts.append(cap(self.impact(lang, prio, sc.family)) + ".")
        if self.chance(0.6):
            tail = self.ph["phone_tail"]
            tails = tail["any"][lang] + ([] if sc.request else tail["incident"][lang])
            parts.append(self.pick(tails).format(ext=self.ext()))
        return " ".join(parts)

    def chat_body(self, t: Lines, lang: str, prio: str) -> str:
        text = self.lcfirst(self.symptom(t, typo_p=0.3))
        if text.endswith(".") and self.chance(0.7):
            text = text[:-1]
        if t.get("D") and self.chance(0.35):
            text += "\n" + self.lcfirst(self.pick(t["D"]))
        urgent = prio in ("high", "critical") and self.chance(0.5)
        suffix = self.pick(self.ph["tg_urgent" if urgent else "tg_suffix"][lang])
        return str(self.pick(self.ph["tg_prefix"][lang]) + text + suffix)

    def vague_text(self, t: Lines, lang: str, prio: str, channel: str, sender: Person,
                   customer: str) -> tuple[str, str]:
        subj, body = (part.strip() for part in self.pick(t["V"]).split("||"))
        if prio in ("high", "critical") and self.chance(0.5):
            body += self.pick(self.ph["vague_urgent"][lang])
        if channel == "phone":
            intro = self.phone_intro(lang, customer)
            return subj, f"{intro} {self.pick(self.ph['phone_lead'][lang])} {body}."
        if channel in ("email", "portal") and self.chance(0.5):
            body = f"{self.pick(self.ph['greet'][lang])} {body}"
        if channel == "email" and self.chance(0.6):
            body += "\n\n" + self.signature(lang, sender)
        return subj, body

    def compose(self, sc: Scenario, t: Lines, lang: str, prio: str, channel: str, vague: bool,
                sender: Person, customer: str) -> tuple[str, str]:
        """Subject and body of one ticket in a style that fits the channel."""
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

    def answer(self, sc: Scenario, t: Lines, lang: str, role: str, kb: str, info: bool,
               no_reply: bool) -> str:
        """The resolution: the scenario's R line, or what L3 asked for first when it bounced the ticket."""
        ph = self.ph
        if role == "duplicate":
            return str(self.pick(t.get("X") or ph["generic_dup"][lang]))
        text = str(self.pick(t["R"]))
        if kb and self.chance(0.5):
            text += " " + self.pick(ph["kb_ref"][lang]).format(kb=kb)
        elif self.chance(0.3):
            text += " " + self.pick(ph["closers"][lang])
        if info:
            what = self.pick(t["Q"]) if "Q" in t else ph["info_what"][lang][sc.family]
            prefix = self.pick(ph["info_prefix"][lang]).format(what=what)
            follow = self.pick(ph["info_no_reply"][lang]) if no_reply else \
                f"{self.pick(ph['info_after'][lang])} {text}"
            text = f"{prefix} {follow}"
        return text
