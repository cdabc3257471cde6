"""Can missing S2R / EB recall reach the FSE 2017 anchor across systems without losing precision? (issue 18)

Leave-one-system-out on bug-report-quality (as bench/completeness.py), for detectors that were candidates
to close the recall gap: the shipped `structure` logistic regression at other regularisations, the same
features plus TF-IDF word n-grams (min_df 10 over five systems: generic words, not topics), and the
average of the cue table's and the structure model's probabilities. For each, the pooled precision /
recall of flagging the item MISSING at the default cut (p < 0.5) and the best recall at any cut whose
precision still reaches the anchor (S2R 69.2, EB 85.9). No embeddings: runs in a few minutes.

    python bench/completeness_recall.py --out bench/results/completeness_recall.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from _common import require_datasets, shared_datasets  # type: ignore[import-not-found]
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_score, recall_score
from sklearn.preprocessing import StandardScaler

from triage._data import ticket_text
from triage.heads import Features
from triage.heads._cues import ITEMS
from triage.heads.completeness import CompletenessHead

ANCHOR = {"steps_to_reproduce": (69.2, 83.0), "expected_behavior": (85.9, 93.2)}
COLS = {"steps_to_reproduce": "has_s2r", "expected_behavior": "has_eb"}
Predict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench/results/completeness_recall.json"))
    args = ap.parse_args()
    require_datasets("bug-report-quality")
    df = pd.read_csv(shared_datasets() / "bug-report-quality" / "bug_reports_ob_eb_s2r.csv")
    texts = [ticket_text(t, d) for t, d in zip(df["title"].fillna(""), df["description"].fillna(""), strict=True)]
    systems = df["system"].to_numpy()
    _, _, feats = CompletenessHead._cues(texts)
    empty = Features(texts, np.zeros((len(texts), 1)))

    def structure(c: float) -> Predict:
        def run(tr: np.ndarray, te: np.ndarray, y: np.ndarray) -> np.ndarray:
            sc = StandardScaler().fit(feats[tr])
            model = LogisticRegression(C=c, max_iter=3000).fit(sc.transform(feats[tr]), y[tr])
            return model.predict_proba(sc.transform(feats[te]))[:, 1]  # type: ignore[no-any-return]
        return run

    def with_ngrams(c: float, cue_scale: float, word_weight: float) -> Predict:
        def run(tr: np.ndarray, te: np.ndarray, y: np.ndarray) -> np.ndarray:
            vec = TfidfVectorizer(ngram_range=(1, 2), min_df=10, sublinear_tf=True, max_features=20000)
            a, b = vec.fit_transform([texts[i] for i in tr]), vec.transform([texts[i] for i in te])
            sc = StandardScaler().fit(feats[tr])
            xa = sp.hstack([sp.csr_matrix(sc.transform(feats[tr]) * cue_scale), a * word_weight]).tocsr()
            xb = sp.hstack([sp.csr_matrix(sc.transform(feats[te]) * cue_scale), b * word_weight]).tocsr()
            return LogisticRegression(C=c, max_iter=3000).fit(xa, y[tr]).predict_proba(xb)[:, 1]  # type: ignore[no-any-return]
        return run

    def blend(item: str, w: float) -> Predict:
        k = ITEMS.index(item)

        def run(tr: np.ndarray, te: np.ndarray, y: np.ndarray) -> np.ndarray:
            labels = {item: y[tr]}
            train, test = empty.subset(tr), empty.subset(te)
            cues = CompletenessHead(features="cues").fit(train, labels).predict_proba(test)
            struct = CompletenessHead(features="structure").fit(train, labels).predict_proba(test)
            return w * cues[:, k] + (1 - w) * struct[:, k]  # type: ignore[no-any-return]
        return run

    results: list[dict[str, Any]] = []
    for item, col in COLS.items():
        y = df[col].astype(bool).to_numpy()
        candidates: dict[str, Predict] = {
            **{f"structure C={c}": structure(c) for c in (0.01, 0.05, 0.2)},
            **{f"structure + word n-grams C={c} cues x{s} words x{w}": with_ngrams(c, s, w)
               for c, s, w in ((0.05, 1.0, 1.0), (0.1, 0.5, 2.0), (0.2, 0.3, 3.0))},
            **{f"cue table x{w} + structure x{1 - w:.1f}": blend(item, w) for w in (0.3, 0.5, 0.7)}}
        for name, run in candidates.items():
            p = np.zeros(len(texts))
            for system in sorted(set(systems)):
                tr, te = np.flatnonzero(systems != system), np.flatnonzero(systems == system)
                p[te] = run(tr, te, y)
            results.append({"item": item, "detector": name, **operating_points(~y, p, ANCHOR[item][0])})
            print(json.dumps(results[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"anchor": ANCHOR, "results": results}, indent=1), encoding="utf-8")


def operating_points(missing: np.ndarray, p: np.ndarray, anchor_precision: float) -> dict[str, Any]:
    def at(cut: float) -> tuple[float, float]:
        flagged = p < cut
        return (round(float(precision_score(missing, flagged, zero_division=0)) * 100, 1),
                round(float(recall_score(missing, flagged, zero_division=0)) * 100, 1))

    cuts = [round(float(c), 3) for c in np.arange(0.3, 0.8, 0.025)]
    ok = [(c, *at(c)) for c in cuts if at(c)[0] >= anchor_precision]
    best = max(ok, key=lambda r: r[2]) if ok else None
    return {"default_cut": at(0.5), "best_recall_at_anchor_precision": best}


if __name__ == "__main__":
    main()
