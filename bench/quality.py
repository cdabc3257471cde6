"""Classification quality on real data against the TF-IDF + logistic-regression baseline.

Same split as the baseline in ../shared/datasets/README.md (75/25 stratified, seed 0).
For each target: the baseline, then our head with dense, lexical and hybrid features, and the hybrid head
without its n-gram-only mix (`lexical_share=0`) to show what the mix adds. `--hybrid-only` runs just the
baselines and the two hybrid heads.

    python bench/quality.py --embedder e5-small --out bench/results/quality.json
    python bench/quality.py --hybrid-only --out bench/results/quality_lexical_mix.json
"""

from __future__ import annotations

import argparse
import glob
import json
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from _common import require_datasets, shared_datasets  # type: ignore[import-not-found]
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_union

from training._metrics import head_metrics
from triage import CachedEmbedder, ColumnMapping, Settings, load_embedder, load_tickets
from triage.heads import Features, LabelHead

SHARED = shared_datasets()


def datasets() -> list[tuple[str, Any, list[str]]]:
    multi = load_tickets(sorted(glob.glob(str(SHARED / "tickets-multilang" / "*.csv"))))
    rutube = load_tickets([SHARED / "rutube-support-ru" / "cases.csv"], ColumnMapping(columns={
        "body": "Вопрос пользователя", "category": "Классификатор 1 уровня"}))
    return [("tickets-multilang", multi, ["queue", "priority", "type"]),
            ("rutube-support-ru", rutube, ["category"])]


def baseline(texts: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray, balanced: bool) -> dict[str, Any]:
    vec = make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                     TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2))
    lr = LogisticRegression(max_iter=3000, class_weight="balanced" if balanced else None)
    lr.fit(vec.fit_transform(texts[tr]), y[tr])
    probs = lr.predict_proba(vec.transform(texts[te]))
    return head_metrics(lr.classes_.astype(object), probs, y[te], 1.01, 0.9)


def ours(feats: Features, y: np.ndarray, tr: np.ndarray, te: np.ndarray, kind: str,
         **params: Any) -> dict[str, Any]:
    head = LabelHead(target="t", features=kind, **params).fit(feats.subset(tr), y[tr])  # type: ignore[arg-type]
    return head_metrics(head.classes_, head.predict_proba(feats.subset(te)), y[te], head.threshold_, 0.9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embedder", default="e5-small")
    ap.add_argument("--out", type=Path, default=Path("bench/results/quality.json"))
    ap.add_argument("--hybrid-only", action="store_true", help="skip the dense-only and lexical-only heads")
    args = ap.parse_args()
    require_datasets("tickets-multilang", "rutube-support-ru")
    settings = Settings(embedder=args.embedder)
    emb = CachedEmbedder(load_embedder(args.embedder, cache_dir=settings.cache_dir, max_tokens=settings.max_tokens,
                                       onnx=settings.onnx_graph),  # TRIAGE_INT8=1: the int8 graph
                         settings.cache_dir / "embeddings.sqlite")
    results = []
    for name, df, targets in datasets():
        texts = df["text"].to_numpy(dtype=object)
        feats = Features(list(texts), emb.encode(list(texts), progress=True))
        for target in targets:
            y = df[target].astype(str).str.strip().to_numpy(dtype=object)
            tr, te = train_test_split(np.arange(len(y)), test_size=0.25, stratify=y, random_state=0)
            runs = {"baseline tfidf+LR": partial(baseline, texts, y, tr, te, False),
                    "baseline tfidf+LR balanced": partial(baseline, texts, y, tr, te, True),
                    **{f"ours {kind}": partial(ours, feats, y, tr, te, kind)
                       for kind in (("hybrid",) if args.hybrid_only else ("dense", "lexical", "hybrid"))},
                    "ours hybrid, no lexical mix": partial(ours, feats, y, tr, te, "hybrid", lexical_share=0.0)}
            for method, run in runs.items():
                t0 = time.perf_counter()
                m = run()
                m.update(dataset=name, target=target, method=method, seconds=round(time.perf_counter() - t0, 1))
                results.append(m)
                print(json.dumps(m, ensure_ascii=False), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"embedder": emb.model_id, "results": results}, ensure_ascii=False, indent=1))
    print_table(results)


def print_table(results: list[dict[str, Any]]) -> None:
    print("| dataset | target | method | macro-F1 | accuracy | top-3 | coverage@90% precision | "
          "coverage / precision at head threshold |")
    print("|---|---|---|---|---|---|---|---|")
    for m in results:
        print(f"| {m['dataset']} | {m['target']} | {m['method']} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} | "
              f"{m['top3_accuracy']:.3f} | {m['coverage_at_p90']:.3f} | "
              f"{m['threshold_coverage']:.3f} / {m['threshold_precision'] if m['threshold_precision'] else '-'} |")


if __name__ == "__main__":
    main()
