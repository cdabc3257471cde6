"""`triage integrations deliveries`: what the helpdesks sent, what was written back, the dead letters."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from triage._cli_common import cli_settings, console, exits
from triage.deliveries import STATES, DeliveryStore
from triage.errors import TriageError

app = typer.Typer(help="Helpdesk integrations (Zammad, Jira, Znuny): deliveries and dead letters.",
                  no_args_is_help=True)


@app.command()
@exits
def deliveries(
    state: Annotated[str | None, typer.Option("--state", help=f"Only this state: {', '.join(STATES)}.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only this helpdesk: zammad, jira, znuny.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most rows shown, newest first.")] = 50,
    retry: Annotated[bool, typer.Option("--retry", help="Put dead letters (all, or --id) back in the queue; "
                                                        "the running service works them off.")] = False,
    ids: Annotated[list[int] | None, typer.Option("--id", help="With --retry: only this delivery; repeatable.")
                   ] = None,
) -> None:
    """List deliveries (TRIAGE_DELIVERIES_DB) or retry dead letters.

    Examples: `triage integrations deliveries --state dead`; `triage integrations deliveries --retry`
    (after fixing what made them fail: a token, a helpdesk outage); `... --retry --id 42`.
    """
    if state is not None and state not in STATES:
        raise typer.BadParameter(f"choose from {', '.join(STATES)}", param_hint="--state")
    settings = cli_settings()
    if not settings.stored(settings.deliveries_db):
        raise TriageError(f"no delivery store at {settings.deliveries_db}: no webhook has arrived yet, or "
                          "TRIAGE_DELIVERIES_DB points elsewhere than the service's")
    store = DeliveryStore(settings.deliveries_target)
    try:
        if retry:
            n = store.retry(ids or None)
            console.print(f"[green]{n}[/] dead deliveries queued again; the service retries them within seconds.")
            return
        counts = store.counts()
        table = Table("id", "helpdesk", "event", "received", "state", "tries", "what happened")
        for d in store.list(state=state, source=source, limit=limit):
            outcome = d.last_error if d.state != "done" else ", ".join(f"{k}: {v}" for k, v in (d.outcome or {}).items()
                                                                         if v not in (None, [], {}))
            table.add_row(str(d.id), d.source, d.event or "", time.strftime("%Y-%m-%d %H:%M:%S",
                                                                          time.localtime(d.received_at)),
                          d.state, str(d.attempts), (outcome or "")[:120])
        console.print(table)
        console.print(" · ".join(f"{k} {v}" for k, v in counts.items()))
        if counts["dead"]:
            console.print(f"{counts['dead']} dead letter(s): fix the cause (see the error), then "
                          "`triage integrations deliveries --retry`.")
    finally:
        store.close()
