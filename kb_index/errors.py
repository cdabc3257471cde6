"""Every exception `kb_index` raises on purpose, in one place (like httpx's errors.py).

Callers map these to exit codes and HTTP statuses without importing internals::

    Exception
    ├── LocatedError            mixin: says where (file, line, field); triage.errors.DataError reuses it
    └── KBError                 something the user can fix (a path, a setting, a rebuild)
        ├── SourceError         (also a LocatedError) an article source cannot be read
        ├── IndexFormatError    the index is missing, corrupt or from incompatible software
        ├── EncoderMismatchError  the index was embedded by another model
        ├── BackendError        the vector store cannot be reached or refused
        └── IndexBusyError      another process is building this index
"""

from __future__ import annotations


class LocatedError(Exception):
    """An error about input at a place the user can open: `file:line: message (field 'x')`.

    A mixin, listed before the hierarchy's own base (`class SourceError(LocatedError, KBError)`), so
    one constructor formats the location for `kb_index` and `triage` alike, and a handler can read
    `.file`, `.line` and `.field` from either.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.file, self.line, self.field = file, line, field
        where = ":".join(str(p) for p in (file, line) if p is not None)
        prefix = f"{where}: " if where else ""
        suffix = f" (field '{field}')" if field else ""
        super().__init__(f"{prefix}{message}{suffix}")


class KBError(Exception):
    """Base class: something the user can fix (a path, a setting, a rebuild)."""


class SourceError(LocatedError, KBError):
    """An article source cannot be read; names the file (and line or field when known)."""


class IndexFormatError(KBError):
    """The index directory is missing, corrupt, or was built by incompatible software."""


class EncoderMismatchError(KBError):
    """The index was embedded by another model than the one asked to search it."""


class BackendError(KBError):
    """The vector-store backend cannot be reached or refused an operation."""


class IndexBusyError(KBError):
    """Another process is building this index right now."""
