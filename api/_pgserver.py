"""A throwaway real PostgreSQL for the tests and the benchmarks (Debian's packages; no image, no mock).

`initdb` and `pg_ctl` refuse to run as root, so when this process is root they run as the `postgres`
user, with the data folder handed to it. The server listens on 127.0.0.1 only, on a free port, with
trust authentication (it lives for one test session); `fsync` stays on, so a crash test measures
what a real deployment would get.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

VERSIONS = ("17", "16", "15", "14", "13")


def pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    for version in VERSIONS:
        folder = Path("/usr/lib/postgresql") / version / "bin"
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_server(port: int) -> Iterator[str]:
    """A running server on 127.0.0.1:`port`; yields its base URL `postgresql://postgres@127.0.0.1:PORT`."""
    folder = pg_bin()
    if folder is None:
        raise FileNotFoundError("PostgreSQL is not installed (apt-get install -y postgresql)")
    root = Path(tempfile.mkdtemp(prefix="triage-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    try:
        subprocess.run(_as_postgres([str(folder / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                     "-E", "UTF8", "--no-instructions"]), **run)  # type: ignore[call-overload]
        opts = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} -c max_connections=200"
        subprocess.run(_as_postgres([str(folder / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", opts,
                                     "-w", "-t", "60", "start"]), **run)  # type: ignore[call-overload]
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}"
        finally:
            subprocess.run(_as_postgres([str(folder / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                           capture_output=True, timeout=60)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def create_database(base: str, name: str) -> str:
    """A new empty database on the server at `base`; its URL."""
    import psycopg

    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def wait_ready(base: str, timeout: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(base + "/postgres").close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
