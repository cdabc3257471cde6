"""Reading ticket exports (contract §1): CSV, JSONL or Parquet, plus a YAML mapping.

Every row keeps the file and line it came from, so a bad value is reported
where a person can find it; the whole file is checked before anything is used,
so a bad export never half-trains a model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from dateutil import parser as dateparser

from kb_index import message_text
from triage._csv import read_csv
from triage._lang import detect_language
from triage.errors import DataError, DataErrors, MappingError

CANONICAL = ("id", "created_at", "subject", "body", "language", "customer", "channel", "module",
             "owner", "answer", "duplicate_of", "kb_article", "info_requested")
_TRUE = {"true", "1", "yes", "y", "да", "t"}
_FALSE = {"false", "0", "no", "n", "нет", "f", ""}
_MAX_REPORTED = 10


@dataclass
class ColumnMapping:
    """How a foreign export's columns map to canonical names (contract §1)."""

    columns: dict[str, str] = field(default_factory=dict)  # canonical -> source column
    targets: list[str] = field(default_factory=list)
    source: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> ColumnMapping:
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise MappingError(f"cannot read mapping: {exc}", file=str(path)) from exc
        if not isinstance(raw, dict):
            raise MappingError("a mapping must be a YAML object with 'columns' and 'targets'", file=str(path))
        unknown = set(raw) - {"columns", "targets"}
        if unknown:
            raise MappingError(f"unknown keys {sorted(unknown)}; expected 'columns' and 'targets'",
                               file=str(path))
        columns = raw.get("columns") or {}
        targets = raw.get("targets") or []
        if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
            raise MappingError("'columns' must map canonical names to source column names",
                               file=str(path), field="columns")
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise MappingError("'targets' must be a list of column names", file=str(path), field="targets")
        return cls(columns={str(k): v for k, v in columns.items()}, targets=list(targets), source=str(path))

    def rename(self, header: Sequence[str], file: str) -> dict[str, str]:
        """Source column -> canonical name; fails if the mapping names a missing column."""
        present = {h.strip(): h for h in header}
        renames: dict[str, str] = {}
        for canonical, source in self.columns.items():
            if source.strip() not in present:
                raise MappingError(
                    f"column '{source}' named by the mapping {self.source or ''} is not in the file; "
                    f"columns found: {sorted(present)[:20]}", file=file, field=canonical)
            renames[present[source.strip()]] = canonical
        return renames


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"invalid JSON: {exc.msg}", file=str(path), line=lineno) from exc
            if not isinstance(obj, dict):
                raise DataError("each line must be a JSON object", file=str(path), line=lineno)
            yield lineno, obj


def _read_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataError(f"cannot read Parquet: {exc}", file=str(path)) from exc
    yield from enumerate(table.to_pylist(), 1)


def read_records(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line or row number, raw record) for any supported format."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", file=str(path))
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return _read_jsonl(path)
    if suffix in {".parquet", ".pq"}:
        return _read_parquet(path)
    if suffix in {".csv", ".tsv", ".txt"}:
        return read_csv(path)
    raise DataError(f"unsupported format '{suffix}'; use .csv, .jsonl or .parquet", file=str(path))


