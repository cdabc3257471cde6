"""The ticket history: durable (kill -9), reloaded on open, time-bounded hybrid search on real tickets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from triage._history import HistoryRecord, TicketHistory, to_epoch
from triage.errors import HistoryError
from triage.results import Prediction

from ..conftest import REPO


def record(i: int, vec: np.ndarray, text: str = "", **kw) -> HistoryRecord:  # type: ignore[no-untyped-def]
    return HistoryRecord(ticket_id=f"T-{i}", created_at=1_700_000_000.0 + 60 * i, subject=text[:40] or f"t{i}",
                         text=text or f"ticket number {i}", embedding=vec, **kw)


def unit(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_search_sees_only_earlier_tickets_and_never_itself(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vecs = unit(rng, 50)
    history = TicketHistory(tmp_path / "h.sqlite", 16)
    history.append([record(i, vecs[i]) for i in range(50)])
    query_time = 1_700_000_000.0 + 60 * 25  # T-25's own time: T-0..T-24 are earlier
    found = history.search(vecs[25], "ticket number 25", before=query_time, exclude="T-25", k=50)
    ids = [history.details([m.row])[m.row]["ticket_id"] for m in found]
    assert ids and len(ids) == 25
    assert all(int(t.split("-")[1]) < 25 for t in ids)
    # the exact vector of an earlier ticket comes first, with cosine 1
    found = history.search(vecs[10], "", before=query_time, exclude="T-25", k=3, mode="dense")
    assert history.details([found[0].row])[found[0].row]["ticket_id"] == "T-10"
    assert found[0].cosine == pytest.approx(1.0, abs=1e-5)
    history.close()


def test_reopen_rebuilds_the_index_and_upsert_keeps_one_row(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vecs = unit(rng, 20)
    path = tmp_path / "h.sqlite"
    history = TicketHistory(path, 16)
    history.append([record(i, vecs[i], answer=f"fix {i}") for i in range(20)])
    history.append([record(3, vecs[3], predicted={"queue": "x"})])  # re-sent: updated, not duplicated
    history.close()
    again = TicketHistory(path, 16)
    assert len(again) == 20 and len(again.store) == 20
    found = again.search(vecs[7], "", before=1e12, k=1, mode="dense")
    info = again.details([found[0].row])[found[0].row]
    assert info["ticket_id"] == "T-7" and info["answer"] == "fix 7"
    assert again.details([again.row_of("T-3")])[again.row_of("T-3")]["predicted"] == {"queue": "x"}  # type: ignore[index]
    again.close()
    with pytest.raises(HistoryError, match="16-d"):
        TicketHistory(path, 32)


def test_lexical_evidence_finds_an_error_code(tmp_path: Path, use_embedder) -> None:  # type: ignore[no-untyped-def]
    texts = ["Не открывается отчёт по продажам, ошибка ORA-01555 при выгрузке",
             "Отчёт по продажам грузится очень долго",
             "Не проходит оплата картой в мобильном приложении",
             "Report page is slow to load in the morning",
             "VPN не подключается после обновления клиента"]
    vecs = use_embedder.encode(texts)
    history = TicketHistory(tmp_path / "h.sqlite", vecs.shape[1])
    history.append([record(i, vecs[i], texts[i]) for i in range(len(texts))])
    query = "Снова ORA-01555 в ночной выгрузке"
    q = use_embedder.encode([query])[0]
    fused = history.search(q, query, before=1e12, k=2)
    lexical = history.search(q, query, before=1e12, k=2, mode="lexical")
    assert history.details([fused[0].row])[fused[0].row]["ticket_id"] == "T-0"
    assert history.details([lexical[0].row])[lexical[0].row]["ticket_id"] == "T-0"
    assert fused[0].score > fused[1].score
    history.close()


WRITER = textwrap.dedent("""
    import sys, numpy as np
    from triage._history import HistoryRecord, TicketHistory
    h = TicketHistory(sys.argv[1], 8)
    rng = np.random.default_rng(0)
    for i in range(100000):
        v = rng.normal(size=8).astype(np.float32); v /= np.linalg.norm(v)
        h.append([HistoryRecord(ticket_id=f"K-{i}", created_at=float(i), subject="s", text=f"kill test {i}",
                                embedding=v)])
        print(f"accepted K-{i}", flush=True)
