"""The model lock serves waiters in arrival order, so request loops cannot starve a hot reload."""

from __future__ import annotations

import threading
import time

import pytest

from api._fairlock import FairLock


def _loop(lock: FairLock, stop: threading.Event, hold: float) -> None:
    while not stop.is_set():
        with lock:
            time.sleep(hold)


def _wait_for_turn(lock: FairLock, loops: int) -> float:
    stop = threading.Event()
    threads = [threading.Thread(target=_loop, args=(lock, stop, 0.02)) for _ in range(loops)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    start = time.monotonic()
    with lock:
        waited = time.monotonic() - start
    stop.set()
    for t in threads:
        t.join()
    return waited


def test_a_waiter_gets_its_turn_behind_busy_loops() -> None:
    # three loops each holding the lock 20 ms: a FIFO waiter is served within about three holds
    waited = _wait_for_turn(FairLock(), loops=3)
    assert waited < 0.25, f"waited {waited:.2f} s behind three 20 ms holders"  # threading.Lock: 0.4-1.1 s here


def test_mutual_exclusion() -> None:
    lock, inside, overlaps = FairLock(), [0], []

    def work() -> None:
        for _ in range(200):
            with lock:
                inside[0] += 1
                overlaps.append(inside[0])
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(overlaps) == 800 and max(overlaps) == 1


def test_an_interrupted_waiter_gives_its_turn_away(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = FairLock()
    lock.acquire()
    # a waiter interrupted while queued (KeyboardInterrupt in its wait) must not block the ones behind it
    monkeypatch.setattr(lock._cond, "wait", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        lock.acquire()
    monkeypatch.undo()
    got = threading.Event()
    behind = threading.Thread(target=lambda: (lock.acquire(), got.set(), lock.release()))
    behind.start()
    lock.release()
    behind.join(timeout=5)
    assert got.is_set()
