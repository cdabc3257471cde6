"""What several benchmark scripts share (run as scripts, so `bench/` is on sys.path)."""

from __future__ import annotations

from pathlib import Path


def rss_mb() -> float:
    """This process's resident memory, for the memory columns of the scale benchmarks."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
