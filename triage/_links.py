"""The team's own links in a bundle: which article answered a ticket (`kb_article`), which earlier ticket
it duplicated (`duplicate_of`).

Training writes them beside the history seed (`retrieval/links.parquet`: ids only; texts and embeddings
stay in the seed), so whatever later meets the bundle — a KB index at `kb build --model`, `predict` or
`serve` — can learn retrieval from them without the training export.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LINKS = "retrieval/links.parquet"
LINK_COLUMNS = ("kb_article", "duplicate_of")


def _clean(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().fillna("").replace({"nan": "", "None": ""})


def write_links(df: pd.DataFrame, folder: Path) -> tuple[Path, dict[str, Any]] | None:
    """The links file of a training set, or None when it names no article and no duplicate."""
    present = [c for c in LINK_COLUMNS if c in df.columns]
    if not present:
        return None
    table = pd.DataFrame({"ticket_id": df["id"].astype(str)})
    for col in LINK_COLUMNS:
        table[col] = _clean(df[col]).to_numpy() if col in df.columns else ""
    counts = {c: int((table[c] != "").sum()) for c in LINK_COLUMNS}
    if not any(counts.values()):
        return None
    path = Path(folder) / "links.parquet"
    table.to_parquet(path, index=False)
    return path, {"file": LINKS, **counts}


@dataclass
class LinkedTickets:
    """Training tickets that name a link, with their text and embedding from the history seed."""

    ids: list[str]
    texts: list[str]
    vectors: np.ndarray
    created: np.ndarray
    links: np.ndarray  # the linked id per ticket (article id or earlier ticket id)

    def __len__(self) -> int:
        return len(self.ids)


def read_linked(bundle: Path, column: str, seed: str = "history/history.sqlite") -> LinkedTickets | None:
    """The bundle's tickets naming `column` (kb_article or duplicate_of); None without any."""
    path = Path(bundle) / LINKS
    if not path.is_file() or not (Path(bundle) / seed).is_file():
        return None
    table = pd.read_parquet(path)
    wanted = dict(zip(table["ticket_id"], table[column], strict=True)) if column in table.columns else {}
    wanted = {k: v for k, v in wanted.items() if v}
    if not wanted:
        return None
    db = sqlite3.connect(f"file:{Path(bundle) / seed}?mode=ro", uri=True)
    try:
        rows = [r for r in db.execute("SELECT ticket_id, text, embedding, created_at FROM tickets ORDER BY created_at")
                if r[0] in wanted]
    finally:
        db.close()
    if not rows:
        return None
    return LinkedTickets([r[0] for r in rows], [r[1] for r in rows],
                         np.stack([np.frombuffer(r[2], np.float32) for r in rows]),
                         np.asarray([r[3] for r in rows], np.float64),
                         np.asarray([wanted[r[0]] for r in rows], dtype=object))
