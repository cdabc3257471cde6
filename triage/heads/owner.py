"""Owner head: who resolved tickets like this one.

The owners file says who is *responsible* for a module; this head learns who
actually *fixes* such tickets, from the `owner` column of the history. That is
the module head's machinery (linear model blended with the nearest resolved
tickets, calibrated, abstaining) on another label, without a hierarchy: the
neighbours are exactly "who resolved similar tickets", and are shown as the
evidence.
"""

from __future__ import annotations

from typing import Any

from triage.heads.module import ModuleHead


def OwnerHead(**params: Any) -> ModuleHead:
    """A `ModuleHead` for the `owner` target; people and teams have no parent to fall back to."""
    return ModuleHead(**{"target": "owner", "separator": None, **params})
