"""CSV exports as they come: encodings, delimiters, line ends, and no silently merged rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage._data import load_tickets, read_records
from triage.errors import DataError

HEADER = "id,created_at,subject,body,category"


def _rows(n: int = 29) -> list[str]:
    return [f'T-{i:03d},2026-01-{1 + i % 28:02d}T10:00:00Z,Subject {i},"Body {i}, with a comma",c{i % 3}'
            for i in range(n)]


def _write(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_unclosed_quote_that_swallows_a_row_names_its_line(tmp_path: Path) -> None:
    """The issue's case: 29 rows read as 28 tickets with no warning."""
    rows = _rows()
    rows[5] = "T-005,2026-01-06T10:00:00Z,Subject 5,\"Body 5 with a quote that never closes"
    rows[6] = "T-006,2026-01-07T10:00:00Z,Subject 6,Body 6\",c0"
    path = _write(tmp_path / "export.csv", rows)
    with pytest.raises(DataError) as err:
        list(read_records(path))
    assert err.value.line == 7 and err.value.field == "body"
    assert "line 8" in str(err.value) and "not closed" in str(err.value)


def test_quote_open_to_the_end_of_the_file(tmp_path: Path) -> None:
    rows = _rows(5)
    rows[4] = "T-004,2026-01-05T10:00:00Z,Subject 4,\"Body never closed\nmore text\nand more,c1"
    path = _write(tmp_path / "export.csv", rows)
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n"), encoding="utf-8")
    with pytest.raises(DataError) as err:
        list(read_records(path))
    assert err.value.line == 6


def test_multiline_cells_are_fine(tmp_path: Path) -> None:
    """Firefox's export quotes components with a trailing newline and bodies with many lines."""
    path = tmp_path / "bugs.csv"
    path.write_text('ComponentName,IssueTitle,Description\n"Menus\n ",Smart update,"Feature tracking, 1, 2, 3\n'
                    'Steps:\n1. open, click, wait\n2. again, and, again"\n"Sync\n ",Sync forgets,"User Agent: x, y"\n',
                    encoding="utf-8")
    rows = list(read_records(path))
    assert len(rows) == 2 and rows[0][0] == 2 and rows[1][0] == 7


@pytest.mark.parametrize(("name", "encode"), [
    ("crlf", lambda text: text.replace("\n", "\r\n").encode("utf-8")),
    ("bom-semicolon", lambda text: ("\ufeff" + text.replace(",", ";")).encode("utf-8")),
    ("tab", lambda text: text.replace(",", "\t").encode("utf-8")),
    ("cp1251", lambda text: text.encode("cp1251")),
    ("utf16", lambda text: text.replace(",", "\t").encode("utf-16")),
])
def test_encodings_and_delimiters(tmp_path: Path, name: str, encode) -> None:  # type: ignore[no-untyped-def]
    text = ("id,subject,body,category\n1,Почта,Не работает почта Outlook,mail\n2,VPN,Нет доступа к VPN,net\n"
            "3,Принтер,Замятие бумаги,print\n")
    path = tmp_path / f"{name}.csv"
    path.write_bytes(encode(text))
    df = load_tickets([path])
    assert list(df["id"]) == ["1", "2", "3"]
    assert df.loc[0, "subject"] == "Почта" and df.loc[2, "category"] == "print"


def test_repeated_header_names_are_kept_apart(tmp_path: Path) -> None:
    """Jira repeats "Comment" once per comment: every copy is read, the first keeps the name."""
    path = tmp_path / "jira.csv"
    path.write_text("Issue key,Summary,Comment,Comment,\nK-1,VPN down,first,second,x\n", encoding="utf-8")
    row = next(iter(read_records(path)))[1]
    assert row == {"Issue key": "K-1", "Summary": "VPN down", "Comment": "first", "Comment.1": "second",
                   "column_5": "x"}


def test_a_bare_inch_mark_in_an_unquoted_cell_is_read_as_written(tmp_path: Path) -> None:
    path = _write(tmp_path / "inch.csv", ['T-1,2026-01-01,Monitor,27" screen flickers,hw'])
    assert next(iter(read_records(path)))[1]["body"] == '27" screen flickers'
