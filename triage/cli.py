"""The one `triage` command, composed from each package's own typer app.

Each package owns its commands: training's (`train`, `predict`, `evaluate`, `kb`, `report`, `problems`)
are in `training/cli.py`, the service's (`serve`, `keys`) in `api/cli.py`. They join this root through
the entry point group `triage.commands` (pyproject.toml), so the core never imports `training` or `api`
and a package that is not installed simply adds no commands.

Examples:
    triage train --data tickets.csv --target category --out models/current
    triage serve --model models/current --port 8000
"""

from __future__ import annotations

import logging
import sys
import tomllib
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import typer

GROUP = "triage.commands"
_PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

app = typer.Typer(
    help="Ticket triage: train models on your helpdesk history, classify new tickets, serve the API.\n\n"
         "Typical flow: `triage train --data tickets.csv --target category --out models/current`, then "
         "`triage serve --model models/current`.",
    no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
_loaded = False


def command_apps() -> dict[str, Any]:
    """name -> typer app of every package registered in the entry point group, in a stable order."""
    found = {ep.name: ep.value for ep in entry_points(group=GROUP)}
    if not found and _PYPROJECT.is_file():  # a source checkout whose installed metadata predates the group
        table = tomllib.loads(_PYPROJECT.read_text(encoding="utf-8")).get("project", {})
        found = dict(table.get("entry-points", {}).get(GROUP, {}))
    apps = {}
    for name, target in sorted(found.items(), key=lambda kv: (kv[0] != "training", kv[0])):  # training first
        module, _, attr = target.partition(":")
        apps[name] = getattr(import_module(module), attr)
    return apps


def load_commands() -> typer.Typer:
    """Add every package's commands to the root app once; returns it (tests invoke it in-process)."""
    global _loaded
    if not _loaded:
        for sub in command_apps().values():
            app.add_typer(sub)
        _loaded = True
    return app


def main() -> None:
    from triage._cli_common import cli_settings

    try:
        level = cli_settings().log_level.upper()
    except Exception:
        level = "WARNING"
    logging.basicConfig(level=min(logging.getLevelName(level), logging.WARNING), stream=sys.stderr)
    load_commands()()


if __name__ == "__main__":
    main()
