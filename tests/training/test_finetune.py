"""Label tuning (`triage train`, TRIAGE_LABEL_TUNING): SetFit-style tuning of the real default model on part of
the labelled tickets, stored in the bundle for the label heads only; the shared embedder stays as shipped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.finetune import make_pairs

from ..conftest import DEMO, REPO


def test_pairs_are_balanced_and_correct() -> None:
    labels = ["a", "a", "b", "b", "c", "c"]
    pairs = make_pairs(labels, pairs_per_text=2, seed=0)
    assert len(pairs) == 12
    for i, j, y in pairs:
        assert (labels[i] == labels[j]) == (y == 1.0)
    assert sum(y for *_, y in pairs) == 6


def test_auto_skips_an_embedder_it_cannot_tune(tmp_path: Path, use_embedder, cache_dir) -> None:  # type: ignore[no-untyped-def]
    from training.pipeline import TrainOptions, train
    from triage import Settings

    settings = Settings(embedder="use-v3", cache_dir=cache_dir, max_tokens=64, label_tuning="auto")
    result = train([DEMO / "tickets.csv"], tmp_path / "model", settings=settings, embedder=use_embedder,
                   options=TrainOptions(targets=["category"], mlflow=False, cv=2))
    facts = result.manifest["label_embedder"]
    assert facts["used"] is False and "not a local sentence-transformers model" in facts["reason"]
    assert not (result.bundle / "label_embedder").exists()


@pytest.mark.slow
def test_the_time_budget_stops_tuning(tmp_path: Path, cache_dir: Path) -> None:
    from training.finetune import finetune
    from triage import load_embedder

    base = load_embedder("e5-small", cache_dir=cache_dir, max_tokens=64, onnx=False)
    run = finetune(Path(base.source), ["a b", "c d", "e f", "g h"], ["x", "x", "y", "y"], tmp_path / "t",  # type: ignore[attr-defined]
                   max_tokens=16, time_budget=0.0)
    assert run.stopped_by_budget and run.pairs_done == 0 < run.pairs_planned
    assert (tmp_path / "t" / "modules.json").is_file()  # what was learned (nothing) is still saved


@pytest.mark.slow
def test_tuned_label_embedder_travels_with_the_bundle(tmp_path: Path, cache_dir: Path) -> None:
    from training.pipeline import TrainOptions, train
    from triage import Settings, load_embedder, load_triage

    demo = pd.read_csv(REPO / "data" / "demo" / "tickets.csv")
    small = demo.groupby("category").head(12)
    data = tmp_path / "small.csv"
    small.to_csv(data, index=False)
    settings = Settings(cache_dir=cache_dir, max_tokens=64, label_tuning="on", label_tuning_budget=120,
                        label_tuning_pairs=2, label_tuning_tokens=32)
    result = train([data], tmp_path / "model", settings=settings,
                   options=TrainOptions(targets=["category"], mlflow=False, cv=2))
    manifest = result.manifest
    assert manifest["embedder"]["spec"] == "e5-small"  # history, problems and the KB keep the shared model
    facts = manifest["label_embedder"]
    folder = result.bundle / "label_embedder"
    head = json.loads((result.bundle / "manifest.json").read_text(encoding="utf-8"))["heads"]["category"]
    assert head["embeddings"] in ("base", "tuned", "both")  # both: the shared and the tuned block side by side
    assert {r["embeddings"] for r in head["search"]} == {head["embeddings"]}  # the refit kept the chosen block
    if head["embeddings"] == "base":  # no head chose the tuned block: the bundle does not carry (or run) it
        assert not facts["used"] and not folder.exists()
        assert load_triage(result.bundle, cache_dir=cache_dir).label_embedder is None
        return
    assert facts["used"] and "+setfit-" in facts["id"] and 0 < facts["tuned_on"] < len(small)
    assert (folder / "onnx" / "model.onnx").is_file() and not (folder / "model.safetensors").exists()
    assert head["calibrated_on"] < head["n_train"]  # calibrated only on the tickets the tuning never saw
    triage = load_triage(result.bundle, cache_dir=cache_dir)
    assert triage.label_embedder is not None and triage.label_embedder.model_id == facts["id"]
    text = "Не работает VPN, AnyConnect пишет login failed"
    feats = triage.features([{"subject": text}])
    assert feats.tuned is not None and np.isfinite(feats.tuned).all()
    base = load_embedder("e5-small", cache_dir=cache_dir, max_tokens=64).encode([text])
    np.testing.assert_allclose(feats.dense, base, atol=1e-5)  # the shared block is the shipped model's
    assert 0.3 < float(feats.tuned[0] @ base[0]) < 0.9999  # the tuned one moved, within the same family
    [res] = triage.classify([{"subject": text}])
    assert res["labels"]["category"]["top"]
    json.dumps(res)


def test_a_tuned_embedder_no_head_chose_is_left_out_of_the_bundle(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from training.label_tuning import LABEL_EMBEDDER
    from training.pipeline import drop_unused_tuning

    folder = tmp_path / "tuned"
    folder.mkdir()
    tuning = SimpleNamespace(folder=folder)
    facts = {"used": True, "reason": "enough tickets"}
    chose = {"category": SimpleNamespace(dense_source_="tuned"), "priority": SimpleNamespace(dense_source_="base")}
    dirs = {LABEL_EMBEDDER: folder}
    assert drop_unused_tuning(chose, tuning, facts, dirs) == facts and folder.is_dir()  # type: ignore[arg-type]
    side_by_side = {"category": SimpleNamespace(dense_source_="both")}  # reads the tuned block too: keep it
    assert drop_unused_tuning(side_by_side, tuning, facts, dirs) == facts and folder.is_dir()  # type: ignore[arg-type]
    none = {"category": SimpleNamespace(dense_source_="base"), "completeness": SimpleNamespace()}
    left = drop_unused_tuning(none, tuning, facts, dirs)  # type: ignore[arg-type]
    assert not left["used"] and "no label head" in left["reason"] and not folder.exists() and not dirs
