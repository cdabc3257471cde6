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


def owner_head(**params: Any) -> ModuleHead:
    """A `ModuleHead` for the `owner` target; people and teams have no parent to fall back to.

    A factory, not a subclass: the owner head *is* a module head with other defaults, so it keeps the
    estimator's full parameter list (`get_params`, `set_params`) and bundles pickle one class.
    """
    return ModuleHead(**{"target": "owner", "separator": None, **params})
