"""`triage problems`: the known problems of a bundle's history, most active first."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from triage._cli_common import cli_settings, console, exits


@exits
def problems(
    model: Annotated[Path, typer.Option("--model", help="Model bundle directory written by `triage train`.")],
    history: Annotated[Path | None, typer.Option("--history", help="Live history file (default "
                                                 "TRIAGE_HISTORY_DB, else <model>.history.sqlite).")] = None,
    now: Annotated[str | None, typer.Option(help="Count the last hour/day/week up to this ISO time (default: "
                                            "now; give the data's last date to look at an old export).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (all fields) instead of a table.")] = False,
) -> None:
    """List known problems (clusters of tickets with one cause found at training) with their recent counts.

    Counts include tickets classified since (by the service or `triage predict` with TRIAGE_HISTORY_DB).
    """
    from triage._bundle import read_manifest
    from triage._history import to_epoch
    from triage._recurring import open_recurring
    from triage.errors import BundleError, DataError


    settings = cli_settings()
    manifest = read_manifest(model)
    try:
        at = to_epoch(now) if now else None
    except ValueError as exc:
        raise DataError(f"--now: cannot parse {now!r}; use ISO-8601 such as 2026-11-23T15:00:00Z") from exc
    recurring = open_recurring(model, manifest, int(manifest["embedder"]["dim"]),
                               live=history or settings.history_target)
    if recurring is None:
        raise BundleError(f"{model} has no ticket history: retrain it with `triage train`")
    try:
        rows = recurring.problem_listing(at)[:limit]
    finally:
        recurring.close()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    _table(rows, at)


def _table(rows: list[dict[str, Any]], at: float | None) -> None:
    when = datetime.fromtimestamp(at).isoformat(timespec="minutes") if at else "now"
    table = Table(title=f"known problems, most active first (counts up to {when})")
    for col in ("id", "title", "module", "size", "hour", "day", "week", "trend"):
        table.add_column(col, justify="right" if col in ("size", "hour", "day", "week") else "left")
    for r in rows:
        table.add_row(r["id"], escape(r["title"][:70]), escape(r["module"] or "-"), str(r["tickets"]),
                      str(r["last_hour"]), str(r["last_day"]), str(r["last_week"]), r["trend"])
    console.print(table)
