#!/usr/bin/env python3
"""Generate the ILLUSTRATIVE demo data set under data/demo/.

Everything produced here is invented by the project: the company, people,
departments, tickets and knowledge-base articles are fictional.  The text
material is written by hand under data/demo/source/ (YAML; its README.md
describes the format); this script only combines it, with a fixed seed, so
the output is byte-identical on every run:

    python scripts/make_demo_data.py            # writes data/demo/
    python scripts/make_demo_data.py --out DIR  # writes elsewhere
    python scripts/make_demo_data.py --source DIR/source --out OUT  # edited copy

The code is the package ``scripts/demo_data``: ``source`` (loading and checking
the material), ``writer`` (one ticket's text), ``tickets`` (which tickets
exist: background, planted incidents, duplicates; the Jira-style sample) and
``output`` (the files).  tests/training/test_demo_data.py checks that the committed
data/demo/ is exactly what this script writes.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from demo_data.output import (
    JIRA_COLUMNS,
    TICKET_COLUMNS,
    copy_static,
    owners_yaml,
    readme,
    write_csv,
    write_kb,
    write_text,
)
from demo_data.source import SourceError, load_source
from demo_data.tickets import SEED, TicketFactory, generate_tickets, jira_rows

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
SOURCE = DEMO / "source"


def generate(out: Path, source: Path = SOURCE) -> str:
    """Write the whole data set into ``out``; returns a one-line summary.

    ``source.parent`` is the published folder that holds the hand-written kb/ and mapping example.
    """
    demo = source.parent
    src = load_source(source, demo / "kb")
    out.mkdir(parents=True, exist_ok=True)
    rows = generate_tickets(TicketFactory(random.Random(SEED), src))
    jira = jira_rows(TicketFactory(random.Random(SEED + 1), src))
    write_csv(out / "tickets.csv", TICKET_COLUMNS, rows)
    write_kb(src, out)
    write_text(out / "owners.yaml", owners_yaml(src))
    copy_static(demo, out)
    write_csv(out / "jira_export_sample.csv", JIRA_COLUMNS, jira)
    template = (source / "demo-readme.template.md").read_text(encoding="utf-8")
    write_text(out / "README.md", readme(template, src, rows, jira))
    return f"wrote {len(rows)} tickets, {len(src.kb)} KB articles, {len(jira)} Jira rows to {out}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEMO, help="output folder (default: data/demo)")
    parser.add_argument("--source", type=Path, default=SOURCE,
                        help="hand-written material (default: data/demo/source; its parent holds kb/*.md)")
    args = parser.parse_args(argv)
    try:
        print(generate(args.out, args.source))
    except SourceError as exc:
        print(f"error: {exc}\nFix the file named above and run the script again.", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
