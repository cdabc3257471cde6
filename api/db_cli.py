"""`triage db ...`: the shared database of contract §8 — migrate its schema, move SQLite stores into it.

The service migrates at open by itself; `triage db upgrade` does it ahead of a rollout (one command,
before starting replicas of a new release), and `triage db migrate` moves an embedded deployment's
SQLite files (ticket history, feedback, review queue, deliveries) into PostgreSQL in one command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from triage._cli_common import cli_settings, console, exits
from triage.errors import TriageError

app = typer.Typer(
    help="The database behind the history, reviews, incidents and deliveries (TRIAGE_DATABASE_URL).\n\n"
         "Examples: `triage db upgrade`; `triage db migrate --from models/current.history.sqlite "
         "--from feedback.sqlite --from deliveries.sqlite --to postgresql://triage:secret@db:5432/triage`.",
    no_args_is_help=True)
UrlOpt = Annotated[str | None, typer.Option("--url", help="sqlite:///PATH or postgresql://USER[:PASSWORD]@HOST:"
                                                          "PORT/DB; default TRIAGE_DATABASE_URL.")]


def _url(value: str | None) -> str:
    from triage._db import check_url

    url = value or cli_settings().database_url
    if not url:
        raise TriageError("no database named: pass --url or set TRIAGE_DATABASE_URL")
    try:
        return check_url(url)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--url") from exc


@app.command("upgrade")
@exits
def upgrade(url: UrlOpt = None) -> None:
    """Bring the database to this release's schema (the service also does it when it opens one)."""
    from triage._db import Database, redact

    target = _url(url)
    db = Database(target)
    db.close()
    console.print(f"[green]{redact(target)}[/] is at this release's schema; start or restart the replicas.")


@app.command("migrate")
@exits
def migrate(
    source: Annotated[list[str], typer.Option("--from", help="A SQLite store of this or an earlier release (a path "
                                              "or sqlite:///PATH); repeatable: history, feedback, predictions, "
                                              "deliveries.")],
    to: Annotated[str | None, typer.Option("--to", help="The database to fill (new and empty); default "
                                                        "TRIAGE_DATABASE_URL.")] = None,
) -> None:
    """Copy every row of the given SQLite stores into one database, ids kept; refuses to mix into a used one."""
    from triage._db import redact
    from triage._db_copy import copy_stores

    target = _url(to)
    missing = [s for s in source if "://" not in s and not Path(s).is_file()]
    if missing:
        raise TriageError(f"no such store: {', '.join(missing)}; name the SQLite files the service wrote "
                          "(TRIAGE_HISTORY_DB or <model>.history.sqlite, TRIAGE_FEEDBACK_DB, ...)")
    bars: dict[str, tqdm] = {}

    def progress(table: str, done: int) -> None:
        bar = bars.get(table) or bars.setdefault(table, tqdm(desc=table, unit=" rows"))
        bar.update(done - bar.n)

    try:
        copied = copy_stores(source, target, progress)
    finally:
        for bar in bars.values():
            bar.close()
    summary = ", ".join(f"{n} {t}" for t, n in copied.items()) or "nothing (the stores were empty)"
    console.print(f"[green]Copied[/] {summary} into {redact(target)}. Next: set TRIAGE_DATABASE_URL to it and "
                  "start the replicas.")
