"""Cross-fitted SetFit tuning of the embedder for the label heads, against the untuned head and the baseline.

Same split as bench/quality.py (75/25 stratified, seed 0; `--train-rows` subsamples the training part,
stratified). The embedder is tuned on `--tune-share` of the training tickets within `--budget` seconds;
the head then chooses between the shared and the tuned embeddings by out-of-fold macro-F1 on the
training tickets the tuning never saw, and is calibrated on those only (`LabelHead(honest=...)`).

    python bench/label_tuning.py --dataset rutube --out bench/results/label_tuning_rutube.json
    python bench/label_tuning.py --dataset multilang --target type --train-rows 400 --out ...
"""

from __future__ import annotations

import argparse
import glob
import json
import resource
import tempfile
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
from training.finetune import finetune
from training.label_tuning import tune_split, tuned_embedder
from triage import CachedEmbedder, ColumnMapping, Settings, load_embedder, load_tickets
from triage.heads import Features, LabelHead

SHARED = shared_datasets()


def load(name: str) -> Any:
    if name == "rutube":
        return load_tickets([SHARED / "rutube-support-ru" / "cases.csv"], ColumnMapping(columns={
            "body": "Вопрос пользователя", "category": "Классификатор 1 уровня"}))
    return load_tickets(sorted(glob.glob(str(SHARED / "tickets-multilang" / "*.csv"))))


def baseline(texts: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray) -> dict[str, Any]:
    vec = make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                     TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2))
    lr = LogisticRegression(max_iter=3000, class_weight="balanced")
    lr.fit(vec.fit_transform(texts[tr]), y[tr])
    return head_metrics(lr.classes_.astype(object), lr.predict_proba(vec.transform(texts[te])), y[te], 1.01, 0.9)


def head_run(feats: Features, y: np.ndarray, tr: np.ndarray, te: np.ndarray, embeddings: str,
             honest: np.ndarray | None) -> dict[str, Any]:
    head = LabelHead(target="t", embeddings=embeddings).fit(feats.subset(tr), y[tr], honest=honest)
    m = head_metrics(head.classes_, head.predict_proba(feats.subset(te)), y[te], head.threshold_, 0.9)
    m.update(chosen=head.dense_source_, oof_precision=head.abstain_.precision, oof_coverage=head.abstain_.coverage,
             rule=head.abstain_.rule, calibrated_on=head.calibrated_on_)
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["rutube", "multilang"], default="rutube")
    ap.add_argument("--target", default="category")
    ap.add_argument("--train-rows", type=int, default=0, help="subsample the training part (0: all)")
    ap.add_argument("--test-rows", type=int, default=0, help="subsample the test part (0: all)")
    ap.add_argument("--tune-share", type=float, default=0.5)
    ap.add_argument("--budget", type=float, default=600.0)
    ap.add_argument("--pairs-per-text", type=int, default=4)
    ap.add_argument("--tune-tokens", type=int, default=128)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    require_datasets("rutube-support-ru" if args.dataset == "rutube" else "tickets-multilang")
    df = load(args.dataset)
    y_all = df[args.target].astype(str).str.strip().to_numpy(dtype=object)
    tr, te = train_test_split(np.arange(len(y_all)), test_size=0.25, stratify=y_all, random_state=0)
    if args.train_rows and args.train_rows < len(tr):
        tr = np.sort(train_test_split(tr, train_size=args.train_rows, stratify=y_all[tr], random_state=0)[0])
    if args.test_rows and args.test_rows < len(te):
        te = np.sort(train_test_split(te, train_size=args.test_rows, stratify=y_all[te], random_state=0)[0])
    rows = np.concatenate([tr, te])
    texts, y = df["text"].to_numpy(dtype=object)[rows], y_all[rows]
    tr, te = np.arange(len(tr)), np.arange(len(tr), len(rows))
    settings = Settings()
    base = load_embedder("e5-small", cache_dir=settings.cache_dir, max_tokens=settings.max_tokens)
    cached = CachedEmbedder(base, settings.cache_dir / "embeddings.sqlite")
    dense = cached.encode(list(texts), progress=True)
    results: list[dict[str, Any]] = []

    def record(method: str, m: dict[str, Any]) -> None:
        m.update(method=method, dataset=args.dataset, target=args.target, train=len(tr), test=len(te))
        results.append(m)
        print(json.dumps(m, ensure_ascii=False), flush=True)

    record("baseline tfidf+LR balanced", baseline(texts, y, tr, te))
    plain = Features(list(texts), dense)
    record("ours hybrid, shared embedder", head_run(plain, y, tr, te, "base", None))
    tuned_local = tune_split(y[tr], args.tune_share, seed=0)  # indices into tr the tuning sees
    folder = Path(tempfile.mkdtemp(prefix="triage-lt-"))
    t0 = time.perf_counter()
    run = finetune(Path(base.source), [texts[i] for i in tr[tuned_local]], list(y[tr][tuned_local]),  # type: ignore[attr-defined]
                   folder, max_tokens=args.tune_tokens, pairs_per_text=args.pairs_per_text, time_budget=args.budget)
    emb = tuned_embedder(folder, "bench-tuned", settings.max_tokens)
    tuned = emb.encode(list(texts), progress=True)
    seconds = time.perf_counter() - t0
    honest = np.ones(len(tr), bool)
    honest[tuned_local] = False
    feats = Features(list(texts), dense, tuned=tuned)
    record("ours hybrid, tuned, calibrated on all (optimistic)", head_run(feats, y, tr, te, "tuned", None))
    record("ours hybrid, tuned, cross-fit", head_run(feats, y, tr, te, "tuned", honest))
    record("ours hybrid, auto (default)", head_run(feats, y, tr, te, "auto", honest))
    summary = {"tuning": run.__dict__, "tune_and_embed_seconds": round(seconds, 1),
               "args": {k: str(v) for k, v in vars(args).items()},
               "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    print(json.dumps(summary["tuning"]), f"tune+embed {seconds:.0f}s")
    print("| method | macro-F1 | accuracy | answered / precision | ECE | chosen |\n|---|---|---|---|---|---|")
    for m in results:
        print(f"| {m['method']} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} | {m['threshold_coverage']:.3f} / "
              f"{m['threshold_precision']} | {m['ece']:.3f} | {m.get('chosen', '')} |")


if __name__ == "__main__":
    main()
