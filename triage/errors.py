"""All exceptions the library raises on purpose.

One module, like httpx's, so callers (the CLI, the API) can map every failure
to an exit code or an HTTP status without importing internals.
"""

from __future__ import annotations


class TriageError(Exception):
    """Base class: anything the user can fix by changing input or setup."""


class DataError(TriageError):
    """Input data is malformed; carries where, so the user can find the row."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.file, self.line, self.field = file, line, field
        where = ":".join(str(p) for p in (file, line) if p is not None)
        prefix = f"{where}: " if where else ""
        suffix = f" (field '{field}')" if field else ""
        super().__init__(f"{prefix}{message}{suffix}")


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
