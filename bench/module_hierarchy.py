"""Hierarchical modules on real data: the RUTUBE support cases, module = `level 1/level 2` (11 / 39).

When no sub-module is sure enough but its siblings together are, the module head answers with the
parent. This measures what that buys: how many tickets get a usable answer (leaf or parent) and how
often it is right, against the same head answering leaves only (abstaining otherwise).
75/25 split stratified on level 1, seed 0; both heads at 80% target precision.

    python bench/module_hierarchy.py --out bench/results/module_hierarchy.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from _common import require_datasets, shared_datasets  # type: ignore[import-not-found]
from sklearn.model_selection import train_test_split

from triage import CachedEmbedder, Mapping, Settings, load_embedder, load_tickets
from triage.heads import Features, ModuleHead

SHARED = shared_datasets()


def score(results: list[dict[str, Any]], y: np.ndarray) -> dict[str, Any]:
    answered = [(r, t) for r, t in zip(results, y, strict=True) if not r["abstained"]]
    leaf = [(r, t) for r, t in answered if r.get("level", "module") == "module"]
    parent = [(r, t) for r, t in answered if r.get("level") == "parent"]
    right = sum(r["value"] == t for r, t in leaf) + sum(t.startswith(r["value"] + "/") for r, t in parent)
    return {"answered": round(len(answered) / len(y), 4), "answered_leaf": round(len(leaf) / len(y), 4),
            "answered_parent": round(len(parent) / len(y), 4),
            "precision_of_answers": round(right / len(answered), 4) if answered else None,
            "leaf_top1_accuracy": round(float(np.mean([r["top"][0]["value"] == t
                                                       for r, t in zip(results, y, strict=True)])), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench/results/module_hierarchy.json"))
    args = ap.parse_args()
    require_datasets("rutube-support-ru")
    df = load_tickets([SHARED / "rutube-support-ru" / "cases.csv"], Mapping(columns={
        "body": "Вопрос пользователя", "l1": "Классификатор 1 уровня", "l2": "Классификатор 2 уровня"}))
    y = (df["l1"].astype(str).str.strip() + "/" + df["l2"].astype(str).str.strip()).to_numpy(dtype=object)
    settings = Settings()
    emb = CachedEmbedder(load_embedder(settings.embedder, cache_dir=settings.cache_dir,
                                       max_tokens=settings.max_tokens), settings.cache_dir / "embeddings.sqlite")
    feats = Features(df["text"].tolist(), emb.encode(df["text"].tolist(), progress=True))
    tr, te = train_test_split(np.arange(len(y)), test_size=0.25, stratify=df["l1"].astype(str), random_state=0)
    out = {}
    for name, sep in (("leaves only (no hierarchy)", None), ("parent fallback (default)", "/")):
        head = ModuleHead(target_precision=0.8, min_class_size=3, cv=3, separator=sep)
        head.fit(feats.subset(tr), y[tr])
        keep = np.isin(y[te], head.classes_)
        out[name] = {**score(head.predict_results(feats.subset(te[keep])), y[te][keep]),
                     "n_test": int(keep.sum()), "n_test_unseen_leaf": int((~keep).sum()),
                     "leaves": len(head.classes_), "threshold": round(float(head.threshold_), 4)}
        print(name, json.dumps(out[name]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"dataset": "rutube-support-ru", "module": "level1/level2", **out},
                                   ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
