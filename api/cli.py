"""The service's commands: `triage serve`, `triage keys ...` (API keys; only digests are written), `triage db ...`.

Composed into the one `triage` command by `triage/cli.py` (entry point group `triage.commands`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table

from api._keys import ROLES, hash_key, new_key, read_keys_file
from api.db_cli import app as db_app
from api.integrations.cli import app as integrations_app
from kb_index.durable import atomic_write_text
from triage._cli_common import KbOpt, ModelOpt, cli_settings, console, exits
from triage.errors import TriageError

keys_app = typer.Typer(
    help="API keys for the service (roles: helpdesk, agent, analyst, l3; see SECURITY.md).\n\n"
         "Example: `triage keys add --role agent --name zammad --file keys.yaml`, then start the service "
         "with TRIAGE_API_KEYS_FILE=keys.yaml.",
    no_args_is_help=True)
FileOpt = Annotated[Path, typer.Option("--file", help="Keys file (YAML; created if missing, mode 0600).")]


@keys_app.command("add")
@exits
def add(
    name: Annotated[str, typer.Option("--name", help="Who holds the key (logged with each request).")],
    file: FileOpt,
    role: Annotated[list[str], typer.Option("--role", help="Role to grant; repeatable.")],
) -> None:
    """Create a key, store its SHA-256 digest in FILE and print the key once (it cannot be recovered)."""
    bad = [r for r in role if r not in ROLES]
    if bad:
        raise typer.BadParameter(f"{', '.join(bad)}: choose from {', '.join(ROLES)}", param_hint="--role")
    entries = read_keys_file(file) if file.exists() else []
    if any(e["name"] == name for e in entries):
        raise TriageError(f"{file} already has a key named {name!r}; pick another --name or remove that entry")
    key = new_key()
    entries.append({"name": name, "roles": sorted(set(role)), "sha256": hash_key(key),
                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(file, yaml.safe_dump({"keys": entries}, allow_unicode=True, sort_keys=False))
    os.chmod(file, 0o600)
    console.print(f"[green]Added[/] key {name!r} ({', '.join(sorted(set(role)))}) to {file}. "
                  "Copy it now, it is not stored:")
    print(key)  # stdout, alone, so scripts can capture it


@keys_app.command("list")
@exits
def list_keys(file: FileOpt) -> None:
    """Names, roles and digest prefixes (the keys themselves are not stored anywhere)."""
    table = Table("name", "roles", "sha256")
    for e in read_keys_file(file):
        table.add_row(e["name"], ", ".join(e["roles"]), e["sha256"][:12] + "…")
    console.print(table)


app = typer.Typer(help="The HTTP service, its API keys, the helpdesk integrations and the Telegram gateway.")
app.add_typer(keys_app, name="keys")
app.add_typer(integrations_app, name="integrations")
app.add_typer(db_app, name="db")


@app.command()
@exits
def serve(
    model: ModelOpt,
    kb: KbOpt = None,
    host: Annotated[str, typer.Option(help="Interface to bind; keep 127.0.0.1 unless behind a proxy.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Serve the HTTP API (docs at /docs) for a bundle. Needs API keys (TRIAGE_API_KEYS_FILE, `triage keys
    add`) or TRIAGE_DEV_MODE=1; `kill -HUP <pid>` reloads the bundle. See SECURITY.md.

    Example: `triage serve --model models/demo --kb models/kb --port 8000`, or
    `triage serve --model models:/triage@champion` (reload re-resolves the alias: `triage promote` then
    `kill -HUP <pid>` or POST /v1/admin/reload, and the service serves the new champion without a restart).
    """
    import uvicorn

    from api._keys import check_settings
    from api.app import create_app
    from triage._logging import log_config
    from triage._registry import parse_ref

    # a registry reference is resolved at start-up and again on every reload (a promotion moves the alias)
    overrides: dict[str, object] = ({"model_ref": model} if parse_ref(model).is_registry
                                    else {"model_dir": Path(model).resolve()})
    if kb is not None:
        overrides["kb_dir"] = kb.resolve()
    settings = cli_settings(**overrides)  # built once; the app gets this object, not the environment
    check_settings(settings)  # no keys and no dev mode: stop here, with what to do, before uvicorn starts
    uvicorn.run(create_app(settings), host=host, port=port,
                log_config=log_config(settings.log_format, (settings.log_level or "INFO").upper()))


@app.command()
@exits
def bot(model: ModelOpt, kb: KbOpt = None) -> None:
    """Run the Telegram gateway: /find_kb <question>, /problems, /ticket <id> in the chats of
    TRIAGE_TELEGRAM_CHAT_ID (TRIAGE_TELEGRAM_BOT_TOKEN; TRIAGE_TELEGRAM_API_URL for a local Bot API server).

    Example: `TRIAGE_TELEGRAM_BOT_TOKEN=123:abc TRIAGE_TELEGRAM_CHAT_ID=-100123 triage bot --model
    models:/triage@champion --kb models/kb`.
    """
    import asyncio

    from api.bot import Gateway, allowed_chats
    from triage import open_triage
    from triage._registry import parse_ref

    ref = model if parse_ref(model).is_registry else str(Path(model).resolve())  # models:/… or a folder
    settings = cli_settings(**({"kb_dir": kb.resolve()} if kb is not None else {}))
    allowed_chats(settings)  # before loading a model: say what is missing
    triage = open_triage(ref, settings, alerts=False)  # the service sends the alerts
    console.print(f"Telegram gateway for {len(allowed_chats(settings))} chat(s), model {triage.model_version}. "
                  "Ctrl+C stops it.")
    try:
        asyncio.run(Gateway(triage, settings).run())
    except KeyboardInterrupt:
        console.print("stopped; the next start goes on from the saved update offset")
    finally:
        triage.close()
