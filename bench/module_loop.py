"""Simulated L3 review loop on Firefox components: does the module head learn from corrections?

The data has no dates, so it is replayed in file order (the file is not sorted by component: every
block of 1,000 bugs holds all 37). The first `--history` bugs are the labelled history; the rest
arrive in rounds. Each round the current model suggests a module for every new bug (accuracy is
measured here, before any review), reviewers check a share of the suggestions and send
`POST /v1/feedback`-shaped records (into a real FeedbackStore, with the ticket text), and the model
is retrained from history + feedback exactly as `triage train --feedback` does (training/_feedback.py).
Unreviewed suggestions are never learned. Hyper-parameters are chosen once on the history, so a
round costs one refit.

    python bench/module_loop.py --out bench/results/module_loop.json      # embeddings from the cache
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from module import PRECISION, firefox_features

from training._feedback import apply_feedback
from triage.feedback import FeedbackStore
from triage.heads import Features, ModuleHead


def fit(feats: Features, df: pd.DataFrame, params: dict[str, Any]) -> ModuleHead:
    return ModuleHead(target_precision=PRECISION, cv=3, **params).fit(feats, df["module"].to_numpy(dtype=object))


def run_arm(share: float, df: pd.DataFrame, dense: dict[str, np.ndarray], history: int, rounds: list[np.ndarray],
            params: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    known = df.iloc[:history][["id", "subject", "body", "text", "module"]].reset_index(drop=True)
    store_dir = Path(tempfile.mkdtemp(prefix="loop-fb-"))
    store = FeedbackStore(store_dir / "feedback.sqlite")
    head = fit(_features(known, dense), known, params)
    out = []
    for r, idx in enumerate(rounds):
        batch = df.iloc[idx]
        probs = head.predict_proba(_features(batch, dense))
        pred = head.classes_[probs.argmax(axis=1)]
        y = batch["module"].to_numpy(dtype=object)
        top3 = head.classes_[np.argsort(-probs, axis=1)[:, :3]]
        out.append({"round": r + 1, "share_reviewed": share, "train_size": head.n_train_, "n": len(idx),
                    "accuracy": round(float((pred == y).mean()), 4),
                    "top3_accuracy": round(float((top3 == y[:, None]).any(axis=1).mean()), 4)})
        print(json.dumps(out[-1]), flush=True)
        reviewed = rng.random(len(idx)) < share
        for (_, t), p in zip(batch[reviewed].iterrows(), pred[reviewed], strict=True):
            store.add({"ticket_id": t["id"], "field": "module", "predicted": p, "correct": t["module"],
                       "reviewer": "sim", "subject": t["subject"], "body": t["body"]})
        if share > 0 and r + 1 < len(rounds):
            train_df, _ = apply_feedback(known, store.path, ["module"])
            head = fit(_features(train_df, dense), train_df, params)
    store.close()
    return out


def _features(df: pd.DataFrame, dense: dict[str, np.ndarray]) -> Features:
    return Features(df["text"].tolist(), np.stack([dense[i] for i in df["id"]]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--history", type=int, default=1000)
    ap.add_argument("--round-size", type=int, default=1000)
    ap.add_argument("--shares", type=float, nargs="*", default=[0.0, 0.25, 1.0])
    ap.add_argument("--out", type=Path, default=Path("bench/results/module_loop.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    df, feats = firefox_features()
    dense = dict(zip(df["id"], feats.dense, strict=True))
    known = df.iloc[:args.history]
    tuned = ModuleHead(target_precision=PRECISION).fit(_features(known, dense), known["module"].to_numpy(dtype=object))
    params = {"alpha": tuned.alpha_, "dense_weight": tuned.dense_weight_, "knn_weight": tuned.knn_weight_}
    print("hyper-parameters chosen on the history:", params, flush=True)
    stream = np.arange(args.history, len(df))
    rounds = [stream[i:i + args.round_size] for i in range(0, len(stream), args.round_size)]
    results = {f"{share:g}": run_arm(share, df, dense, args.history, rounds, params, seed=0) for share in args.shares}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"dataset": "firefox-components", "order": "file order (no dates)",
                                    "history": args.history, "round_size": args.round_size, "params": params,
                                    "seconds": round(time.perf_counter() - t0), "arms": results}, indent=1))
    print("| round | " + " | ".join(f"{float(s):.0%} reviewed: acc / top-3" for s in results) + " |")
    print("|---|" + "---|" * len(results))
    for r in range(len(rounds)):
        cells = [f"{arm[r]['accuracy']:.3f} / {arm[r]['top3_accuracy']:.3f} (n_train {arm[r]['train_size']})"
                 for arm in results.values()]
        print(f"| {r + 1} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
