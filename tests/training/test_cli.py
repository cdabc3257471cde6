"""The `triage` command as a user runs it: exit codes, messages, predict/evaluate outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import REPO


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "TRIAGE_EMBEDDER": "use-v3", **(env or {})}
    return subprocess.run([sys.executable, "-m", "training.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=full_env, timeout=timeout)


def test_help_teaches() -> None:
    res = run_cli("train", "--help")
    assert res.returncode == 0
    assert "--target" in res.stdout and "mapping" in res.stdout


def test_bad_input_exits_2_and_names_line(tmp_path: Path) -> None:
    data = tmp_path / "bad.csv"
    data.write_text("id,created_at,subject,category\n1,2026-01-01,a,x\n2,yesterday-ish,b,y\n", encoding="utf-8")
    res = run_cli("train", "--data", str(data), "--target", "category", "--out", str(tmp_path / "m"))
    assert res.returncode == 2
    assert f"{data}:3" in res.stderr and "created_at" in res.stderr
    assert not (tmp_path / "m").exists()


def test_unknown_target_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_text("subject,category\na,x\nb,y\n", encoding="utf-8")
    res = run_cli("train", "--data", str(data), "--target", "queue", "--out", str(tmp_path / "m"))
    assert res.returncode == 2 and "target 'queue' is not a column" in res.stderr


def test_missing_bundle_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_text("subject\nhello\n", encoding="utf-8")
    res = run_cli("predict", "--model", str(tmp_path / "nope"), "--input", str(data), "--output",
                  str(tmp_path / "o.jsonl"))
    assert res.returncode == 2 and "not a model bundle" in res.stderr


def test_predict_and_evaluate_with_mapping(trained_bundle, tmp_path: Path, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """A foreign export with a mapping: predict in time order, evaluate writes a report."""
    src = tmp_path / "export.csv"
    src.write_text('Key,Opened,Title,Text,Area\n'
                   'K-2,2026-11-02T10:00:00Z,Mail,"Outlook does not receive new mail since morning",Почта\n'
                   'K-1,2026-11-01T10:00:00Z,VPN down,"AnyConnect cannot connect from home",VPN и удалённый доступ\n'
                   'K-3,2026-11-03T10:00:00Z,Login,"Cannot log in, my account is locked",Учётные записи\n',
                   encoding="utf-8")
    mapping = tmp_path / "map.yaml"
    mapping.write_text('columns:\n  id: Key\n  created_at: Opened\n  subject: Title\n  body: Text\n'
                       '  category: Area\n', encoding="utf-8")
    env = {"TRIAGE_CACHE_DIR": str(cache_dir), "TRIAGE_MAX_TOKENS": "128"}
    out = tmp_path / "out.jsonl"
    res = run_cli("predict", "--model", str(trained_bundle.bundle), "--input", str(src), "--config", str(mapping),
                  "--output", str(out), env=env)
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [x["ticket_id"] for x in lines] == ["K-1", "K-2", "K-3"]  # created_at order
    assert set(lines[0]["labels"]) == {"category", "priority"} and lines[0]["language"] == "en"
    report = tmp_path / "report"
    res = run_cli("evaluate", "--model", str(trained_bundle.bundle), "--data", str(src), "--config", str(mapping),
                  "--report", str(report), env=env)
    assert res.returncode == 0, res.stderr
    metrics = json.loads((report / "metrics.json").read_text(encoding="utf-8"))["metrics"]
    assert set(metrics) == {"category"} and metrics["category"]["n"] == 3
    assert (report / "confusion_category.png").exists() and "| category | 3 |" in (report / "report.md").read_text()


@pytest.mark.parametrize("value", ["0", "abc"])
def test_invalid_setting_fails_at_start(tmp_path: Path, value: str) -> None:
    data = tmp_path / "t.csv"
    data.write_text("subject,category\na,x\n", encoding="utf-8")
    res = run_cli("train", "--data", str(data), "--target", "category", "--out", str(tmp_path / "m"),
                  env={"TRIAGE_MAX_TOKENS": value})
    assert res.returncode == 2 and "TRIAGE_MAX_TOKENS" in res.stderr


def test_a_bad_database_url_is_named_without_printing_its_password(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_text("subject,category\na,x\n", encoding="utf-8")
    res = run_cli("train", "--data", str(data), "--target", "category", "--out", str(tmp_path / "m"),
                  env={"TRIAGE_DATABASE_URL": "postgresql://triage:s3cr3t-pw@/nohost"})
    assert res.returncode == 2 and "TRIAGE_DATABASE_URL" in res.stderr and "needs a host" in res.stderr
    assert "s3cr3t-pw" not in res.stderr + res.stdout
