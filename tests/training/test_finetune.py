"""`triage train --finetune`: SetFit-style tuning of the real default model, stored in the bundle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.finetune import make_pairs

from ..conftest import REPO


def test_pairs_are_balanced_and_correct() -> None:
    labels = ["a", "a", "b", "b", "c", "c"]
    pairs = make_pairs(labels, pairs_per_text=2, seed=0)
    assert len(pairs) == 12
    for i, j, y in pairs:
        assert (labels[i] == labels[j]) == (y == 1.0)
    assert sum(y for *_, y in pairs) == 6


@pytest.mark.slow
def test_finetuned_embedder_travels_with_the_bundle(tmp_path: Path, cache_dir: Path) -> None:
    from training.pipeline import TrainOptions, train
    from triage import Settings, load_embedder, load_triage

    demo = pd.read_csv(REPO / "data" / "demo" / "tickets.csv")
    small = demo.groupby("category").head(8)
    data = tmp_path / "small.csv"
    small.to_csv(data, index=False)
    settings = Settings(cache_dir=cache_dir, max_tokens=64)
    result = train([data], tmp_path / "model", settings=settings,
                   options=TrainOptions(targets=["category"], finetune=True, mlflow=False, cv=2))
    manifest = result.manifest
    assert manifest["embedder"]["spec"] == "bundle" and "+setfit-" in manifest["embedder"]["id"]
    assert (result.bundle / "embedder" / "model.safetensors").exists()
    triage = load_triage(result.bundle, cache_dir=cache_dir)
    assert triage.embedder.model_id == manifest["embedder"]["id"]
    text = ["Не работает VPN, AnyConnect пишет login failed"]
    tuned = triage.embedder.encode(text)
    base = load_embedder("e5-small", cache_dir=cache_dir, max_tokens=64).encode(text)
    assert 0.5 < float(tuned[0] @ base[0]) < 0.9999  # moved, but still the same model family
    [res] = triage.classify([{"subject": text[0]}])
    assert res["labels"]["category"]["top"]
    json.dumps(res)
    assert np.isfinite(tuned).all()
