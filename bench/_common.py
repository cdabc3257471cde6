"""What several benchmark scripts share (run as scripts, so `bench/` is on sys.path)."""

from __future__ import annotations

from pathlib import Path


def rss_mb() -> float:
    """This process's resident memory, for the memory columns of the scale benchmarks."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def shared_datasets() -> Path:
    """The full public datasets: $TRIAGE_SHARED_DATASETS, else ../shared/datasets beside the clone (our CI).

    Benchmarks measure on the full datasets, most of which may not be copied into the repository
    (see data/real/README.md); a clone without them gets a clear message from `require_datasets`.
    """
    import os

    return Path(os.environ.get("TRIAGE_SHARED_DATASETS") or Path(__file__).resolve().parents[2] / "shared" / "datasets")


def require_datasets(*names: str) -> Path:
    """Stop with a clear message (exit 2) unless each named dataset folder exists; return the datasets root."""
    import sys

    root = shared_datasets()
    missing = [n for n in names if not (root / n).is_dir()]
    if missing:
        print(f"error: this benchmark needs {', '.join(missing)} in {root}, which is not there.\n"
              "The benchmarks measure on the full public datasets that our CI keeps in ../shared/datasets "
              "(most may not be copied into the repository; see ../shared/datasets/README.md for where they "
              "come from). Put them there, or point TRIAGE_SHARED_DATASETS at the folder that holds them. "
              "The test suite does not need them.", file=sys.stderr)
        raise SystemExit(2)
    return root
