"""What a review may say: the values a head knows, and whether the reviewed ticket is one we have seen.

A review's `correct` becomes a training label, so a typo (`Почтаа`) would teach the model a class
nobody meant. The service therefore accepts only values the served model knows (its classes, the
classes it saw too rarely to predict yet, module parents it answers with, and for `module`/`owner`
the owners file's modules and people) unless the reviewer says the value is new (`new_label`).
A ticket id the history has never seen is still stored (the review may carry the ticket's text),
but flagged, so the report and the analyst can tell it from a reviewed prediction.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from triage.heads.module import parents_of

if TYPE_CHECKING:
    from triage._triage import Triage


def known_values(triage: Triage, field: str) -> list[str] | None:
    """The values a review of `field` may name; None when the head has no fixed set (completeness)."""
    head = triage.heads.get(field)
    classes = getattr(head, "classes_", None)
    if classes is None:
        return None
    known = {str(c) for c in classes} | {str(c) for c in getattr(head, "dropped_classes_", [])}
    separator = getattr(head, "separator", None)
    if separator:  # the module head answers with a parent when its sub-modules are a coin toss
        known |= {p for c in list(known) for p in parents_of(c, separator)}
    owners = triage.owners
    if owners is not None and field == "module":
        known |= set(owners.entries)
    elif owners is not None and field == "owner":
        known |= {name for entry in owners.entries.values() for name in entry.ordered()}
    return sorted(known)


def closest(value: str, known: list[str], n: int = 3) -> list[str]:
    """Known values spelled most like `value`, for the "did you mean" of a refused review."""
    folded = {k.casefold(): k for k in known}
    return [folded[m] for m in difflib.get_close_matches(value.casefold(), list(folded), n=n, cutoff=0.6)]


def ticket_known(triage: Triage, ticket_id: str) -> bool:
    """The ticket is in the served ticket history (trained on, or classified since); False without a history."""
    recurring = triage.recurring
    return recurring is not None and recurring.history.row_of(ticket_id) is not None
