"""A real PostgreSQL the suite starts itself (session-scoped), and a fresh database per test.

Skips, saying why, only where the PostgreSQL binaries are absent (`apt-get install -y postgresql`;
`.ci/run` installs them). Everything else that goes wrong starting it is an error, not a skip.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from api._pgserver import create_database, pg_bin, postgres_server
from api.testing import free_port

NO_POSTGRES = "PostgreSQL is not installed here (apt-get install -y postgresql); .ci/run installs it"
_names = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The server's base URL, postgresql://postgres@127.0.0.1:PORT (no database name)."""
    if pg_bin() is None:
        pytest.skip(NO_POSTGRES)
    with postgres_server(free_port()) as base:
        yield base


@pytest.fixture
def pg_url(postgres: str) -> str:
    """A new, empty database on the session's server."""
    return create_database(postgres, f"t{next(_names)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """The same store test on an embedded SQLite file and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'triage.sqlite'}"
    return str(request.getfixturevalue("pg_url"))
