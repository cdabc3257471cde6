"""`triage predict --engine spark` (training/_spark.py) against single-process `predict`, on Spark local[2]
bound to 127.0.0.1: the same JSON lines in the same order; with two partitions every field but the history's
is the same, and a ticket's similar tickets come from the training history and its own partition only."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from .test_cli import run_cli

ROWS = 80  # real Hadoop issues (dated), not in the bundle's training data, in two created_at halves


def _read(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _without_history(result: dict) -> dict:  # type: ignore[type-arg]
    return {k: v for k, v in result.items() if k != "recurring"}


@pytest.mark.slow
def test_spark_backfill_gives_predicts_lines(trained_bundle, hadoop_slice, tmp_path: Path,  # type: ignore[no-untyped-def]
                                             cache_dir: Path) -> None:
    pytest.importorskip("pyspark", reason="the spark extra is not installed: pip install 'triage[spark]'")
    issues, _, mapping = hadoop_slice
    data = tmp_path / "backlog.csv"
    pd.read_csv(issues, dtype=str, keep_default_na=False).head(ROWS).to_csv(data, index=False)
    env = {"TRIAGE_CACHE_DIR": str(cache_dir), "TRIAGE_MAX_TOKENS": "128"}
    common = ["--model", str(trained_bundle.bundle), "--input", str(data), "--config", str(mapping)]
    outs = {}
    for name, extra in (("local", []), ("spark1", ["--engine", "spark", "--partitions", "1"]),
                        ("spark2", ["--engine", "spark", "--spark-master", "local[2]", "--partitions", "2"])):
        outs[name] = tmp_path / f"{name}.jsonl"
        res = run_cli("predict", *common, "--output", str(outs[name]), *extra, env=env, timeout=900)
        assert res.returncode == 0, res.stderr[-3000:]
    local, one, two = (_read(outs[n]) for n in ("local", "spark1", "spark2"))
    assert len(local) == ROWS and [r["ticket_id"] for r in one] == [r["ticket_id"] for r in local]
    assert one == local  # one partition: exactly single-process predict
    assert [_without_history(r) for r in two] == [_without_history(r) for r in local]
    half = ROWS // 2  # range partitions of the created_at order
    assert two[:half] == local[:half]  # the first range sees what predict saw
    first, second = ({r["ticket_id"] for r in part} for part in (local[:half], local[half:]))

    def similar(results: list[dict]) -> set[str]:  # type: ignore[type-arg]
        return {s["ticket_id"] for r in results for s in r["recurring"]["similar"]}

    assert similar(local[half:]) & first  # single-process: later tickets find earlier issues of the other half
    assert not similar(two[half:]) & first  # the second range never sees the first (it ran at the same time)
    assert similar(two[half:]) & second  # but does see its own earlier tickets


def test_without_pyspark_the_spark_engine_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from training._spark import spark_session
    from triage.errors import TriageError

    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if the extra were not installed
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(TriageError, match=r"pip install 'triage\[spark\]'"):
        spark_session("local[2]")


def test_predict_help_states_the_backfill_semantics() -> None:
    res = run_cli("predict", "--help")
    text = " ".join(res.stdout.split())  # however the terminal wraps it
    assert res.returncode == 0
    assert "--engine" in text and "its own range only" in text and "--partitions 1" in text
