"""The retrieval part of training: keep the team's links (ticket -> KB article, ticket -> earlier duplicate).

The KB ranker is learned later, where the bundle meets the article texts (`triage._ranker_cache`);
training only stores the links, so `triage train` needs no KB and a KB can change without retraining.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from triage._bundle import file_sha256
from triage._duplicates import FILE as DUPLICATES_FILE
from triage._links import LINKS, write_links


def link_files(df: pd.DataFrame, folder: Path, manifest: dict[str, Any]) -> dict[str, Path]:
    """The links file for the bundle (and its manifest entry, with its sha256); nothing without links."""
    written = write_links(df, folder)
    if written is None:
        return {}
    path, summary = written
    manifest["links"] = {**summary, "sha256": file_sha256(path)}
    return {LINKS: path}


def duplicate_files(manifest: dict[str, Any], folder: Path, console: Any) -> dict[str, Path]:
    """Move the duplicate ranking's report to `manifest["duplicates"]`, say what was decided; its file if used."""
    report = manifest.get("history", {}).pop("duplicate_ranking", None)
    if report is None:
        return {}
    manifest["duplicates"] = report
    held = report.get("held_out") or {}
    if report.get("used"):
        console.print(f"Duplicate ranking learned from duplicate_of ({report['model']}): held-out MRR "
                      f"{held[report['model']]['mrr']:.3f} vs {held['fused']['mrr']:.3f} today")
        return {DUPLICATES_FILE: folder / "duplicates.joblib"}
    console.print(f"Duplicate ranking: today's fused search kept ({report.get('reason')})")
    return {}
