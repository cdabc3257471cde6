"""Contract §4 `recurring`: similar earlier tickets, the known problem, the spike — and the history they need.

`Recurring.observe` is the one place classification touches storage: for each ticket, in `created_at`
order, it searches the history and then appends the ticket, so a later ticket of the same batch already
sees an earlier one (contract §3). The whole batch is one database transaction (one fsync); the API
answers only after it committed, so an answered ticket is durable. `Triage` itself stays free of I/O.

Where the history lives: training writes the training tickets (with their embeddings and the known
problems) into the bundle as `history/history.sqlite`, a read-only seed. The service appends to a live
history: the shared `TRIAGE_DATABASE_URL` when set (replicas), else the file `TRIAGE_HISTORY_DB` (default:
`<bundle>.history.sqlite` beside the bundle, so retraining, which swaps the bundle directory, never
deletes it); on start the live history takes in the seed of a new bundle, once however many replicas
start. `triage predict` works on a temporary copy of the seed unless one of the two is set.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from triage._alerts import AlertConfig, AlertSender
from triage._duplicates import CANDIDATES, DuplicateRanker, Query, load_duplicate_ranker
from triage._history import HistoryRecord, TicketHistory, iso, order_times
from triage._problems import ProblemSet, problem_dict
from triage._spike import SpikeConfig, SpikeDetector
from triage.errors import HistoryError
from triage.results import Prediction, RecurringResult, SimilarTicket
from triage.settings import Settings

SEED = "history/history.sqlite"
DEFAULT_THRESHOLD = 0.9  # before a history is large enough to measure its own (see `similarity_threshold`)


def similarity_threshold(vectors: np.ndarray, quantile: float = 0.999, pairs: int = 20_000, seed: int = 0) -> float:
    """The cosine that only 0.1% of random ticket pairs exceed: 'the same thing' for this embedder and data."""
    if len(vectors) < 50:
        return DEFAULT_THRESHOLD
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(vectors), pairs), rng.integers(0, len(vectors), pairs)
    keep = a != b
    sims = np.sum(vectors[a[keep]] * vectors[b[keep]], axis=1)
    return float(np.quantile(sims, quantile))


class Recurring:
    def __init__(self, history: TicketHistory, problems: ProblemSet, spike: SpikeDetector | None = None,
                 top_k: int = 5, ranker: DuplicateRanker | None = None) -> None:
        self.history = history
        self.ranker = ranker  # learned from the bundle's duplicate_of links, when it measured better
        self.problems = problems
        self.spike = spike
        self.top_k = top_k
        self._last_arrival = 0.0
        self.scratch: Path | None = None  # a throwaway copy's folder, removed on close

    def _arrival(self) -> float:
        """A ticket without created_at is dated on arrival, strictly after the previous one."""
        now = max(time.time(), self._last_arrival + 1e-6)
        self._last_arrival = now
        return now

    def observe(self, tickets: Sequence[Mapping[str, Any]], vectors: np.ndarray, texts: Sequence[str],
                predictions: Sequence[Prediction], *, record: bool = True,
                sizes: Sequence[int] | None = None) -> list[RecurringResult]:
        """`recurring` per ticket (input order); with `record`, the tickets join the history with their answers.

        `sizes` splits `tickets` into the independent requests of a micro-batch (api/_batcher.py): an
        undated ticket is placed among its own request's tickets, or dated on arrival, never by a
        stranger's `created_at`; the whole micro-batch is then searched and recorded in time order.
        """
        times = self._times(tickets, sizes or [len(tickets)])
        order = sorted(range(len(tickets)), key=lambda i: times[i])
        out: dict[int, RecurringResult] = {}
        with self.history.transaction():
            for i in order:
                out[i] = self._one(tickets[i], vectors[i], texts[i], times[i], predictions[i], record)
        return [out[i] for i in range(len(tickets))]

    def _times(self, tickets: Sequence[Mapping[str, Any]], sizes: Sequence[int]) -> list[float]:
        """Ordering time per ticket: its own created_at, its place in its request, or its arrival."""
        if sum(sizes) != len(tickets):
            raise ValueError(f"request sizes {list(sizes)} do not add up to {len(tickets)} tickets")
        out: list[float] = []
        for size in sizes:
            given = order_times([t.get("created_at") for t in tickets[len(out):len(out) + size]])
            out += [t if t is not None else self._arrival() for t in given]  # undated: placed by input order
        return out

    def _one(self, ticket: Mapping[str, Any], vector: np.ndarray, text: str, created: float,
             prediction: Prediction, record: bool) -> RecurringResult:
        tid = str(ticket.get("id") or "") or None
        raw: list[tuple[np.ndarray, np.ndarray]] = []
        if self.ranker is not None:  # the fused candidates, ordered by what the team's duplicate links taught
            pool = self.history.candidates(vector, text, before=created, exclude=tid, n=CANDIDATES, neighbours=raw)
            query = Query(vector, str(ticket.get("subject") or ""), text, created)
            matches = self.ranker.rank(self.history, query, pool, self.top_k)
        else:
            matches = self.history.search(vector, text, before=created, exclude=tid, k=self.top_k, neighbours=raw)
        info = self.history.details([m.row for m in matches])
        similar: list[SimilarTicket] = [
            {"ticket_id": info[m.row]["ticket_id"], "score": round(float(np.clip(m.score, 0, 1)), 4),
             "created_at": info[m.row]["created_at"], "answer": info[m.row]["answer"]} for m in matches]
        pid = self.problems.assign(vector[None, :])[0]
        problem = self.problems.get(pid) if pid is not None else None
        spike = None
        if record:
            rows = self.history.append([HistoryRecord(
                ticket_id=tid or f"anon-{created:.6f}", created_at=created, subject=str(ticket.get("subject") or ""),
                text=text, embedding=vector, source="classified", predicted=prediction.as_dict(), problem_id=pid)])
            if self.spike is not None:
                title = problem.title if problem else (str(ticket.get("subject") or "").strip() or text[:80])
                known = (*raw[0], rows[0]) if raw else None
                spike = self.spike.observe(vector, created, tid or "?", pid, title,
                                           prediction.module or (problem.module if problem else None), known)
        return {"similar": similar, "problem": problem.brief() if problem else None, "spike": spike}

    def problem_listing(self, now: float | None = None) -> list[dict[str, Any]]:
        """Every known problem with its counts over the last hour / day / week and a trend, most active first."""
        now = time.time() if now is None else now
        created, assigned = self.history.created, self.history.problems
        keep = (assigned >= 0) & np.isfinite(created)
        created, assigned = created[keep], assigned[keep]
        size = int(assigned.max()) + 1 if len(assigned) else 1

        def count(lo: float, hi: float = now) -> np.ndarray:  # tickets per problem created in (lo, hi]
            return np.bincount(assigned[(created > lo) & (created <= hi)], minlength=size)

        total = np.bincount(assigned, minlength=size)
        hour, day, week = count(now - 3600), count(now - 86400), count(now - 7 * 86400)
        before = count(now - 8 * 86400, now - 86400) / 7
        last = np.full(size, -np.inf)
        np.maximum.at(last, assigned, created)
        out = []
        for p in self.problems.problems:
            i = p.id if p.id < size else 0
            seen = bool(p.id < size and total[i] > 0)
            out.append({**problem_dict(p), "tickets": int(total[i]) if seen else 0, "last_hour": int(hour[i]) * seen,
                        "last_day": int(day[i]) * seen, "last_week": int(week[i]) * seen,
                        "daily_rate_before": round(float(before[i]) * seen, 3),
                        "trend": _trend(int(day[i]) * seen, float(before[i]) * seen),
                        "first_seen": iso(p.first_seen) if p.first_seen else None,
                        "last_seen": iso(float(last[i])) if seen else None})
        out.sort(key=lambda r: (r["last_hour"], r["last_day"], r["last_week"], r["tickets"]), reverse=True)
        return out

    def problem_series(self, days: int = 14, now: float | None = None) -> dict[str, list[int]]:
        """Tickets per day of each known problem over the last `days` days (oldest first), for sparklines."""
        now = time.time() if now is None else now
        created, assigned = self.history.created, self.history.problems
        keep = (assigned >= 0) & np.isfinite(created) & (created > now - days * 86400) & (created <= now)
        age = np.minimum(((now - created[keep]) // 86400).astype(np.int64), days - 1)
        counts: dict[str, list[int]] = {p.key: [0] * days for p in self.problems.problems}
        for pid, d in zip(assigned[keep], age, strict=True):
            key = f"P-{int(pid)}"
            if key in counts:
                counts[key][days - 1 - int(d)] += 1
        return counts

    def catch_up(self) -> int:
        """Take in what the previous model stored while this one was loading (hot reload); how many."""
        rows = np.asarray(self.history.catch_up(), np.int64)
        _assign(self.history, self.problems, rows)
        return len(rows)

    def close(self) -> None:
        if self.spike is not None and self.spike.sender is not None:
            self.spike.sender.close()
        self.history.close()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def _trend(last_day: int, daily_before: float) -> str:
    """The last day against the daily mean of the seven before it."""
    if last_day and not daily_before:
        return "new"
    if last_day > 1.5 * daily_before + 1:
        return "rising"
    if last_day < daily_before / 1.5:
        return "falling"
    return "steady"


def default_live_path(bundle: Path) -> Path:
    bundle = Path(bundle).resolve()
    return bundle.with_name(bundle.name + ".history.sqlite")


SEED_TICKET = """
INSERT INTO tickets (ticket_id, created_at, text_hash, subject, text, embedding, source, module, answer, labels,
                     predicted, problem_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(ticket_id) DO UPDATE SET source = 'train', module = excluded.module, answer = excluded.answer,
    labels = excluded.labels, problem_id = excluded.problem_id, embedding = excluded.embedding, text = excluded.text,
    subject = excluded.subject, text_hash = excluded.text_hash, created_at = excluded.created_at
"""


def seed_live(live: str | Path, seed: Path, version: str, embedder_id: str) -> None:
    """Bring a bundle's training tickets and problems into the live history, once per bundle version.

    The seed is the bundle's own SQLite file, read as it is; the live history is any database. Replicas
    starting together take turns (`Database.serialize`), so the seed is taken in once.
    """
    import sqlite3

    from triage._history_store import SET_META, connect

    db = connect(live)  # the one way a history is opened: migrated, WAL and FULL on SQLite
    try:
        with db.transaction():
            db.serialize("seed")
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("seed_version") == f'"{version}"':
                return
            if meta.get("embedder") not in (None, f'"{embedder_id}"'):
                raise HistoryError(f"{db.name} holds tickets embedded with {meta['embedder']}, the model uses "
                                   f"{embedder_id}: set TRIAGE_HISTORY_DB (or TRIAGE_DATABASE_URL) to a new "
                                   "database for this model")
            source = sqlite3.connect(f"file:{seed}?mode=ro", uri=True)
            try:
                cursor = source.execute("SELECT ticket_id, created_at, text_hash, subject, text, embedding, source, "
                                        "module, answer, labels, predicted, problem_id FROM tickets ORDER BY id")
                while chunk := cursor.fetchmany(5_000):
                    db.executemany(SEED_TICKET, chunk)
                db.execute("DELETE FROM problems")
                db.executemany("INSERT INTO problems (id, title, size, module, answer, first_seen, last_seen, "
                               "centroid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               source.execute("SELECT id, title, size, module, answer, first_seen, last_seen, "
                                              "centroid FROM problems").fetchall())
                db.executemany(SET_META, source.execute("SELECT key, value FROM meta").fetchall())
            finally:
                source.close()
            db.execute(SET_META, ("seed_version", f'"{version}"'))
    finally:
        db.close()


def open_recurring(bundle: Path, manifest: Mapping[str, Any], dim: int, *, live: str | Path | None = None,
                   ephemeral: bool = False, spike: SpikeConfig | None = None, alerts: AlertConfig | None = None,
                   top_k: int = 5) -> Recurring | None:
    """The bundle's history, live (durable, shared across restarts) or a throwaway copy; None without a seed."""
    seed = Path(bundle) / SEED
    if not seed.exists():
        return None
    scratch = None
    if ephemeral and live is None:
        scratch = Path(tempfile.mkdtemp(prefix="triage-history-"))
        live = scratch / "history.sqlite"
        shutil.copyfile(seed, live)
    live = live or default_live_path(Path(bundle))  # a SQLite file (its folder is made on open) or a database URL
    seed_live(live, seed, str(manifest["model_version"]), str(manifest["embedder"]["id"]))
    history = TicketHistory(live, dim)
    problems = ProblemSet.load(history.db, dim)
    _reassign_classified(history, problems)
    threshold = float(history.meta("spike_threshold", history.meta("similar_threshold", DEFAULT_THRESHOLD)))
    sender = AlertSender(alerts) if alerts is not None and alerts.enabled else None
    recurring = Recurring(history, problems, SpikeDetector(history, threshold, spike, sender), top_k=top_k,
                          ranker=load_duplicate_ranker(Path(bundle), manifest))
    recurring.scratch = scratch
    return recurring


def _reassign_classified(history: TicketHistory, problems: ProblemSet) -> None:
    """After a new bundle, tickets classified earlier belong to the new problems (ids changed)."""
    if history.meta("assigned_for") == history.meta("seed_version"):
        return
    _assign(history, problems, np.asarray([r[0] for r in history.rows(source="classified")], np.int64))
    history.set_meta("assigned_for", history.meta("seed_version"))


def _assign(history: TicketHistory, problems: ProblemSet, rows: np.ndarray) -> None:
    """Durably put these stored tickets into the current known problems (or none)."""
    if len(rows):
        assigned = problems.assign(history.vectors(rows))
        history.set_problems({int(r): a for r, a in zip(rows, assigned, strict=True)})


def recurring_from_settings(bundle: Path, manifest: Mapping[str, Any], dim: int, settings: Settings, *,
                            ephemeral: bool = False, alerts: bool = True) -> Recurring | None:
    """`open_recurring` configured by `TRIAGE_*` settings (the service and `triage predict`)."""
    spike = SpikeConfig(window_minutes=settings.spike_window_minutes, alpha=settings.spike_alpha,
                        timezone=settings.alert_timezone, ticket_url=settings.ticket_url)
    config = AlertConfig(webhook_url=settings.alert_webhook_url, telegram_token=settings.telegram_bot_token,
                         telegram_chat_id=_first_chat(settings.telegram_chat_id),
                         telegram_thread_id=settings.telegram_thread_id, telegram_api_url=settings.telegram_api_url)
    return open_recurring(bundle, manifest, dim, live=settings.history_target, ephemeral=ephemeral, spike=spike,
                          alerts=config if alerts else None, top_k=settings.similar_top_k)


def _first_chat(chats: str | None) -> str | None:
    """Alerts go to the first of TRIAGE_TELEGRAM_CHAT_ID's chats (the gateway serves them all)."""
    first = (chats or "").split(",")[0].strip()
    return first or None
