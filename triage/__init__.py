"""triage: AI-assisted ticket triage for IT support teams.

The public surface is small on purpose; everything else is private and may change.
"""

from triage._assembly import bundle_embedder, load_triage, open_triage
from triage._data import ColumnMapping, load_tickets, ticket_text
from triage._embedding import CachedEmbedder, Embedder, load_embedder
from triage._lang import detect_language
from triage._triage import Triage
from triage.settings import Settings

__version__ = "0.1.0"

__all__ = [
           "CachedEmbedder",
           "ColumnMapping",
           "Embedder",
           "Settings",
           "Triage",
           "__version__",
           "bundle_embedder",
           "detect_language",
           "load_embedder",
           "load_tickets",
           "load_triage",
           "open_triage",
           "ticket_text",
]
