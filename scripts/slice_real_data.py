"""Cut the small real-data slices in data/real/ from the public datasets in ../shared/datasets.

Only datasets whose licence allows copying (MIT, CC BY) are sliced; the others stay outside the
repository and the tests on them run only where ../shared/datasets exists. The cut is deterministic
(file order, fixed component list, no sampling), so running this again writes byte-identical files:

    python scripts/slice_real_data.py                 # reads ../shared/datasets (or $TRIAGE_SHARED_DATASETS)
    python scripts/slice_real_data.py --check         # exit 1 if data/real differs from a fresh cut

Rows are copied as found (columns, values, trailing newlines and all): the slices are there to test the
code on real, messy data, not to be cleaned for it.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "data" / "real"

# Firefox: 12 components, the first 30 bugs of each in file order -> 360 bugs
FIREFOX_COMPONENTS = ("Address Bar", "Bookmarks & History", "Downloads Panel", "PDF Viewer", "Preferences",
                      "Session Restore", "Sync", "Tabbed Browser", "Theme", "about:logins", "Search", "Installer")
FIREFOX_PER_COMPONENT = 30
# Hadoop: every issue on either side of a duplicate link, plus the first unlinked issues in file order
# whose description is short enough to keep the slice small, up to this many issues in all
HADOOP_ISSUES = 400
HADOOP_MAX_UNLINKED_DESCRIPTION = 3000


def shared_datasets() -> Path:
    """Where the full datasets live: $TRIAGE_SHARED_DATASETS, else ../shared/datasets beside the clone."""
    return Path(os.environ.get("TRIAGE_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def to_csv(header: list[str], rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def slice_firefox(src: Path) -> dict[str, str]:
    """The first bugs of each listed component, in file order (the component keeps its trailing newline)."""
    header, rows = read_rows(src / "firefox-components" / "Bugzilla_Firefox_Task3.csv")
    taken: dict[str, int] = dict.fromkeys(FIREFOX_COMPONENTS, 0)
    out = []
    for row in rows:
        component = row["ComponentName"].strip()
        if component in taken and taken[component] < FIREFOX_PER_COMPONENT:
            taken[component] += 1
            out.append(row)
    short = [c for c, n in taken.items() if n < FIREFOX_PER_COMPONENT]
    if short:
        raise SystemExit(f"firefox-components: too few bugs for {short}")
    return {"firefox-components/bugs.csv": to_csv(header, out)}


def slice_hadoop(src: Path) -> dict[str, str]:
    """Both sides of every duplicate link, then short unlinked issues in file order; the links among them."""
    header, rows = read_rows(src / "hadoop-duplicates" / "hadoop_bugs.csv")
    link_header, link_rows = read_rows(src / "hadoop-duplicates" / "hadoop_bugs-combined.csv")
    linked = set()
    for link in link_rows:
        linked.add(link["Issue id"].strip())
        linked.update(x.strip() for x in link["Duplicate id"].split(","))
    keep = {r["Issue id"] for r in rows if r["Issue id"] in linked}
    for row in rows:
        if len(keep) >= HADOOP_ISSUES:
            break
        if len(row["Description"]) <= HADOOP_MAX_UNLINKED_DESCRIPTION:
            keep.add(row["Issue id"])
    issues = [r for r in rows if r["Issue id"] in keep]  # file order
    links = [lk for lk in link_rows
             if lk["Issue id"].strip() in keep and all(x.strip() in keep for x in lk["Duplicate id"].split(","))]
    return {"hadoop-duplicates/issues.csv": to_csv(header, issues),
            "hadoop-duplicates/duplicates.csv": to_csv(link_header, links)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with data/real instead of writing")
    args = parser.parse_args(argv)
    src = shared_datasets()
    if not src.is_dir():
        print(f"error: {src} does not exist; set TRIAGE_SHARED_DATASETS to the folder holding "
              "firefox-components/ and hadoop-duplicates/", file=sys.stderr)
        return 2
    files = {**slice_firefox(src), **slice_hadoop(src)}
    stale = []
    for rel, text in files.items():
        path = OUT / rel
        if args.check:
            if not path.exists() or path.read_bytes() != text.encode("utf-8"):
                stale.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        rows = sum(1 for _ in csv.reader(io.StringIO(text))) - 1
        print(f"{path.relative_to(REPO)}: {rows} rows, {len(text.encode()) // 1024} KB")
    if stale:
        print("data/real differs from a fresh cut: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
