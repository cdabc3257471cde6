"""What every `triage` sub-command shares: the console, options and the error-to-exit-code mapping."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from kb_index.errors import BackendError, KBError
from triage.errors import BundleError, DataError, EmbedderError, TriageError

console = Console(stderr=True, soft_wrap=True)  # paths in messages must stay copyable
F = TypeVar("F", bound=Callable[..., Any])
_SECRET = re.compile(r"URL|TOKEN|SECRET|PASSWORD|KEY")  # settings whose value is never printed back

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML column mapping for a foreign export.")]
ModelOpt = Annotated[str, typer.Option("--model", help="Model: a bundle directory written by `triage train`, "
                                        "models:/triage/<version> or models:/triage@<alias> (the MLflow "
                                        "registry, e.g. models:/triage@champion).")]
RefArg = Annotated[str, typer.Argument(help="A bundle directory, models:/triage/<version> or "
                                            "models:/triage@<alias>.", show_default=False)]
KbOpt = Annotated[Path | None, typer.Option("--kb", help="Knowledge-base index (`triage kb build`): adds "
                                                         "suggested articles ('kb') to every result.")]


def cli_settings(**overrides: Any) -> Any:
    """The command's one `Settings` (TRIAGE_* environment plus its own options), validated at start."""
    from triage.settings import Settings

    return Settings(**overrides)


def exits(func: F) -> F:
    """Turn library errors into the contract's exit codes and a readable message."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (DataError, BundleError, EmbedderError) as exc:
            error(str(exc))
            raise typer.Exit(2) from exc
        except ValidationError as exc:  # a TRIAGE_* setting out of range, reported by name
            for err in exc.errors():
                name = "TRIAGE_" + "_".join(str(p) for p in err["loc"]).upper()
                shown = "" if _SECRET.search(name) else f"={err.get('input')!r}"  # a URL may carry a password
                error(f"setting {name}{shown}: {err['msg']}")
            raise typer.Exit(2) from exc
        except BackendError as exc:
            error(str(exc))
            raise typer.Exit(1) from exc
        except KBError as exc:  # a bad source, a stale or mismatched index: the user can fix it
            error(str(exc))
            raise typer.Exit(2) from exc
        except TriageError as exc:
            error(str(exc))
            raise typer.Exit(1) from exc
    return wrapper  # type: ignore[return-value]


def error(message: str) -> None:
    console.print(f"[red]error:[/] {escape(message)}")


def mapping_from(config: Path | None) -> Any:
    from triage._data import ColumnMapping

    return ColumnMapping.load(config) if config else None
