"""Reading CSV exports as they come: any common encoding and delimiter, and no silently merged rows.

Helpdesk and spreadsheet exports arrive as UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode
text"), or cp1251 (Russian Windows); with `,`, `;` (European Excel) or tab; with CRLF line ends. All
of that is read without a flag.

The dangerous case is an unclosed quote: the csv module then reads on into the next rows and returns
one ticket where the file had several, without an error (29 rows became 28 tickets). Two checks catch
it. A quoted cell that spans lines is suspicious when one of its lines starts like a row of this file
(the id shape of the first column, with digits, followed by enough delimiters for a whole row): that is
a row swallowed by the quote. And a file whose quote characters do not pair up, whose last row runs to
the end of the file, has a quote that never closes. Both name the line where the quote opened and the
column. Legitimate multi-line cells (a description with line breaks, "Menus\\n ") pass both checks.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from triage.errors import DataError

_SNIFF_CHARS = 65536
_ID_SHAPES_FROM = 50  # first-column values used to learn what an id looks like
_DIGIT = re.compile(r"\d")


def decode(raw: bytes) -> str:
    """UTF-16 by its BOM, then UTF-8 (BOM or not), then cp1251; anything else fails on content later."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1251")


def sniff_delimiter(text: str) -> str:
    """Only the delimiter: the Sniffer's guesses about quoting are often wrong."""
    header = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(text[:_SNIFF_CHARS], delimiters=",;\t").delimiter
    except csv.Error:
        counts = {d: header.count(d) for d in ",;\t"}
        return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line where the row starts, row as a dict); DataError naming file, line and column else."""
    csv.field_size_limit(sys.maxsize)
    text = decode(path.read_bytes())
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise DataError("the file is empty; expected a header row", file=str(path), line=1)
    header = _unique_header([h.strip() for h in header])
    shapes = _IdShapes()
    start = reader.line_num + 1
    last: tuple[int, list[str]] | None = None
    for values in reader:
        end = reader.line_num
        if values and len(values) != len(header):
            raise DataError(f"expected {len(header)} values as in the header, found {len(values)}; "
                            "check quoting of this row (an unclosed or unescaped quote?)", file=str(path), line=start)
        if end > start:
            _check_swallowed(values, header, delimiter, shapes, str(path), start)
        if values:
            shapes.learn(values[0])
        if any(v.strip() for v in values):
            last = (start, values)
            yield start, dict(zip(header, values, strict=True))
        start = end + 1
    if last is not None and text.count('"') % 2 == 1 and not text.rstrip().endswith('"'):
        _report_unpaired(last, header, str(path))


def _unique_header(header: list[str]) -> list[str]:
    """Repeated names get pandas-style suffixes ("Comment", "Comment.1"), empty ones `column_<n>`.

    Jira's CSV export repeats "Comment", "Component/s" and "Labels" once per value, so refusing repeated
    names would refuse the most common helpdesk export; the first copy keeps the name a mapping uses.
    """
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(header, 1):
        name = name or f"column_{i}"
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}.{count}")
    return out


class _IdShapes:
    """What the first column's values look like ('T-0001' -> 'A-9'), when they carry digits (ids do)."""

    def __init__(self) -> None:
        self.shapes: set[str] = set()
        self.seen = 0
        self.usable = True

    def learn(self, value: str) -> None:
        if self.seen >= _ID_SHAPES_FROM or not self.usable:
            return
        self.seen += 1
        if not _DIGIT.search(value) or "\n" in value:
            self.usable = False  # not an id column: free text or names, no safe shape
            return
        self.shapes.add(shape(value))
        self.usable = len(self.shapes) <= 3

    def matches(self, value: str) -> bool:
        return self.usable and bool(self.shapes) and shape(value) in self.shapes


def shape(value: str) -> str:
    """Letters -> A, digit runs -> 9, other characters kept: the form of an id, not its value."""
    return re.sub(r"\d+", "9", re.sub(r"[^\W\d_]+", "A", value.strip()))


def _check_swallowed(values: list[str], header: list[str], delimiter: str, shapes: _IdShapes, file: str,
                     start: int) -> None:
    need = max(1, len(header) - 2)  # a swallowed row shows most of its delimiters on its first line
    for col, value in enumerate(values):
        if "\n" not in value:
            continue
        offset = 0
        for k, line in enumerate(value.split("\n")[1:], 1):
            first = line.split(delimiter, 1)[0].strip().strip('"')
            if line.count(delimiter) >= need and shapes.matches(first):
                offset = k
                break
        if offset:
            raise DataError(f"a quote opened in column '{header[col]}' is not closed: the row starting at line "
                            f"{start + offset} was read into this cell. Close the quote (or double a quote "
                            "inside a cell: \"\")", file=file, line=start, field=header[col])


def _report_unpaired(last: tuple[int, list[str]], header: list[str], file: str) -> None:
    start, values = last
    col = next((i for i, v in enumerate(values) if "\n" in v), None)
    if col is None:
        return  # an odd quote inside an unquoted cell (5" screen): read as written
    raise DataError(f"a quote opened in column '{header[col]}' is never closed: everything to the end of the "
                    "file was read into this cell. Close the quote (or double a quote inside a cell: \"\")",
                    file=file, line=start, field=header[col])
