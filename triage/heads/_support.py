"""Old name of `triage.heads._evidence`: bundles trained before the rename pickled `Memory` from here."""

from triage.heads._evidence import Memory

__all__ = ["Memory"]
