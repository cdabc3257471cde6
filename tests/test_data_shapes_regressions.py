"""One test per crash of issue 13 (each failed on main at e60302d): real exports, not the demo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.pipeline import split
from triage._history import order_times, to_epoch

from ._shapes import SHAPES, demo_rows, run


@pytest.fixture(scope="module")
def env(cache_dir: Path) -> dict[str, str]:
    return {"TRIAGE_EMBEDDER": "use-v3", "TRIAGE_MAX_TOKENS": "128", "TRIAGE_CACHE_DIR": str(cache_dir)}


def test_nat_is_no_date() -> None:
    """`ValueError: NaTType does not support timestamp` in to_epoch, from Recurring.observe."""
    assert to_epoch(pd.NaT) is None
    assert order_times([pd.NaT, None, ""]) == [None, None, None]


def test_undated_tickets_keep_their_place() -> None:
    t0, t1 = "2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z"
    times = order_times([None, t0, None, None, t1, pd.NaT])
    assert all(t is not None for t in times)
    assert times == sorted(times)  # input order is time order
    assert times[1] == to_epoch(t0) and times[4] == to_epoch(t1)


def test_split_with_labels_missing_on_some_rows() -> None:
    """`TypeError: '<' not supported between instances of 'str' and 'float'` in split."""
    df = pd.DataFrame({"created_at": [pd.NaT] * 40,
                       "category": [None if i % 4 == 0 else ("a" if i % 2 else "b") for i in range(40)]})
    df.loc[3, "category"] = np.nan
    train, test, kind = split(df, 0.25, "category", 0)
    assert kind == "stratified" and len(train) + len(test) == 40 and not set(train) & set(test)


def test_mostly_dated_export_is_split_by_time() -> None:
    dates = pd.to_datetime([f"2026-01-{d:02d}" for d in range(1, 21)], utc=True).to_series().reset_index(drop=True)
    dates[5] = pd.NaT
    train, test, kind = split(pd.DataFrame({"created_at": dates, "category": ["a", "b"] * 10}), 0.25, "category", 0)
    assert kind == "time" and max(train) < min(test)


def test_no_target_still_writes_a_bundle(env: dict[str, str], tmp_path: Path) -> None:
    """`train` refused with "nothing to learn"; contract §3: history + completeness scorer."""
    data = tmp_path / "faq.csv"
    demo_rows(60)[["id", "created_at", "subject", "body", "answer"]].to_csv(data, index=False)
    model = tmp_path / "model"
    code, output = run("train", "--data", str(data), "--out", str(model), "--no-mlflow", env=env)
    assert code == 0, output
    assert "No classification target" in output
    manifest = json.loads((model / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["heads"]) == {"completeness"} and manifest["history"]["tickets"] == 60
    out = tmp_path / "out.jsonl"
    assert run("predict", "--model", str(model), "--input", str(data), "--output", str(out), env=env)[0] == 0
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first["labels"] == {} and "completeness" in first and "recurring" in first
    code, output = run("evaluate", "--model", str(model), "--data", str(data), "--report", str(tmp_path / "r"),
                       env=env)
    assert code == 0 and "nothing to measure" in output


def test_foreign_file_names_its_columns_and_the_fix(env: dict[str, str], tmp_path: Path,
                                                    trained_bundle) -> None:  # type: ignore[no-untyped-def]
    """It said "subject and body are both empty" on every row."""
    rows = demo_rows(10)
    data = tmp_path / "export.csv"
    pd.DataFrame({"Тема": rows["subject"], "Описание": rows["body"], "Статус": "new"}).to_csv(data, index=False)
    code, output = run("predict", "--model", str(trained_bundle.bundle), "--input", str(data), "--output",
                       str(tmp_path / "o.jsonl"), env=env)
    assert code == 2
    assert "['Тема', 'Описание', 'Статус']" in output and "--config MAP.yaml" in output
    assert 'subject: "Тема"' in output and 'body: "Описание"' in output
    assert output.count("both empty") == 0


def test_missing_id_is_the_row_number(tmp_path: Path) -> None:
    from triage import load_tickets

    df = load_tickets([SHAPES["no_id"](demo_rows(5), tmp_path)])
    assert list(df["id"]) == ["1", "2", "3", "4", "5"]
