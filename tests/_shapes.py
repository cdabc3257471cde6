"""Small exports in the shapes real helpdesks and spreadsheets produce, written from the demo tickets.

Each shape is a function (tickets frame, folder) -> file, so the matrix in test_export_shapes.py reads
as a table of shapes × commands. The rows are in-repo demo tickets (nothing beside the clone needed).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from .conftest import REPO

DEMO = REPO / "data" / "demo" / "tickets.csv"
COLUMNS = ["id", "created_at", "subject", "body", "category", "answer"]


def demo_rows(n: int = 90) -> pd.DataFrame:
    """The first `n` demo tickets with the columns every shape starts from."""
    return pd.read_csv(DEMO, dtype=str, keep_default_na=False).head(n)[COLUMNS].reset_index(drop=True)


def _csv(df: pd.DataFrame, path: Path, **kwargs: object) -> Path:
    df.to_csv(path, index=False, **kwargs)  # type: ignore[call-overload]
    return path


def _jsonl(df: pd.DataFrame | list[dict[str, str]], path: Path) -> Path:
    rows = df.to_dict("records") if isinstance(df, pd.DataFrame) else df
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def dated(df: pd.DataFrame, folder: Path) -> Path:
    return _csv(df, folder / "dated.csv")


def undated(df: pd.DataFrame, folder: Path) -> Path:
    return _csv(df.drop(columns=["created_at"]), folder / "undated.csv")


def some_undated(df: pd.DataFrame, folder: Path) -> Path:
    out = df.copy()
    out.loc[out.index % 3 == 1, "created_at"] = ""
    return _csv(out, folder / "some_undated.csv")


def no_id(df: pd.DataFrame, folder: Path) -> Path:
    return _csv(df.drop(columns=["id"]), folder / "no_id.csv")


def subject_only(df: pd.DataFrame, folder: Path) -> Path:
    return _csv(df.drop(columns=["body"]), folder / "subject_only.csv")


def body_only(df: pd.DataFrame, folder: Path) -> Path:
    return _csv(df.drop(columns=["subject"]), folder / "body_only.csv")


def labels_partly_missing(df: pd.DataFrame, folder: Path) -> Path:
    """JSONL where a quarter of the rows have no `category` key at all (the issue's tracker)."""
    rows = df.to_dict("records")
    for i, row in enumerate(rows):
        if i % 4 == 0:
            row.pop("category")
    return _jsonl(rows, folder / "partly.jsonl")


def html_bodies(df: pd.DataFrame, folder: Path) -> Path:
    out = df.copy()
    out["body"] = ["<div>" + b.replace("\n", "<br>") + "</div><div>С уважением,<br>Служба поддержки</div>"
                   for b in out["body"]]
    return _csv(out, folder / "html.csv")


def crlf(df: pd.DataFrame, folder: Path) -> Path:
    return _csv(df, folder / "crlf.csv", lineterminator="\r\n")


def semicolon_bom(df: pd.DataFrame, folder: Path) -> Path:
    return _csv(df, folder / "semicolon.csv", sep=";", encoding="utf-8-sig")


def cp1251(df: pd.DataFrame, folder: Path) -> Path:
    out = df.copy()
    for col in out.columns:  # cp1251 has no emoji or CJK: keep what a Russian Windows export could hold
        out[col] = out[col].map(lambda v: v.encode("cp1251", "replace").decode("cp1251"))
    return _csv(out, folder / "cp1251.csv", encoding="cp1251")


def jsonl(df: pd.DataFrame, folder: Path) -> Path:
    return _jsonl(df, folder / "tickets.jsonl")


def parquet(df: pd.DataFrame, folder: Path) -> Path:
    out = df.copy()
    out["created_at"] = pd.to_datetime(out["created_at"], utc=True)
    path = folder / "tickets.parquet"
    out.to_parquet(path, index=False)
    return path


SHAPES: dict[str, Callable[[pd.DataFrame, Path], Path]] = {
    f.__name__: f for f in (dated, undated, some_undated, no_id, subject_only, body_only, labels_partly_missing,
                            html_bodies, crlf, semicolon_bom, cp1251, jsonl, parquet)}


def run(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """`triage ...` in-process (the same typer app as the console script); (exit code, all output)."""
    from triage.cli import load_commands

    result = CliRunner().invoke(load_commands(), list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output
