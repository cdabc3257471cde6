"""All exceptions the library raises on purpose.

One module, like httpx's, so callers (the CLI, the API) can map every failure
to an exit code or an HTTP status without importing internals::

    Exception
    └── TriageError             anything the user can fix by changing input or setup
        ├── DataError           (also a kb_index.errors.LocatedError) malformed input, says where
        │   ├── DataErrors      several malformed rows at once
        │   └── MappingError    the column mapping does not fit the file
        ├── BundleError         a model bundle is missing, corrupt or incompatible
        ├── EmbedderError       the embedding model cannot be loaded
        ├── NotTrainedError     a head was used before `fit`
        ├── HistoryError        the ticket history cannot be opened or written
        ├── DatabaseError       the database (TRIAGE_DATABASE_URL) cannot be reached, migrated or written
        └── HelpdeskError       a helpdesk refused or failed a write-back (`retry` says whether to try again)

The located `file:line: message (field 'x')` format is `kb_index.errors.LocatedError`'s, shared with
the KB index's SourceError.
"""

from __future__ import annotations

from kb_index.errors import LocatedError


class TriageError(Exception):
    """Base class: anything the user can fix by changing input or setup."""


class DataError(LocatedError, TriageError):
    """Input data is malformed; carries where (file, line, field), so the user can find the row."""


class DataErrors(DataError):
    """Several malformed rows at once, so a user fixes a file in one pass."""

    def __init__(self, errors: list[DataError], total: int) -> None:
        self.errors = errors
        lines = [str(e) for e in errors]
        more = f"\n... and {total - len(errors)} more" if total > len(errors) else ""
        first = errors[0]
        super().__init__("\n".join(lines) + more)
        self.file, self.line, self.field = first.file, first.line, first.field
        self.args = ("\n".join(lines) + more,)

    def __str__(self) -> str:
        return str(self.args[0])


class MappingError(DataError):
    """The YAML column mapping does not fit the file it is applied to."""


class BundleError(TriageError):
    """A model bundle is missing, corrupt or was made by incompatible software."""


class EmbedderError(TriageError):
    """The embedding model cannot be loaded (missing package, bad path, no network)."""


class NotTrainedError(TriageError):
    """A head was used before `fit`."""


class HistoryError(TriageError):
    """The ticket history cannot be opened or written (path, permissions, a different embedder)."""


class DatabaseError(TriageError):
    """The database of a store (TRIAGE_DATABASE_URL or its SQLite file) cannot be reached, migrated or written."""


class HelpdeskError(TriageError):
    """A helpdesk (Zammad, Jira, Znuny) or the Bot API refused or failed a call.

    `retry` is True for what passes (5xx, 429, timeouts, connection errors) and False for what will
    fail the same way again (401/403 a wrong token, 404 a deleted ticket, 422 a refused field), so a
    delivery is retried with backoff only when that can help.
    """

    def __init__(self, message: str, *, retry: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.status = status
