"""The retrieval part of training: keep the team's links (ticket -> KB article, ticket -> earlier duplicate).

The KB ranker is learned later, where the bundle meets the article texts (`triage._ranker_cache`);
training only stores the links, so `triage train` needs no KB and a KB can change without retraining.
Given the articles (`--kb-source`), training also tunes the embedder for retrieval on the links
(`training.kb_tuning`) and ships it when it measures better.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from triage._bundle import file_sha256
from triage._data import ColumnMapping
from triage._duplicates import FILE as DUPLICATES_FILE
from triage._embedding import Embedder
from triage._links import LINKS, write_links
from triage.settings import Settings


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


def retrieval_tuning(base: Embedder, df: pd.DataFrame, kb_source: list[Path], mapping: ColumnMapping,
                     settings: Settings, seed: int, extra_dirs: dict[str, Path]) -> dict[str, Any]:
    """The manifest entry of the KB tuning; its folder joins `extra_dirs` only when it is shipped."""
    if not kb_source:
        return {"used": False, "reason": "no KB articles given (--kb-source)"}
    from training.kb_tuning import RETRIEVAL_EMBEDDER, tune_for_retrieval
    from triage._kb import load_articles

    tuning, facts = tune_for_retrieval(base, df, load_articles(kb_source, mapping), settings, seed)
    if tuning is not None:
        extra_dirs[RETRIEVAL_EMBEDDER] = tuning.folder
    return facts
