"""`triage train --feedback DB`: human corrections become training labels.

Reviews are settled per (ticket, field) by `triage.feedback.resolve`: each
reviewer's latest vote counts once, the majority wins, a tie goes to the
value voted most recently. A reviewed ticket that is in the training data gets
its label replaced; one that is not (a new ticket seen only by the service)
joins the training data when a review of it carried its text. Only
`correct`, what the reviewer typed, is used, so the model never learns from
its own unreviewed predictions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from triage._data import _to_frame
from triage._db import describe
from triage.feedback import Feedback, open_feedback, resolve


@dataclass
class FeedbackApplied:
    reviews: int = 0       # settled (ticket, field) pairs
    confirmed: int = 0     # reviewer agreed with the model
    corrected: int = 0     # reviewer changed the label
    relabelled: int = 0    # training rows whose label changed
    added: int = 0         # reviewed tickets added with their text
    unmatched: int = 0     # reviews of unknown tickets without text: cannot be used
    ignored_fields: int = 0
    conflicts: int = 0     # pairs on which reviewers disagreed (settled by the rule above)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def apply_feedback(df: pd.DataFrame, path: str | Path, fields: list[str]) -> tuple[pd.DataFrame, FeedbackApplied]:
    """Return the training frame with reviewed labels for `fields` (the heads being trained)."""
    store = open_feedback(path, must_exist=True)
    reviews = list(store)
    store.close()
    settled = resolve(reviews)
    texts = {f.ticket_id: f for f in reviews if f.subject or f.body}  # the latest review carrying the text
    stats = FeedbackApplied(reviews=len(settled), conflicts=sum(r.conflict for r in settled.values()))
    df = df.copy()
    position = {tid: i for i, tid in enumerate(df["id"].astype(str))}
    new_rows: dict[str, dict[str, object]] = {}
    for (ticket_id, field), resolution in settled.items():
        fb = resolution.review
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
        elif ticket_id in texts:
            row = new_rows.setdefault(ticket_id, _row(texts[ticket_id], path))
            row[field] = fb.correct
        else:
            stats.unmatched += 1
    if new_rows:
        added = _to_frame(list(new_rows.values()))
        df = pd.concat([df, added], ignore_index=True)
        stats.added = len(added)
    return df, stats


def _row(fb: Feedback, path: str | Path) -> dict[str, object]:
    return {"id": fb.ticket_id, "subject": fb.subject or "", "body": fb.body or "", "created_at": fb.created_at,
            "_source": describe(path), "_line": fb.id}  # a database URL without its password
