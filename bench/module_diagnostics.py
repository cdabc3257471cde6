"""Why Firefox components are hard: how much the text says about the component.

Same split as bench/module.py. Neighbours alone on full-text and on subject-only embeddings, and how
often near-identical bugs share their component, and how often a bug whose title names a component's
product (e.g. "Normandy", "Pocket") is filed there (two label checks).

    python bench/module_diagnostics.py --out bench/results/module_diagnostics.json   # ~3 min cold cache
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from module import firefox_features
from sklearn.model_selection import train_test_split

from triage import CachedEmbedder, Settings, load_embedder


def knn(train: np.ndarray, test: np.ndarray, y_tr: np.ndarray, y_te: np.ndarray, k: int, tau: float,
        n_classes: int) -> dict[str, float]:
    sims = test @ train.T
    idx = np.argpartition(-sims, k, axis=1)[:, :k]
    top = np.take_along_axis(sims, idx, 1)
    weight = np.exp((top - top.max(1, keepdims=True)) / tau)
    votes = np.zeros((len(test), n_classes))
    np.add.at(votes, (np.repeat(np.arange(len(test)), k), y_tr[idx].ravel()), weight.ravel())
    rank = np.argsort(-votes, 1)[:, :3]
    return {"k": k, "tau": tau, "top1": round(float((rank[:, 0] == y_te).mean()), 4),
            "top3": round(float((rank == y_te[:, None]).any(1).mean()), 4)}


def agreement(dense: np.ndarray, y: np.ndarray, titles: np.ndarray) -> dict[str, Any]:
    sims = dense @ dense.T
    np.fill_diagonal(sims, -1)
    nearest = sims.argmax(1)
    best = sims[np.arange(len(y)), nearest]
    out: dict[str, Any] = {}
    for lo in (0.9, 0.95, 0.98):
        m = best >= lo
        same = float((y[m] == y[nearest][m]).mean())
        out[f"nearest_cos_ge_{lo}"] = {"bugs": int(m.sum()), "same_component": round(same, 4)}
    groups = defaultdict(list)
    for i, t in enumerate(titles):
        groups[t].append(i)
    pairs = [(a, b) for g in groups.values() for a in g for b in g if a < b]
    same = float(np.mean([y[a] == y[b] for a, b in pairs]))
    out["identical_titles"] = {"pairs": len(pairs), "same_component": round(same, 4)}
    return out


# words that name exactly one component's product: a title that says them is about that component
NAMED = {"PDF Viewer": ("pdf",), "Pocket": ("pocket",), "Screenshots": ("screenshot",),
         "about:logins": ("about:logins",), "Nimbus Desktop Client": ("nimbus",), "Normandy Client": ("normandy",),
         "Installer": ("installer",), "Migration": ("migrat",), "Sync": ("sync",), "Theme": ("theme",)}


def named_in_title(titles: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Share of bugs whose title names a component's product that are filed in that component."""
    out: dict[str, Any] = {}
    lower = np.array([str(t).lower() for t in titles], dtype=object)
    for component, words in NAMED.items():
        hit = np.array([any(w in t for w in words) for t in lower])
        out[component] = {"titles": int(hit.sum()), "filed_there": round(float((y[hit] == component).mean()), 4)}
    return out


def listed_twice(df: Any, y: np.ndarray) -> dict[str, Any]:
    """Identical title and description: the same bug in the file twice, which a random split can leak."""
    key = (df["subject"].astype(str) + "\x1f" + df["body"].astype(str)).to_numpy(dtype=object)
    groups = defaultdict(list)
    for i, k in enumerate(key):
        groups[k].append(i)
    twice = [g for g in groups.values() if len(g) > 1]
    same = [len({y[i] for i in g}) == 1 for g in twice]
    return {"groups": len(twice), "rows": sum(map(len, twice)), "same_component": round(float(np.mean(same)), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench/results/module_diagnostics.json"))
    args = ap.parse_args()
    df, feats = firefox_features()
    settings = Settings()
    emb = CachedEmbedder(load_embedder(settings.embedder, cache_dir=settings.cache_dir, max_tokens=64),
                         settings.cache_dir / "embeddings.sqlite")
    subject = emb.encode(df["subject"].tolist(), kind="query", progress=True)
    emb.close()
    classes, y = np.unique(df["module"].astype(str).to_numpy(), return_inverse=True)
    tr, te = train_test_split(np.arange(len(y)), test_size=0.25, stratify=y, random_state=0)
    result: dict[str, Any] = {"knn_full_text": [], "knn_subject_only": []}
    for k in (10, 30, 60):
        for tau in (0.02, 0.05, 0.1):
            result["knn_full_text"].append(knn(feats.dense[tr], feats.dense[te], y[tr], y[te], k, tau, len(classes)))
            result["knn_subject_only"].append(knn(subject[tr], subject[te], y[tr], y[te], k, tau, len(classes)))
    result["label_agreement"] = agreement(feats.dense, y, df["subject"].str.strip().str.lower().to_numpy(dtype=object))
    result["named_in_title"] = named_in_title(df["subject"].to_numpy(dtype=object), classes[y])
    result["listed_twice"] = listed_twice(df, classes[y])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
