"""Every export shape through every command (issue 13): train, predict, evaluate and kb build.

Each cell passes, or fails with exit 2 naming file, line and field; nothing crashes and nothing is
silently lost. The tickets are in-repo demo rows written in each shape by tests/_shapes.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage._data import read_records

from ._shapes import SHAPES, demo_rows, run

N = 60


@pytest.fixture(scope="module")
def kb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two articles: `kb build` here is about reading the answers in each shape, not about the KB."""
    folder = tmp_path_factory.mktemp("kb")
    (folder / "vpn.md").write_text("# VPN: Login failed\n\nReset the password in the portal.\n", encoding="utf-8")
    (folder / "mail.md").write_text("# Почта не отправляется\n\nПроверьте размер ящика.\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def env(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    mlflow = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    return {"TRIAGE_EMBEDDER": "use-v3", "TRIAGE_MAX_TOKENS": "128", "TRIAGE_CACHE_DIR": str(cache_dir),
            "MLFLOW_TRACKING_URI": f"sqlite:///{mlflow}"}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shape_through_every_command(shape: str, env: dict[str, str], kb_folder: Path, tmp_path: Path) -> None:
    rows = demo_rows(N)
    data = SHAPES[shape](rows, tmp_path)
    model, out, report = tmp_path / "model", tmp_path / "out.jsonl", tmp_path / "report"

    code, output = run("train", "--data", str(data), "--target", "category", "--out", str(model), "--no-mlflow",
                       "--features", "dense", env=env)  # the shape is what is tested: the lightest head will do
    assert code == 0, output
    manifest = json.loads((model / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["data"]["rows"] == N
    labelled = N - (N + 3) // 4 if shape == "labels_partly_missing" else N
    assert sum(manifest["data"]["label_counts"]["category"].values()) == labelled
    assert "category: answers" in output  # the summary says what the head will do

    code, output = run("predict", "--model", str(model), "--input", str(data), "--output", str(out), env=env)
    assert code == 0, output
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(results) == N
    ids = [r["ticket_id"] for r in results]
    assert len(set(ids)) == N
    if shape == "no_id":
        assert sorted(ids, key=int) == [str(i) for i in range(1, N + 1)]  # the row number (contract §1)
    for r in results:
        assert r["ticket_id"] not in [s["ticket_id"] for s in r["recurring"]["similar"]]
        for item in r["completeness"]["items"].values():
            assert item["evidence"] is None or "<" not in item["evidence"]

    code, output = run("evaluate", "--model", str(model), "--data", str(data), "--report", str(report), env=env)
    assert code == 0, output
    metrics = json.loads((report / "metrics.json").read_text(encoding="utf-8"))["metrics"]
    assert metrics["category"]["n"] == labelled

    code, output = run("kb", "build", "--source", str(kb_folder), "--answers", str(data), "--out",
                       str(tmp_path / "kb"), env=env)
    assert code == 0, output
    articles = int(output.split(" articles,")[0].rsplit(" ", 1)[-1])
    assert articles > 2  # the two articles and the past answers read from this shape


def test_undated_predict_is_in_input_order(env: dict[str, str], tmp_path: Path) -> None:
    """Contract §3: tickets without created_at are taken in input order, so `similar` only holds earlier rows."""
    rows = demo_rows(N)
    train_file = SHAPES["undated"](rows.head(40), tmp_path)
    model = tmp_path / "model"
    assert run("train", "--data", str(train_file), "--out", str(model), "--no-mlflow", env=env)[0] == 0
    later = tmp_path / "later"
    later.mkdir()
    new = SHAPES["undated"](rows.iloc[40:].assign(id=[f"N-{i}" for i in range(N - 40)]), later)
    out = tmp_path / "out.jsonl"
    code, output = run("predict", "--model", str(model), "--input", str(new), "--output", str(out), env=env)
    assert code == 0, output
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    position = {r["ticket_id"]: i for i, r in enumerate(results)}
    assert [r["ticket_id"] for r in results] == [f"N-{i}" for i in range(N - 40)]
    for i, r in enumerate(results):
        for s in r["recurring"]["similar"]:
            assert position.get(s["ticket_id"], -1) < i  # a training ticket, or one listed above


@pytest.mark.parametrize("command", ["train", "predict", "evaluate", "kb"])
def test_unparseable_date_is_exit_2_naming_file_line_field(command: str, env: dict[str, str], tmp_path: Path,
                                                          kb_folder: Path, trained_bundle) -> None:  # type: ignore[no-untyped-def]
    rows = demo_rows(30)
    rows.loc[7, "created_at"] = "sometime last week"
    data = SHAPES["dated"](rows, tmp_path)
    args = {"train": ["train", "--data", str(data), "--target", "category", "--out", str(tmp_path / "m"),
                      "--no-mlflow"],
            "predict": ["predict", "--model", str(trained_bundle.bundle), "--input", str(data), "--output",
                        str(tmp_path / "o.jsonl")],
            "evaluate": ["evaluate", "--model", str(trained_bundle.bundle), "--data", str(data), "--report",
                         str(tmp_path / "r")],
            "kb": ["kb", "build", "--source", str(kb_folder), "--answers", str(data), "--out",
                   str(tmp_path / "kb")]}[command]
    line = next(n for n, raw in read_records(data) if raw["id"] == rows.loc[7, "id"])  # bodies span lines
    code, output = run(*args, env=env)
    assert code == 2, output
    assert f"{data}:{line}" in output and "created_at" in output
    assert not (tmp_path / "m").exists() and not (tmp_path / "o.jsonl").exists()
