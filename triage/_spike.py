"""Spikes: many tickets about one thing inside a sliding window, more than history makes plausible.

A ticket's group is its known problem plus every stored ticket at least as close as the spike
threshold (closer than 99% of random pairs, measured on the training history). The group's count in
the window is compared with what its usual share of the traffic predicts for the window's volume:
under a Poisson model with that mean, the tail P(X ≥ count) below `alpha` (with at least `min_count`
tickets) is a spike. Using the share, not a rate per hour, makes nights, weekends and Monday mornings
need no calendar.

A spike opens one incident (one alert); later tickets of the same group while it lasts update it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
from scipy.stats import poisson

from triage._alerts import AlertEvent, AlertSender
from triage._history import TicketHistory
from triage.results import SpikeResult


@dataclass
class SpikeConfig:
    window_minutes: float = 60.0
    alpha: float = 1e-3
    min_count: int = 3
    prior_share: float = 0.01  # a group never seen is assumed to be 1% of the traffic...
    prior_tickets: float = 50.0  # ...with the weight of 50 tickets
    neighbours: int = 256
    update_every_seconds: float = 0.0  # 0: an update per new ticket of the incident
    timezone: str = "UTC"
    ticket_url: str = "{id}"


@dataclass
class Incident:
    key: str
    anchor: np.ndarray
    problem_id: int | None
    title: str
    module: str | None
    started: float
    last: float
    tickets: list[str] = field(default_factory=list)
    last_update: float = 0.0
    seen: float = field(default_factory=time.time)  # wall clock of its last ticket here (tickets may be dated)


INCIDENT_COLUMNS = "key, anchor, problem_id, title, module, started, last, tickets, last_update"


class SpikeDetector:
    """Counts a new (already stored) ticket's group in the window; opens or updates incidents.

    Incidents are kept in the history database, so a restart in the middle of one updates it instead
    of raising a second alert.
    """

    def __init__(self, history: TicketHistory, threshold: float, config: SpikeConfig | None = None,
                 sender: AlertSender | None = None) -> None:
        self.history = history
        self.threshold = threshold
        self.config = config or SpikeConfig()
        self.sender = sender
        self.incidents = [Incident(k, np.frombuffer(a, np.float32), p, t, m, s, la, json.loads(ts), lu)
                          for k, a, p, t, m, s, la, ts, lu in history.db.execute(
                              f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE closed IS NULL")]
        self._seq = int(history.db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0])

    def refresh(self) -> int:
        """Take in open incidents another replica on the same database opened or grew; how many changed.

        Called with the history's catch-up, so a burst spread over replicas updates one incident
        (one alert) instead of each replica opening its own; an incident this replica closed stays closed.
        """
        changed = 0
        mine = {i.key: i for i in self.incidents}
        for k, a, p, t, m, s, la, ts, lu in self.history.db.execute(
                f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE closed IS NULL"):
            tickets = json.loads(ts)
            inc = mine.get(k)
            if inc is None:
                self.incidents.append(Incident(k, np.frombuffer(a, np.float32), p, t, m, s, la, tickets, lu))
                changed += 1
            elif la > inc.last or len(tickets) > len(inc.tickets):
                inc.tickets = list(dict.fromkeys([*inc.tickets, *tickets]))
                inc.last, inc.last_update, inc.seen = max(inc.last, la), max(inc.last_update, lu), time.time()
                changed += 1
        return changed

    def recent(self, since: float) -> list[Incident]:
        """Incidents active at or after `since` (unix seconds), newest first, as stored."""
        rows = self.history.db.execute(f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE last >= ? "
                                       "ORDER BY started DESC", (since,))
        return [Incident(k, np.frombuffer(a, np.float32), p, t, m, s, la, json.loads(ts), lu)
                for k, a, p, t, m, s, la, ts, lu in rows]

    def is_open(self, inc: Incident, now: float) -> bool:
        """Still open: a ticket of it arrived within the last window."""
        return now - inc.last <= self.window

    def _save(self, inc: Incident) -> None:
        """Written inside the batch's transaction: committed together with the ticket that changed it."""
        self.history.db.execute(f"INSERT INTO incidents ({INCIDENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                "ON CONFLICT (key) DO UPDATE SET anchor = excluded.anchor, problem_id = "
                                "excluded.problem_id, title = excluded.title, module = excluded.module, started = "
                                "excluded.started, last = excluded.last, tickets = excluded.tickets, "
                                "last_update = excluded.last_update", (
            inc.key, np.asarray(inc.anchor, np.float32).tobytes(), inc.problem_id, inc.title, inc.module,
            inc.started, inc.last, json.dumps(inc.tickets, ensure_ascii=False), inc.last_update))

    @property
    def window(self) -> float:
        return self.config.window_minutes * 60.0

    def group(self, vector: np.ndarray, problem_id: int | None,
              known: tuple[np.ndarray, np.ndarray, int] | None = None) -> np.ndarray:
        """Row ids of the stored tickets in this ticket's group (itself included).

        `known`: (scores, ids) of a search made just before this ticket was stored, and its row — the
        similar-ticket search already paid for them; used when they are not all above the threshold.
        """
        if known is not None:
            scores, ids, row = known
            close = ids[(scores >= self.threshold) & (ids >= 0)]
            if len(close) < len(ids) or len(ids) >= len(self.history.store) - 1:
                close = np.union1d(close, [row])
                if problem_id is not None:
                    close = np.union1d(close, np.flatnonzero(self.history.problems == problem_id))
                return close.astype(np.int64)
        n = len(self.history.store)
        fetch = min(self.config.neighbours, n)
        while True:
            scores, ids = self.history.store.search(np.asarray(vector, np.float32)[None, :], fetch)
            close = ids[0][(scores[0] >= self.threshold) & (ids[0] >= 0)]
            if len(close) < fetch or fetch >= n or fetch >= 16 * self.config.neighbours:
                break
            fetch = min(n, fetch * 4)  # a popular group: its long-run rate needs all of it
        if problem_id is not None:
            close = np.union1d(close, np.flatnonzero(self.history.problems == problem_id))
        return close.astype(np.int64)

    def rate(self, members: np.ndarray, now: float) -> tuple[int, float]:
        """(group tickets in the window ending now, the count its usual share of the current volume predicts).

        Expected = share × volume: the group's share of all tickets before the window (with a prior
        of `prior_share` over `prior_tickets` pseudo-tickets), times every ticket in the window. Volume
        follows the time of day and the weekday by itself, so a busy Monday morning is not a spike.
        """
        created = self.history.created[members]
        start = now - self.window
        count = int(((created > start) & (created <= now)).sum())
        before = int((created <= start).sum())
        every = self.history.created
        volume = int(((every > start) & (every <= now)).sum())
        total_before = int((every <= start).sum())
        cfg = self.config
        share = (before + cfg.prior_share * cfg.prior_tickets) / (total_before + cfg.prior_tickets)
        return count, share * volume

    def observe(self, vector: np.ndarray, created: float, ticket_id: str, problem_id: int | None, title: str,
                module: str | None, known: tuple[np.ndarray, np.ndarray, int] | None = None) -> SpikeResult | None:
        """Contract §4 `recurring.spike` for a ticket just stored; None when its group is only itself."""
        members = self.group(vector, problem_id, known)
        count, expected = self.rate(members, created)
        if count <= 1:
            return None
        p = float(poisson.sf(count - 1, expected))
        spiking = count >= self.config.min_count and p < self.config.alpha
        self.expire(created)
        incident = None
        if spiking or self.incidents:
            window = self._in_window(members, created)
            incident = self._match(vector, problem_id, set(window))
            if incident is not None:
                self._update(incident, ticket_id, created)
            elif spiking:
                self._open(vector, created, problem_id, title, module, window, count, expected)
        return {"active": bool(spiking or incident is not None), "count": count,
                "window_minutes": self.config.window_minutes, "expected": round(expected, 4)}

    def expire(self, now: float, *, wall_clock: bool = False) -> list[Incident]:
        """Incidents quiet for a whole window are over: each gets one `close` alert and is marked closed.

        Called for every ticket (on the tickets' own clock) and, in the service, every few seconds on the
        wall clock since the incident last grew (`wall_clock=True`), so a topic closes when the outage
        ends even if no ticket follows, and tickets sent with past dates do not close it at once.
        """
        def quiet(i: Incident) -> bool:
            return now - (i.seen if wall_clock else i.last) > self.window

        over = [i for i in self.incidents if quiet(i)]
        if not over:
            return []
        self.incidents = [i for i in self.incidents if not quiet(i)]
        with self.history.transaction():
            for inc in over:
                self.history.db.execute("UPDATE incidents SET closed = ? WHERE key = ?", (now, inc.key))
        for inc in over:
            self._emit("close", inc, f"закрыт: {len(inc.tickets)} обращений, тихо {self.config.window_minutes:g} мин")
        return over

    def incident_of(self, ticket_id: str) -> Incident | None:
        """The open incident this ticket was counted in, if any."""
        return next((i for i in self.incidents if ticket_id in i.tickets), None)

    def _in_window(self, members: np.ndarray, now: float) -> list[str]:
        """Ticket ids of the group inside the window, oldest first."""
        created = self.history.created[members]
        rows = members[(created > now - self.window) & (created <= now)]
        rows = rows[np.argsort(self.history.created[rows], kind="stable")]
        details = self.history.details([int(r) for r in rows])
        return [details[int(r)]["ticket_id"] for r in rows]

    def _match(self, vector: np.ndarray, problem_id: int | None, window: set[str]) -> Incident | None:
        """The live incident this ticket belongs to: same problem, near its first ticket, or sharing tickets.

        Sharing is what holds a reworded burst together: each rewording is close to some, not all, others.
        """
        for inc in self.incidents:
            same_problem = problem_id is not None and inc.problem_id == problem_id
            if same_problem or float(inc.anchor @ vector) >= self.threshold or window & set(inc.tickets):
                return inc
        return None

    def _open(self, vector: np.ndarray, now: float, problem_id: int | None, title: str, module: str | None,
              tickets: list[str], count: int, expected: float) -> None:
        rows = [self.history.row_of(t) for t in tickets]
        first = float(min(self.history.created[r] for r in rows if r is not None))
        # another replica on the same database may have opened some since: number after every stored one
        stored = int(self.history.db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0])
        self._seq = max(self._seq, stored) + 1
        key = f"I-{datetime.fromtimestamp(first, UTC):%Y%m%d-%H%M}-{self._seq}"
        inc = Incident(key, np.asarray(vector, np.float32), problem_id, title, module, first, now, tickets, now)
        self.incidents.append(inc)
        self._save(inc)
        self._emit("open", inc, f"{count} обращений за {self.config.window_minutes:g} мин "
                                f"(обычно {expected:.2f})")

    def _update(self, inc: Incident, ticket_id: str, now: float) -> None:
        if ticket_id not in inc.tickets:
            inc.tickets.append(ticket_id)
        inc.last = max(inc.last, now)
        inc.seen = time.time()
        due = now - inc.last_update >= self.config.update_every_seconds
        if due:
            inc.last_update = now
        self._save(inc)
        if due:
            self._emit("update", inc, f"обновление: {len(inc.tickets)} обращений, новое {self._link(ticket_id)}")

    def header(self, inc: Incident) -> str:
        start = datetime.fromtimestamp(inc.started, ZoneInfo(self.config.timezone))
        return f"[Инцидент][{inc.module or 'без модуля'}] – {inc.title} с {start:%H:%M}"

    def _link(self, ticket_id: str) -> str:
        return self.config.ticket_url.format(id=ticket_id)

    def _emit(self, kind: str, inc: Incident, line: str) -> None:
        if self.sender is None:
            return
        links = "\n".join(self._link(t) for t in inc.tickets[-10:])
        text = f"{self.header(inc)}\n{line}\n{links}"
        payload = {"module": inc.module, "title": inc.title, "count": len(inc.tickets), "header": self.header(inc),
                   "started_at": datetime.fromtimestamp(inc.started, UTC).isoformat(), "tickets": list(inc.tickets),
                   "problem_id": None if inc.problem_id is None else f"P-{inc.problem_id}"}
        self.sender.send(AlertEvent(kind, inc.key, text, payload))