""")


def test_an_accepted_write_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    accepted = []
    assert proc.stdout is not None
    for line in proc.stdout:
        accepted.append(line.split()[1])
        if len(accepted) == 150:
            os.kill(proc.pid, signal.SIGKILL)  # mid-stream, while it keeps writing
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    history = TicketHistory(path, 8)
    assert all(history.row_of(t) is not None for t in accepted)
    assert len(history) >= len(accepted)
    assert history.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    history.close()


def test_a_second_connection_catches_up_with_what_the_first_stored(tmp_path: Path) -> None:
    # a hot reload opens the new model's history while the old one still appends to the same file
    rng = np.random.default_rng(5)
    vecs = unit(rng, 30)
    path = tmp_path / "h.sqlite"
    old = TicketHistory(path, 16)
    old.append([record(i, vecs[i]) for i in range(20)])
    new = TicketHistory(path, 16)
    old.append([record(i, vecs[i]) for i in range(20, 25)])  # stored after `new` loaded
    new.append([record(25, vecs[25])])  # and the new one writes too
    assert len(new) == 21 and {r[1] for r in new.rows()} == {f"T-{i}" for i in (*range(20), 25)}
    vectors = new.vectors(np.asarray([r[0] for r in new.rows()]))  # every listed row has a vector
    assert vectors.shape == (21, 16)
    caught = new.catch_up()
    assert len(caught) == 5 and len(new) == 26 and new.catch_up() == []
    found = new.search(vecs[22], "", before=1e12, k=1, mode="dense")
    assert new.details([found[0].row])[found[0].row]["ticket_id"] == "T-22"
    old.close()
    new.close()



def test_dates_are_read_in_utc() -> None:
    assert to_epoch("2026-11-20T09:12:00Z") == to_epoch("2026-11-20T12:12:00+03:00")
    assert to_epoch(None) is None and to_epoch("") is None
    with pytest.raises(HistoryError):
        to_epoch(object())


def test_qdrant_behind_the_same_protocol(tmp_path: Path) -> None:
    from kb_index import QdrantStore

    rng = np.random.default_rng(2)
    vecs = unit(rng, 30)
    history = TicketHistory(tmp_path / "h.sqlite", 16,
                            store_factory=lambda d: QdrantStore(d, collection="history", path=":memory:"))
    history.append([record(i, vecs[i]) for i in range(30)])
    found = history.search(vecs[20], "ticket number 20", before=1_700_000_000.0 + 60 * 20, k=5)
    ids = [history.details([m.row])[m.row]["ticket_id"] for m in found]
    assert len(ids) == 5 and "T-20" not in ids and all(int(t.split("-")[1]) < 20 for t in ids)
    history.close()


def test_a_retrained_bundle_joins_the_live_history_without_losing_classified_tickets(tmp_path: Path) -> None:
    import pandas as pd

    from training.recurring import build_history_seed
    from triage._recurring import SEED, open_recurring

    rng = np.random.default_rng(4)
    vecs = unit(rng, 60)

    def bundle(name: str, n: int, answer: str) -> Path:
        df = pd.DataFrame({"id": [f"T-{i}" for i in range(n)], "subject": [f"s{i}" for i in range(n)],
                           "text": [f"ticket {i}" for i in range(n)], "answer": [answer] * n,
                           "created_at": pd.to_datetime([1_700_000_000 + 60 * i for i in range(n)], unit="s",
                                                        utc=True)})
        folder = tmp_path / name / "history"
        folder.mkdir(parents=True)
        build_history_seed(df, vecs[:n], "test-embedder", folder, [])
        return folder.parent

    live = tmp_path / "live.sqlite"
    first = bundle("v1", 40, "old fix")
    rec = open_recurring(first, {"model_version": "v1", "embedder": {"id": "test-embedder"}}, 16, live=live)
    assert rec is not None and len(rec.history) == 40 and (first / SEED).exists()
    rec.observe([{"id": "NEW-1", "created_at": "2030-01-01T00:00:00Z", "subject": "x"}], vecs[50:51], ["new one"],
                [Prediction()])
    rec.close()
    second = bundle("v2", 45, "new fix")
    rec = open_recurring(second, {"model_version": "v2", "embedder": {"id": "test-embedder"}}, 16, live=live)
    assert rec is not None and len(rec.history) == 46  # 45 training tickets + the classified one
    row = rec.history.row_of("T-3")
    assert row is not None and rec.history.details([row])[row]["answer"] == "new fix"
    assert rec.history.row_of("NEW-1") is not None
    rec.close()
    with pytest.raises(HistoryError, match="embedded with"):
        open_recurring(second, {"model_version": "v3", "embedder": {"id": "other"}}, 16, live=live)


def test_history_file_carries_a_schema_version(tmp_path: Path) -> None:
    """A history written by a newer triage is refused by name, not misread; ours is stamped on open."""
    import sqlite3

    from triage._db import SQLITE_STAMP
    from triage._history_store import connect

    path = tmp_path / "history.sqlite"
    connect(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SQLITE_STAMP
        db.execute(f"PRAGMA user_version = {SQLITE_STAMP + 1}")
    with pytest.raises(HistoryError, match="written by a newer triage"):
        connect(path)
