"""SIGKILL `triage train` and `triage kb build` mid-way: the previous bundle / index is intact and
loadable, nothing acknowledged is lost, and the next run succeeds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from triage import Settings, load_triage
from triage._kb import open_kb

from .conftest import REAL, REPO

pytestmark = pytest.mark.slow


def run_until(cmd: list[str], env: dict[str, str], ready: Callable[[], bool], timeout: float = 300) -> bool:
    """Start `cmd`; SIGKILL it the moment `ready()` holds. False if it finished first."""
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if ready():
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.001)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def cli_env(cache_dir: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "TRIAGE_CACHE_DIR": str(cache_dir), "TRIAGE_EMBEDDER": "use-v3",
            "TRIAGE_MAX_TOKENS": "128", "OMP_NUM_THREADS": "1"}


def test_killed_training_leaves_the_previous_bundle(trained_bundle, labels_slice: Path, use_embedder,  # type: ignore[no-untyped-def]
                                                     cache_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "models" / "current"
    shutil.copytree(trained_bundle.bundle, out)
    before = load_triage(out, cache_dir=cache_dir, embedder=use_embedder)
    probe = [{"id": "P", "subject": "VPN не подключается"}]
    expected = before.classify(probe)
    cmd = [sys.executable, "-m", "training.cli", "train", "--data", str(labels_slice), "--target", "channel",
           "--out", str(out), "--no-mlflow"]
    env = cli_env(cache_dir)

    def writing() -> bool:
        return any(p.name.startswith("current.tmp-") for p in out.parent.iterdir())

    started = time.monotonic()
    assert run_until(cmd, env, lambda: time.monotonic() - started > 4), "killed while embedding/fitting"
    assert run_until(cmd, env, writing), "training finished before its bundle was being written"
    after = load_triage(out, cache_dir=cache_dir, embedder=use_embedder)
    assert after.model_version == before.model_version and set(after.heads) == set(before.heads)
    assert "channel" not in after.heads
    assert after.classify(probe) == expected
    # the next run is not blocked by the debris and replaces the bundle completely
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    fresh = load_triage(out, cache_dir=cache_dir, embedder=use_embedder)
    assert fresh.model_version != before.model_version and set(fresh.heads) == {"channel", "completeness"}
    assert not [p for p in out.parent.iterdir() if ".prev-" in p.name]
    assert not list(out.parent.glob("current.tmp-*")), "the killed run's half-written bundle was left on disk"


def test_killed_kb_build_leaves_the_previous_index(trained_bundle, use_embedder, cache_dir: Path,  # type: ignore[no-untyped-def]
                                                   tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    env = cli_env(cache_dir)
    base = [sys.executable, "-m", "training.cli", "kb", "build", "--model", str(trained_bundle.bundle),
            "--out", str(kb), "--source", str(REPO / "data" / "demo" / "kb")]
    res = subprocess.run(base, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    settings = Settings(cache_dir=cache_dir)
    index = open_kb(kb, use_embedder, settings)
    version, n_chunks = index.version, len(index)
    query = use_embedder.encode(["VPN не подключается"])
    expected = [h.article_id for h in index.search(query, ["VPN не подключается"], k=3)[0]]

    mapping = tmp_path / "kb.yaml"
    mapping.write_text('columns:\n  title: IssueTitle\n  body: Description\n', encoding="utf-8")
    bigger = [*base, "--source", str(REAL / "firefox-components" / "bugs.csv"), "--config", str(mapping)]

    def writing() -> bool:
        return any(p.name.startswith(".build-") for p in kb.iterdir())

    assert run_until(bigger, env, writing), "the build finished before it was writing"
    again = open_kb(kb, use_embedder, settings)
    assert (again.version, len(again)) == (version, n_chunks)
    assert [h.article_id for h in again.search(query, ["VPN не подключается"], k=3)[0]] == expected
    res = subprocess.run(bigger, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    grown = open_kb(kb, use_embedder, settings)
    assert grown.version > version and len(grown) > n_chunks
    assert not [p for p in kb.iterdir() if p.name.startswith(".build-")]
