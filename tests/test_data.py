from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from triage import Mapping, load_tickets
from triage._data import parse_datetime
from triage.errors import DataError, MappingError

from .conftest import REAL


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_multiline_bodies_and_semicolons(tmp_path: Path) -> None:
    f = write(tmp_path / "t.csv", 'id;subject;body;category\nA;VPN;"line one\nline two; still body";Сеть\n'
                                  'B;;Только текст;Почта\n')
    df = load_tickets([f])
    assert df["id"].tolist() == ["A", "B"]
    assert df.loc[0, "body"] == "line one\nline two; still body"
    assert df.loc[1, "text"] == "Только текст"
    assert df["language"].tolist() == ["en", "ru"]


def test_bad_date_names_file_line_and_field(tmp_path: Path) -> None:
    f = write(tmp_path / "t.csv", 'id,created_at,subject\n1,2026-11-01,ok\n2,"multi\nline",x\n3,not a date,y\n')
    with pytest.raises(DataError) as err:
        load_tickets([f])
    msg = str(err.value)
    assert f"{f}:5" in msg and "created_at" in msg and "not a date" in msg


def test_empty_text_row_is_reported_with_all_errors(tmp_path: Path) -> None:
    f = write(tmp_path / "t.jsonl", '{"id": "1", "subject": "ok"}\n{"id": "2", "subject": "", "body": " "}\n'
                                    '{"id": "3", "created_at": "31/31/2026", "body": "x"}\n')
    with pytest.raises(DataError) as err:
        load_tickets([f])
    assert ":2: subject and body are both empty" in str(err.value)
    assert ":3:" in str(err.value) and "created_at" in str(err.value)


def test_invalid_json_line(tmp_path: Path) -> None:
    f = write(tmp_path / "t.jsonl", '{"subject": "a"}\n{oops\n')
    with pytest.raises(DataError, match=r"t.jsonl:2: invalid JSON"):
        load_tickets([f])


def test_ragged_csv_row(tmp_path: Path) -> None:
    f = write(tmp_path / "t.csv", "id,subject,body\n1,a,b\n2,a,b,extra\n")
    with pytest.raises(DataError, match=r"t.csv:3: expected 3 values"):
        load_tickets([f])


def test_parquet_roundtrip_and_missing_ids(tmp_path: Path) -> None:
    import pandas as pd

    f = tmp_path / "t.parquet"
    pd.DataFrame({"subject": ["Принтер не печатает", "Mail is down"], "info_requested": ["да", "false"]}).to_parquet(f)
    df = load_tickets([f])
    assert df["id"].tolist() == ["1", "2"]  # row numbers when ids are absent
    assert df["info_requested"].tolist() == [True, False]


def test_mapping_applies_and_dates_parse_jira_style(tmp_path: Path) -> None:
    src = REAL / "hadoop-duplicates" / "issues.csv"  # real Apache Jira issues (CC BY 4.0), Jira's own dates
    mapping = Mapping(columns={"id": "Issue id", "subject": "Summary", "body": "Description", "created_at": "Created"})
    df = load_tickets([src], mapping)
    assert len(df) == 400
    first = df.iloc[0]
    assert first["id"] == "13404344"
    assert first["created_at"].to_pydatetime() == datetime(2021, 9, 30, 17, 20, tzinfo=UTC)
    assert (df["language"] == "en").mean() > 0.95


def test_mapping_naming_a_missing_column(tmp_path: Path) -> None:
    cfg = write(tmp_path / "m.yaml", 'columns:\n  subject: "Summary"\n  module: "Component/s"\n')
    f = write(tmp_path / "t.csv", "Summary,Other\nx,y\n")
    with pytest.raises(MappingError) as err:
        load_tickets([f], Mapping.load(cfg))
    assert "Component/s" in str(err.value) and err.value.field == "module"


def test_mapping_file_with_unknown_key(tmp_path: Path) -> None:
    cfg = write(tmp_path / "m.yaml", "colums:\n  id: X\n")
    with pytest.raises(MappingError, match="unknown keys"):
        Mapping.load(cfg)


def test_parse_datetime_formats() -> None:
    assert parse_datetime("2026-11-23T15:00:00Z") == datetime(2026, 11, 23, 15, tzinfo=UTC)
    assert parse_datetime("23.11.2026 15:00") == datetime(2026, 11, 23, 15, tzinfo=UTC)
    assert parse_datetime("2026-11-23T18:00:00+03:00") == datetime(2026, 11, 23, 15, tzinfo=UTC)
    assert parse_datetime("") is None


def test_unsupported_format(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unsupported format"):
        load_tickets([write(tmp_path / "t.xlsx", "x")])


def test_cp1251_export(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_bytes("subject,body\nНе работает почта,Outlook не отправляет\n".encode("cp1251"))
    df = load_tickets([f])
    assert df.loc[0, "subject"] == "Не работает почта"
    assert json.dumps(df.loc[0, "language"]) == '"ru"'
