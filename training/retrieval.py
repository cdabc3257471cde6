"""The retrieval part of training: keep the team's links (ticket -> KB article, ticket -> earlier duplicate).

The KB ranker is learned later, where the bundle meets the article texts (`triage._ranker_cache`);
training only stores the links, so `triage train` needs no KB and a KB can change without retraining.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from triage._bundle import file_sha256
from triage._links import LINKS, write_links


def link_files(df: pd.DataFrame, folder: Path, manifest: dict[str, Any]) -> dict[str, Path]:
    """The links file for the bundle (and its manifest entry, with its sha256); nothing without links."""
    written = write_links(df, folder)
    if written is None:
        return {}
    path, summary = written
    manifest["links"] = {**summary, "sha256": file_sha256(path)}
    return {LINKS: path}