def parse_datetime(value: Any) -> datetime | None:
    """Parse ISO-8601 and the usual export formats (Jira's '30/Sep/21 17:20'); naive means UTC."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            dt = dateparser.parse(text, dayfirst=True)  # raises ValueError/OverflowError
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return None if text == "" else False
    raise ValueError(f"expected true/false, got '{value}'")


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and pd.isna(value):
        return None
    if isinstance(value, str):
        return value.strip()
    return value


def normalize_record(raw: dict[str, Any], renames: dict[str, str], where: tuple[str, int]) -> dict[str, Any]:
    """Turn one raw record into canonical fields, raising DataError naming the field."""
    file, line = where
    rec = {renames.get(k.strip(), k.strip()): _clean(v) for k, v in raw.items()}
    rec = {k: ("" if v is None else v) if k in ("subject", "body") else v for k, v in rec.items()}
    if not str(rec.get("subject", "")).strip() and not str(rec.get("body", "")).strip():
        raise DataError("subject and body are both empty; one must hold the ticket text",
                        file=file, line=line, field="subject")
    try:
        rec["created_at"] = parse_datetime(rec.get("created_at"))
    except (ValueError, OverflowError) as exc:
        raise DataError(f"cannot parse date '{rec.get('created_at')}' ({exc}); use ISO-8601 such as "
                        "2026-11-23T15:00:00Z", file=file, line=line, field="created_at") from exc
    try:
        rec["info_requested"] = parse_bool(rec.get("info_requested"))
    except ValueError as exc:
        raise DataError(str(exc), file=file, line=line, field="info_requested") from exc
    for key in ("subject", "body", "id", "module", "owner", "language"):
        if rec.get(key) is not None and not isinstance(rec[key], str):
            rec[key] = str(rec[key])
    return rec


def ticket_text(subject: str | None, body: str | None) -> str:
    """The one text every model sees, so training and serving never differ.

    HTML bodies (as helpdesks send them) are read as their text, without the quoted thread or signature.
    """
    return "\n".join(p for p in (message_text(subject).replace("\n", " "), message_text(body)) if p)


def load_tickets(paths: Sequence[str | Path], mapping: ColumnMapping | None = None) -> pd.DataFrame:
    """Read, map and validate ticket files into one frame with canonical columns.

    All rows are checked before returning; up to ten errors are reported at once.
    """
    mapping = mapping or ColumnMapping()
    rows: list[dict[str, Any]] = []
    errors: list[DataError] = []
    total_errors = 0
    for path in paths:
        records = read_records(path)
        renames: dict[str, str] | None = None
        for line, raw in records:
            if renames is None:
                renames = mapping.rename(list(raw), str(path))
                _check_text_columns(list(raw), renames, str(path))
            try:
                rec = normalize_record(raw, renames, (str(path), line))
            except DataError as exc:
                total_errors += 1
                if len(errors) < _MAX_REPORTED:
                    errors.append(exc)
                continue
            rec["_source"], rec["_line"] = str(path), line
            rows.append(rec)
    if errors:
        raise DataErrors(errors, total_errors)
    if not rows:
        raise DataError("no tickets found", file=", ".join(str(p) for p in paths))
    return _to_frame(rows)


def _check_text_columns(header: list[str], renames: dict[str, str], file: str) -> None:
    """A foreign export (no `subject`/`body` column, no mapping for them) is one clear error, not one per row."""
    names = {renames.get(h.strip(), h.strip()) for h in header}
    if names & {"subject", "body"}:
        return
    found = [h.strip() for h in header]
    subject = _guess(found, ("subj", "title", "summary", "тема", "заголов")) or (found[0] if found else "Title")
    body = _guess(found, ("body", "desc", "text", "message", "question", "описан", "текст", "вопрос", "сообщ"))
    example = f'columns:\n  subject: "{subject}"\n' + (f'  body: "{body}"\n' if body else "") + "targets: []"
    raise MappingError(f"none of the columns holds the ticket text: expected 'subject' and/or 'body'; "
                       f"columns found: {found[:30]}. Map yours with --config MAP.yaml, for example:\n{example}\n"
                       "(see docs/contract.md §1 for every canonical name)", file=file, line=1)


def _guess(columns: list[str], hints: tuple[str, ...]) -> str | None:
    return next((c for c in columns if any(h in c.lower() for h in hints)), None)


def _to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for col in ("id", "subject", "body", "language", "created_at"):
        if col not in df.columns:
            df[col] = None
    df["subject"] = df["subject"].fillna("").astype(str)
    df["body"] = df["body"].fillna("").astype(str)
    missing_id = df["id"].isna() | (df["id"].astype(str).str.strip() == "")
    df.loc[missing_id, "id"] = [str(i + 1) for i in df.index[missing_id]]
    df["id"] = df["id"].astype(str)
    df["text"] = [ticket_text(s, b) for s, b in zip(df["subject"], df["body"], strict=True)]
    if "answer" in df.columns:  # shown to agents as a past answer: as text, without the quoted ticket
        df["answer"] = [message_text(a) if isinstance(a, str) else a for a in df["answer"]]
    lang = df["language"].astype("string").str.strip().str.lower()
    need = lang.isna() | (lang == "")
    df["language"] = lang.astype(object)
    df.loc[need, "language"] = [detect_language(t) for t in df.loc[need, "text"]]
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    return df
