"""Plan the ticket set: background tickets, the planted incidents, duplicates; and the Jira-style sample.

``TicketFactory`` adds to ``Writer`` the decisions about *which* tickets exist (scenario, language,
time, role in an incident); ``finalize`` turns them into the rows of tickets.csv.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from demo_data.source import Outage, Scenario
from demo_data.writer import END, Writer

SEED = 20260601
TOTAL_TICKETS = 600
SCATTERED_DUPLICATES = 7
PRIORITIES = ["low", "medium", "high", "critical"]
CHANNELS = ["email", "portal", "phone", "telegram"]
CHANNEL_WEIGHTS = [40, 33, 16, 11]
MSK = dt.timezone(dt.timedelta(hours=3))
JIRA_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

Ticket = dict[str, Any]


@dataclass
class TicketFactory(Writer):
    """Builds ticket dicts; all randomness goes through ``self.rng``."""

    seq: int = 0  # creation order, the tie-break when two tickets share a time

    def ticket(self, sc: Scenario, lang: str, when: dt.datetime, *, role: str = "single",
               prio: str | None = None, channel: str | None = None, vague: bool | None = None,
               customer: tuple[str, Any] | None = None, kb_p: float = 0.6,
               variant: int | None = None) -> Ticket:
        if variant is None:
            variant = self.rng.randrange(sc.n_variants(lang))
        t = sc.view(lang, variant)
        prio = prio or self.weighted(PRIORITIES, sc.priority)
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

    def pick_scenario(self, lang: str) -> Scenario:
        weights = [s.weight if lang in s.texts else 0 for s in self.src.scenarios]
        return self.rng.choices(self.src.scenarios, weights=weights)[0]

    def background(self, n: int) -> list[Ticket]:
        out = []
        for _ in range(n):
            lang = "en" if self.chance(0.21) else "ru"
            sc = self.pick_scenario(lang)
            out.append(self.ticket(sc, lang, self.random_time(sc.family)))
        return out

    def burst(self, outage: Outage) -> list[Ticket]:
        """An outage: the first report is the original, the rest point at it."""
        sc = outage.scenario
        rest = ["en"] * outage.n_en + ["ru"] * (outage.size - 1 - outage.n_en)
        self.rng.shuffle(rest)
        owners = self.src.reference["owners"][sc.module]
        incident_owner = owners.get("on_duty") or owners["owners"][0]
        out: list[Ticket] = []
        when = outage.start
        for i, lang in enumerate(["ru", *rest]):
            role = "original" if i == 0 else "duplicate"
            tk = self.ticket(sc, lang, when, role=role, prio="critical" if i == 0 else None,
                             channel=self.weighted(CHANNELS, [25, 15, 35, 25]),
                             vague=False, kb_p=0.0)
            tk["owner"] = incident_owner if self.chance(0.8) else owners["owners"][0]
            if out:
                tk["dup_key"] = out[0]["key"]
            out.append(tk)
            when += dt.timedelta(minutes=self.rng.uniform(1.0, 8.0), seconds=self.rng.randint(0, 59))
        return out

    def recurring(self) -> list[Ticket]:
        """The problem that breaks after every update; all reports point at the first one."""
        rec = self.src.recurring
        out: list[Ticket] = []
        for update, n in zip(rec.updates, rec.tickets, strict=True):
            morning = dt.datetime.combine(update + dt.timedelta(days=1), dt.time(5, 35), tzinfo=dt.UTC)
            when = morning + dt.timedelta(minutes=self.rng.randint(0, 50))
            for _ in range(n):
                role = "duplicate" if out else "original"
                tk = self.ticket(rec.scenario, "ru", when, role=role, vague=False, kb_p=0.9)
                if out:
                    tk["dup_key"] = out[0]["key"]
                out.append(tk)
                when += dt.timedelta(minutes=self.rng.randint(15, 240), seconds=self.rng.randint(0, 59))
        return out

    def scattered_duplicates(self, pool: list[Ticket], n: int) -> list[Ticket]:
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
                tk["subject"] = self.pick(self.ph["follow_up_subj"][lang]).format(subj=orig["subject"])
                tk["body"] = self.pick(self.ph["follow_up"][lang]).format(
                    subj=orig["subject"], detail=detail).strip()
            tk.update(dup_key=orig["key"], owner=orig["owner"], kb_article=orig["kb_article"])
            out.append(tk)
        return out


def finalize(tickets: list[Ticket], id_fmt: str = "T-{:04d}") -> list[dict[str, str]]:
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


def generate_tickets(factory: TicketFactory) -> list[dict[str, str]]:
    src = factory.src
    special = sum(o.size for o in src.outages) + sum(src.recurring.tickets)
    background = factory.background(TOTAL_TICKETS - special - SCATTERED_DUPLICATES)
    tickets = list(background)
    for outage in src.outages:
        tickets += factory.burst(outage)
    tickets += factory.recurring()
    tickets += factory.scattered_duplicates(background, SCATTERED_DUPLICATES)
    return finalize(tickets)


# -- foreign (Jira-style) export -----------------------------------------------
def jira_date(when: dt.datetime) -> str:
    """Jira's default export format in local (Moscow) time: 23/Nov/26 15:04."""
    local = when.astimezone(MSK)
    return (f"{local.day:02d}/{JIRA_MONTHS[local.month - 1]}/{local.year % 100:02d} "
            f"{local.hour:02d}:{local.minute:02d}")


def jira_markup(body: str, struct_labels: dict[str, dict[str, str]]) -> str:
    """Turn our plain-text structure into Jira wiki markup."""
    body = re.sub(r"(?m)^\d+\. ", "# ", body)
    for labels in struct_labels.values():
        for label in labels.values():
            body = re.sub(rf"(?m)^{re.escape(label)}", f"*{label}*", body)
    return body


def jira_rows(factory: TicketFactory, n: int = 30) -> list[dict[str, str]]:
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    end = dt.datetime(2026, 11, 27, 23, 59, tzinfo=dt.UTC)
    tickets = []
    for _ in range(n):
        lang = "en" if factory.chance(0.3) else "ru"
        sc = factory.pick_scenario(lang)
        tickets.append(factory.ticket(sc, lang, factory.random_time(sc.family, start, end)))
    tickets.sort(key=lambda t: (t["when"], t["key"]))
    labels = factory.ph["struct_labels"]
    return [{
        "Issue key": f"HD-{1201 + i}", "Summary": t["subject"],
        "Description": jira_markup(t["body"], labels), "Created": jira_date(t["when"]),
        "Component/s": t["module"], "Assignee": t["owner"],
        "Priority": t["priority"].capitalize(),
    } for i, t in enumerate(tickets)]
