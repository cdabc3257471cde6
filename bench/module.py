"""Module suggestion on real bugs: Firefox components (37), against the TF-IDF + LR baseline.

Same split as the baseline in ../shared/datasets/README.md (75/25 stratified, seed 0).
Rows: the README baseline, the existing hybrid LabelHead, the module head (linear model blended
with a vote of the most similar resolved bugs, share chosen out-of-fold), and the module head with
the subject line as an extra n-gram block. The module head's row also carries a test-set sweep of
the neighbours' share (a diagnostic; nothing is selected on it). Finished rows are kept in --out and
skipped on the next run (--fresh recomputes).

    python bench/module.py --out bench/results/module.json     # ~20 min cold embedding cache, then ~15
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import require_datasets, shared_datasets  # type: ignore[import-not-found]
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_union

from training._metrics import head_metrics
from triage import CachedEmbedder, Mapping, Settings, load_embedder, load_tickets
from triage.heads import Features, LabelHead
from triage.heads.module import ModuleHead

SHARED = shared_datasets()
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


def baseline_proba(texts: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The README's baseline: classes (sorted) and test-set probabilities."""
    vec = make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                     TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2))
    lr = LogisticRegression(max_iter=3000)
    lr.fit(vec.fit_transform(texts[tr]), y[tr])
    return lr.classes_.astype(object), lr.predict_proba(vec.transform(texts[te]))


def baseline(texts: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray) -> dict[str, Any]:
    classes, probs = baseline_proba(texts, y, tr, te)
    return head_metrics(classes, probs, y[te], 1.01, PRECISION)


def blend_sweep(head: ModuleHead, test: Features, y: np.ndarray) -> list[dict[str, Any]]:
    """Diagnostic only (the head picks its weight out-of-fold on training data): each share on the test set."""
    linear, (votes, _, _) = head._linear_proba(test), head._neighbours(test)
    out = []
    for w in (0.0, 0.3, 0.5, 0.7, 1.0):
        m = head_metrics(head.classes_, (1 - w) * linear + w * votes, y, 1.01, PRECISION)
        out.append({"knn_weight": w, **{k: m[k] for k in ("accuracy", "top3_accuracy", "macro_f1")}})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embedder", default="e5-small")
    ap.add_argument("--fresh", action="store_true", help="Recompute methods already in --out.")
    ap.add_argument("--out", type=Path, default=Path("bench/results/module.json"))
    args = ap.parse_args()
    require_datasets("firefox-components")
    df, feats = firefox_features(args.embedder)
    texts = np.asarray(feats.texts, dtype=object)
    y = df["module"].astype(str).to_numpy(dtype=object)
    tr, te = train_test_split(np.arange(len(y)), test_size=0.25, stratify=y, random_state=0)
    old = json.loads(args.out.read_text()) if args.out.is_file() and not args.fresh else {}
    results = {m["method"]: m for m in old.get("results", [])}
    state: dict[str, Any] = {}

    def module_head() -> dict[str, Any]:
        state["head"] = ModuleHead(target="module", target_precision=PRECISION)
        m = _head_run(state["head"], feats, y, tr, te)
        m["blend_search_oof"] = state["head"].blend_search_
        m["test_sweep"] = blend_sweep(state["head"], feats.subset(te), y[te])
        return m

    def with_subject() -> dict[str, Any]:
        chosen = results["ModuleHead: linear + neighbours (default)"]["chosen"]
        return _head_run(ModuleHead(target="module", target_precision=PRECISION, title_weight=1.0,
                                    alpha=chosen["alpha_"], dense_weight=chosen["dense_weight_"],
                                    knn_weight=chosen["knn_weight_"]), feats, y, tr, te)

    runs: dict[str, Any] = {
        "baseline TF-IDF + LR (README)": lambda: baseline(texts, y, tr, te),
        "LabelHead hybrid (existing)": lambda: _head_run(LabelHead(target="module", target_precision=PRECISION),
                                                         feats, y, tr, te),
        "ModuleHead: linear + neighbours (default)": module_head,
        "ModuleHead + subject line as its own n-gram block": with_subject,
    }
    for name, run in runs.items():
        if name in results:
            continue
        t0 = time.perf_counter()
        m = run()
        m.update(method=name, seconds=round(time.perf_counter() - t0, 1))
        results[name] = m
        print(json.dumps(m), flush=True)
        _save(args.out, list(results.values()), len(tr), len(te))
    print_table(list(results.values()))


def _save(out: Path, results: list[dict[str, Any]], n_train: int, n_test: int) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"dataset": "firefox-components", "split": "75/25 stratified seed 0",
                               "n_train": n_train, "n_test": n_test, "results": results}, indent=1))


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
