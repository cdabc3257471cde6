"""`triage train --feedback DB`: human corrections become training labels.

The latest review of a (ticket, field) wins. A reviewed ticket that is in the
training data gets its label replaced; one that is not (a new ticket seen
only by the service) joins the training data when the review carried its
text. Only `correct`, what the reviewer typed, is used, so the model never
learns from its own unreviewed predictions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from triage._data import _to_frame
from triage.feedback import Feedback, open_feedback


@dataclass
class FeedbackApplied:
    reviews: int = 0       # latest review per (ticket, field)
    confirmed: int = 0     # reviewer agreed with the model
    corrected: int = 0     # reviewer changed the label
    relabelled: int = 0    # training rows whose label changed
    added: int = 0         # reviewed tickets added with their text
    unmatched: int = 0     # reviews of unknown tickets without text: cannot be used
    ignored_fields: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def apply_feedback(df: pd.DataFrame, path: Path, fields: list[str]) -> tuple[pd.DataFrame, FeedbackApplied]:
    """Return the training frame with reviewed labels for `fields` (the heads being trained)."""
    store = open_feedback(path, must_exist=True)
    latest = store.latest()
    store.close()
    stats = FeedbackApplied(reviews=len(latest))
    df = df.copy()
    position = {tid: i for i, tid in enumerate(df["id"].astype(str))}
    new_rows: dict[str, dict[str, object]] = {}
    for (ticket_id, field), fb in latest.items():
        if field not in fields:
            stats.ignored_fields += 1
            continue
        stats.confirmed += fb.accepted
        stats.corrected += not fb.accepted
        if ticket_id in position:
            col = df.columns.get_loc(field)
            before = df.iat[position[ticket_id], col]
            if pd.isna(before) or str(before).strip() != fb.correct:
                df.iat[position[ticket_id], col] = fb.correct
                stats.relabelled += 1
        elif fb.subject or fb.body or ticket_id in new_rows:
            row = new_rows.setdefault(ticket_id, _row(fb, path))
            row[field] = fb.correct
        else:
            stats.unmatched += 1
    if new_rows:
        added = _to_frame(list(new_rows.values()))
        df = pd.concat([df, added], ignore_index=True)
        stats.added = len(added)
    return df, stats


def _row(fb: Feedback, path: Path) -> dict[str, object]:
    return {"id": fb.ticket_id, "subject": fb.subject or "", "body": fb.body or "", "created_at": fb.created_at,
            "_source": str(path), "_line": fb.id}
