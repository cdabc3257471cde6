"""`triage db migrate`: copy every store's rows from one database into another (SQLite files into PostgreSQL).

Both ends are opened through `triage._db.Database`, so both are migrated to the same schema first
(an earlier release's files included). Rows keep their ids, so the ticket history's row ids (the
vector ids) and review ids are the same on the other side; PostgreSQL's id sequences are then moved
past the copied ids. Each source table is copied in one transaction on the target, and a table the
target already holds rows in is refused rather than merged, so a second run cannot duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from triage._db import Database
from triage._schema import COPY_ORDER, SERIAL, metadata
from triage.errors import DatabaseError

Progress = Callable[[str, int], None]  # (table, rows copied so far)


def copy_stores(sources: Sequence[str | Path], target: str | Path,
                progress: Progress | None = None) -> dict[str, int]:
    """Copy all rows of `sources` into `target`; rows copied per table. Refuses a table the target already has."""
    dest = Database(target)
    copied: dict[str, int] = {}
    try:
        for source in sources:
            src = Database(source)
            try:
                for table, n in _copy_one(src, dest, progress).items():
                    copied[table] = copied.get(table, 0) + n
            finally:
                src.close()
        if dest.dialect == "postgresql":
            for table, column in SERIAL.items():  # the next id a replica takes is past every copied one
                dest.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                             f"COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)")
    finally:
        dest.close()
    return copied


def _copy_one(src: Database, dest: Database, progress: Progress | None) -> dict[str, int]:
    counts = {t: int(src.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in COPY_ORDER}
    busy = [t for t in COPY_ORDER if counts[t] and int(dest.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])]
    if busy:
        raise DatabaseError(f"{dest.name} already holds rows in {', '.join(busy)}; copying {src.name} there "
                            "would mix two histories. Migrate into a new, empty database")
    out = {}
    for table in COPY_ORDER:
        if not counts[table]:
            continue
        columns = [c.name for c in metadata.tables[table].columns]
        insert = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})")
        done = 0
        with dest.transaction():
            for chunk in src.stream(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1", size=2_000):
                dest.executemany(insert, [_row(r) for r in chunk])
                done += len(chunk)
                if progress is not None:
                    progress(table, done)
        out[table] = done
    return out


def _row(row: Any) -> tuple[Any, ...]:
    """Bytes stay bytes (PostgreSQL gives memoryview-like buffers for some drivers)."""
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
