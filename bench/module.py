"""Module suggestion on real bugs: Firefox components (37), against the TF-IDF + LR baseline.

Same split as the baseline in ../shared/datasets/README.md (75/25 stratified, seed 0).
Each variant adds one idea to the one before, so the table shows which helps:
the README baseline, the existing hybrid LabelHead, the subject line as its own n-gram block,
neighbours alone, and the blend of the linear model with neighbours (the module head).

    python bench/module.py --out bench/results/module.json          # ~15 min the first time (embedding)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_union

from training._metrics import head_metrics
from triage import CachedEmbedder, Mapping, Settings, load_embedder, load_tickets
from triage.heads import Features, LabelHead
from triage.heads.module import ModuleHead

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
FIREFOX = SHARED / "firefox-components" / "Bugzilla_Firefox_Task3.csv"
FIREFOX_MAP = Mapping(columns={"subject": "IssueTitle", "body": "Description", "module": "ComponentName"})
PRECISION = 0.8


def firefox_features(embedder: str = "e5-small") -> tuple[Any, Features]:
    """The tickets (ComponentName's trailing newline is stripped by the loader) and their cached embeddings."""
    df = load_tickets([FIREFOX], FIREFOX_MAP)
    settings = Settings(embedder=embedder)
    emb = CachedEmbedder(load_embedder(embedder, cache_dir=settings.cache_dir, max_tokens=settings.max_tokens),
                         settings.cache_dir / "embeddings.sqlite")
    texts = df["text"].tolist()
    feats = Features(texts, emb.encode(texts, kind="query", progress=True))
    emb.close()
    return df, feats


def baseline(texts: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray) -> dict[str, Any]:
    vec = make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                     TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2))
    lr = LogisticRegression(max_iter=3000)
    lr.fit(vec.fit_transform(texts[tr]), y[tr])
    probs = lr.predict_proba(vec.transform(texts[te]))
    return head_metrics(lr.classes_.astype(object), probs, y[te], 1.01, PRECISION)


def variants() -> dict[str, Any]:
    common = {"target": "module", "target_precision": PRECISION}
    return {
        "LabelHead hybrid (existing)": lambda: LabelHead(**common),
        "+ subject as own n-gram block": lambda: ModuleHead(**common, knn_weight=0.0),
        "neighbours only (kNN, k=30)": lambda: ModuleHead(**common, knn_weight=1.0),
        "ModuleHead: blend, no subject block": lambda: ModuleHead(**common, title_weight=0.0),
        "ModuleHead: blend + subject block (default)": lambda: ModuleHead(**common),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embedder", default="e5-small")
    ap.add_argument("--only", nargs="*", help="Run only variants whose name contains one of these words.")
    ap.add_argument("--out", type=Path, default=Path("bench/results/module.json"))
    args = ap.parse_args()
    df, feats = firefox_features(args.embedder)
    texts = np.asarray(feats.texts, dtype=object)
    y = df["module"].astype(str).to_numpy(dtype=object)
    tr, te = train_test_split(np.arange(len(y)), test_size=0.25, stratify=y, random_state=0)
    runs: dict[str, Any] = {"baseline TF-IDF + LR (README)": lambda: baseline(texts, y, tr, te)}
    for name, make in variants().items():
        if args.only and not any(w in name for w in args.only):
            continue
        runs[name] = lambda make=make: _head_run(make(), feats, y, tr, te)
    results = []
    for name, run in runs.items():
        t0 = time.perf_counter()
        m = run()
        m.update(method=name, seconds=round(time.perf_counter() - t0, 1))
        results.append(m)
        print(json.dumps(m), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"dataset": "firefox-components", "split": "75/25 stratified seed 0",
                                    "n_train": len(tr), "n_test": len(te), "results": results}, indent=1))
    print_table(results)


def _head_run(head: Any, feats: Features, y: np.ndarray, tr: np.ndarray, te: np.ndarray) -> dict[str, Any]:
    head.fit(feats.subset(tr), y[tr])
    m = head_metrics(head.classes_, head.predict_proba(feats.subset(te)), y[te], head.threshold_, PRECISION)
    m["chosen"] = {k: getattr(head, k) for k in ("alpha_", "dense_weight_", "knn_weight_") if hasattr(head, k)}
    return m


def print_table(results: list[dict[str, Any]]) -> None:
    print("| method | top-1 | top-3 | macro-F1 | coverage@80% precision | answered / precision at head threshold "
          "| ECE | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for m in results:
        prec = f"{m['threshold_precision']:.3f}" if m["threshold_precision"] else "-"
        print(f"| {m['method']} | {m['accuracy']:.3f} | {m['top3_accuracy']:.3f} | {m['macro_f1']:.3f} | "
              f"{m['coverage_at_p80']:.3f} | {m['threshold_coverage']:.3f} / {prec} | {m['ece']:.3f} | "
              f"{m['seconds']} |")


if __name__ == "__main__":
    main()
