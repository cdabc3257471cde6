"""kb_index.durable: a failure or a kill -9 in the middle of a write leaves the old content intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from kb_index import durable
from kb_index.durable import atomic_file, atomic_write_text, fsync_tree, remove_stale_staging, swap_dir

from ..conftest import REPO


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_atomic_write_replaces_the_content_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "keys.yaml"
    atomic_write_text(target, "first\n")
    atomic_write_text(target, "второй\n")
    assert target.read_text(encoding="utf-8") == "второй\n"
    assert _leftovers(tmp_path, {"keys.yaml"}) == []


def test_an_exception_mid_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "predictions.jsonl"
    target.write_text("old line\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="classifier failed"), atomic_file(target) as fh:
        fh.write("half of the new")
        fh.flush()
        raise RuntimeError("classifier failed")
    assert target.read_text(encoding="utf-8") == "old line\n"
    assert _leftovers(tmp_path, {"predictions.jsonl"}) == []  # the temporary file is removed
    with pytest.raises(KeyboardInterrupt), atomic_file(tmp_path / "new.bin", "wb") as fh:
        fh.write(b"\x00" * 10)
        raise KeyboardInterrupt
    assert not (tmp_path / "new.bin").exists()  # a file that did not exist still does not


def test_kill_9_mid_write_leaves_the_old_file(tmp_path: Path) -> None:
    target, ready = tmp_path / "out.jsonl", tmp_path / "ready"
    target.write_text("the old content\n", encoding="utf-8")
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from kb_index.durable import atomic_file
        with atomic_file(Path({str(target)!r})) as fh:
            fh.write("the new content, half written")
            fh.flush()
            Path({str(ready)!r}).write_text("1")
            time.sleep(60)
            fh.write("the rest")
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, "the writer died before it wrote"
            assert time.monotonic() < deadline, "the writer never got going"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert target.read_text(encoding="utf-8") == "the old content\n"
    # what the killed writer left is a hidden temporary, never the target itself
    assert all(name.startswith(".out.jsonl.tmp-") for name in _leftovers(tmp_path, {"out.jsonl", "ready"}))


def _staged(parent: Path, name: str, files: dict[str, str]) -> Path:
    folder = parent / name
    folder.mkdir()
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    fsync_tree(folder)
    return folder


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_swap_dir_replaces_a_directory_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool) -> None:
    if not exchange:  # the path taken where renameat2 is missing (macOS, old kernels)
        monkeypatch.setattr(durable, "_exchange", lambda a, b: False)
    target = tmp_path / "bundle"
    swap_dir(_staged(tmp_path, "s1", {"manifest.json": "v1", "heads/a.joblib": "a1"}), target)  # none before
    assert (target / "manifest.json").read_text() == "v1"
    swap_dir(_staged(tmp_path, "s2", {"manifest.json": "v2"}), target)
    assert (target / "manifest.json").read_text() == "v2"
    assert not (target / "heads").exists(), "nothing of the old directory survives in the new one"
    assert _leftovers(tmp_path, {"bundle"}) == [], "neither the staged folder nor the old one is left"


def test_swap_dir_never_lets_a_reader_see_the_target_missing(tmp_path: Path) -> None:
    (tmp_path / "p1").mkdir()
    (tmp_path / "p2").mkdir()
    if not durable._exchange(tmp_path / "p1", tmp_path / "p2"):  # probe: renameat2 on this system?
        pytest.skip("no renameat2(RENAME_EXCHANGE) here; the two-rename fallback has a window by design")
    target = tmp_path / "live"
    for probe in ("p1", "p2"):
        (tmp_path / probe).rmdir()
    swap_dir(_staged(tmp_path, "s0", {"manifest.json": "0"}), target)
    missing: list[int] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                (target / "manifest.json").read_text()
            except FileNotFoundError:
                missing.append(1)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(1, 150):
            swap_dir(_staged(tmp_path, f"s{i}", {"manifest.json": str(i)}), target)
    finally:
        stop.set()
        reader.join()
    assert (target / "manifest.json").read_text() == "149"
    assert not missing, f"the target was missing {len(missing)} times during the swaps"


def test_fsync_tree_flushes_every_file_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _staged(tmp_path, "tree", {"a.txt": "a", "heads/b.joblib": "b", "heads/deep/c.json": "c"})
    synced: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    fsync_tree(root)
    assert len(synced) == 3 + 3  # three files, then heads/deep, heads and the root itself


def test_remove_stale_staging_drops_only_dead_writers(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    prefix = "model.tmp-"
    for name in (f"{prefix}{int(dead.stdout)}-abc", f"{prefix}{os.getpid()}-def", f"{prefix}nopid"):
        (tmp_path / name).mkdir()
    remove_stale_staging(tmp_path, prefix)
    assert _leftovers(tmp_path, set()) == sorted([f"{prefix}{os.getpid()}-def", f"{prefix}nopid"])
