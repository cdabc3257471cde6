"""Escalation completeness: cross-system quality on bug-report-quality, a Russian test set, latency.

1. bug-report-quality (760 reports, 6 systems): leave-one-system-out — train on five systems, test on the
   sixth — for four detectors: cue table only (per-level rates fitted on the training systems),
   structure (logistic regression on cue + per-pattern features), embedding only, and both (learned).
   Per split and pooled over the six test systems: F1 of the
   present class for S2R / EB / OB, precision / recall of detecting a MISSING S2R and a MISSING EB
   (anchor: Chaparro et al., FSE 2017: missing EB 85.9 / 93.2, missing S2R 69.2 / 83.0), and the
   "always missing" baseline. Also stratified 10-fold over all systems mixed (closer to the FSE setting).
2. data/escalations_ru (written by the project, labelled per item; a test set only): per-item F1 of all
   seven items for the label-free head `triage train` ships on data without item labels, and for heads
   trained on all of bug-report-quality (cross-language transfer).
3. data/demo: how well the score separates tickets L3 bounced (info_requested), 5-fold.
4. Latency added per ticket (the embedding is shared with /v1/classify; shown apart).

    python bench/completeness.py --out bench/results/completeness.json
    python bench/completeness.py --fit-default-table     # prints the DEFAULT_TABLE rows for S2R/EB/OB
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from triage import CachedEmbedder, Settings, load_embedder, load_tickets
from triage._data import ticket_text
from triage.heads import Features
from triage.heads._evidence import ITEMS, cue_levels, find_cues
from triage.heads.completeness import DEFAULT_TABLE, CompletenessHead, fit_table

REPO = Path(__file__).resolve().parents[1]
from _common import require_datasets, shared_datasets  # type: ignore[import-not-found]  # noqa: E402

BRQ = shared_datasets() / "bug-report-quality" / "bug_reports_ob_eb_s2r.csv"
RU = REPO / "data" / "escalations_ru" / "escalations.jsonl"
COLS = {"steps_to_reproduce": "has_s2r", "expected_behavior": "has_eb", "observed_behavior": "has_ob"}
VARIANTS = ("cues", "structure", "dense", "combined")


def load_brq() -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    df = pd.read_csv(BRQ)
    texts = [ticket_text(t, d) for t, d in zip(df["title"].fillna(""), df["description"].fillna(""), strict=True)]
    return texts, df["system"].to_numpy(), {item: df[col].astype(bool).to_numpy() for item, col in COLS.items()}


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """Present-class F1, and precision / recall of flagging the item MISSING (p < 0.5, or a given bool cut)."""
    pred, miss = (p if p.dtype == bool else p >= 0.5), ~y
    pmiss = ~pred
    return {"n": len(y), "present_f1": round(float(f1_score(y, pred, zero_division=0)), 4),
            "missing_precision": round(float(precision_score(miss, pmiss, zero_division=0)), 4),
            "missing_recall": round(float(recall_score(miss, pmiss, zero_division=0)), 4),
            "missing_f1": round(float(f1_score(miss, pmiss, zero_division=0)), 4),
            "missing_share": round(float(miss.mean()), 4)}


def cross_system(feats: Features, systems: np.ndarray, y: dict[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {"splits": {}, "pooled": {}}
    pooled = {v: np.zeros((len(feats), len(COLS))) for v in VARIANTS}
    for system in sorted(set(systems)):
        tr, te = np.flatnonzero(systems != system), np.flatnonzero(systems == system)
        split: dict[str, Any] = {}
        for variant in VARIANTS:
            head = CompletenessHead(features=variant).fit(feats.subset(tr), {k: v[tr] for k, v in y.items()})
            p = head.predict_proba(feats.subset(te))[:, [ITEMS.index(k) for k in COLS]]
            pooled[variant][te] = p
            split[variant] = {item: scores(y[item][te], p[:, j]) for j, item in enumerate(COLS)}
        out["splits"][system] = split
        print(system, {v: {k[:5]: (s["missing_precision"], s["missing_recall"]) for k, s in split[v].items()}
                       for v in VARIANTS}, flush=True)
    for variant in VARIANTS:
        out["pooled"][variant] = {item: scores(y[item], pooled[variant][:, j]) for j, item in enumerate(COLS)}
    out["operating_points"] = {v: {item: {f"{cut:.2f}": scores(y[item], pooled[v][:, j] >= cut)
                                          for cut in (0.5, 0.6, 0.7, 0.8, 0.9)}
                                   for j, item in enumerate(COLS) if item != "observed_behavior"}
                               for v in ("cues", "structure")}
    out["pooled"]["always_missing"] = {item: scores(y[item], np.zeros(len(feats))) for item in COLS}
    out["macro_over_splits"] = {v: {item: {m: round(float(np.mean([out["splits"][s][v][item][m]
                                                                   for s in out["splits"]])), 4)
                                           for m in ("present_f1", "missing_precision", "missing_recall")}
                                    for item in COLS} for v in VARIANTS}
    return out


def mixed_folds(feats: Features, systems: np.ndarray, y: dict[str, np.ndarray]) -> dict[str, Any]:
    """Stratified 10-fold CV over all systems mixed: closer to how the FSE 2017 figures were obtained."""
    out: dict[str, Any] = {}
    strata = np.array([f"{s}-{a}-{b}" for s, a, b in zip(systems, y["steps_to_reproduce"], y["expected_behavior"],
                                                         strict=True)])
    for variant in ("cues", "structure"):
        pooled = np.zeros((len(feats), len(COLS)))
        for tr, te in StratifiedKFold(10, shuffle=True, random_state=0).split(strata, strata):
            head = CompletenessHead(features=variant).fit(feats.subset(tr), {k: v[tr] for k, v in y.items()})
            pooled[te] = head.predict_proba(feats.subset(te))[:, [ITEMS.index(k) for k in COLS]]
        out[variant] = {item: scores(y[item], pooled[:, j]) for j, item in enumerate(COLS)}
    return out


def russian(embedder: Any, brq_feats: Features, brq_y: dict[str, np.ndarray]) -> dict[str, Any]:
    recs = [json.loads(line) for line in RU.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [ticket_text(r["subject"], r["body"]) for r in recs]
    feats = Features(texts, embedder.encode(texts, kind="query"))
    y = {item: np.array([r["labels"][item] for r in recs]) for item in ITEMS}
    heads = {"cues_default (no item labels: what `triage train` on demo data ships)": CompletenessHead().fit(feats)}
    for variant in VARIANTS:
        heads[f"trained on bug-report-quality: {variant}"] = CompletenessHead(features=variant).fit(brq_feats, brq_y)
    out: dict[str, Any] = {"n": len(recs), "positives": {k: int(v.sum()) for k, v in y.items()}, "heads": {}}
    for name, head in heads.items():
        p = head.predict_proba(feats)
        res = {item: scores(y[item], p[:, k]) for k, item in enumerate(ITEMS)}
        res["macro_present_f1"] = round(float(np.mean([res[i]["present_f1"] for i in ITEMS])), 4)
        res["brier"] = round(float(np.mean([(p[:, k] - y[i]) ** 2 for k, i in enumerate(ITEMS)])), 4)
        out["heads"][name] = res
        print("RU", name, {i[:6]: res[i]["present_f1"] for i in ITEMS}, res["macro_present_f1"], flush=True)
    return out


def bounced(embedder: Any) -> dict[str, Any]:
    df = load_tickets([REPO / "data" / "demo" / "tickets.csv"])
    feats = Features(df["text"].tolist(), embedder.encode(df["text"].tolist(), kind="query"))
    b = df["info_requested"].fillna(False).astype(bool).to_numpy()
    held = np.zeros(len(df))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(held, b):
        head = CompletenessHead().fit(feats.subset(tr), bounced=b[tr])
        held[te] = [r["score"] for r in head.predict_results(feats.subset(te))]
    full = CompletenessHead().fit(feats, bounced=b)
    ready = np.array([r["ready_for_l3"] for r in full.predict_results(feats)])
    return {"n": len(df), "bounced": int(b.sum()), "auc_accepted_vs_bounced_5fold": round(float(
        roc_auc_score(~b, held)), 4), "threshold": full.ready_threshold_,
        "bounced_caught": round(float((~ready[b]).mean()), 4), "accepted_flagged": round(float((~ready[~b]).mean()), 4),
        "weights": full.bounce_info_.get("weights")}


def latency(base: Any, brq_feats: Features, brq_y: dict[str, np.ndarray]) -> dict[str, Any]:
    ticket = json.loads(RU.read_text(encoding="utf-8").splitlines()[0])
    text = ticket_text(ticket["subject"], ticket["body"])
    out = {}
    heads = {"label_free": CompletenessHead().fit(brq_feats.subset(np.arange(50))),
             "learned_structure": CompletenessHead().fit(brq_feats, brq_y),
             "learned_combined": CompletenessHead(features="combined").fit(brq_feats, brq_y)}
    for name, head in heads.items():
        one = Features([text], brq_feats.dense[:1])
        times = []
        for _ in range(50):
            t0 = time.perf_counter()
            head.predict_results(one, languages=["ru"])
            times.append((time.perf_counter() - t0) * 1000)
        out[f"{name}_ms_median"] = round(float(np.median(times)), 3)
        out[f"{name}_ms_p95"] = round(float(np.percentile(times, 95)), 3)
    times = []
    for i in range(10):
        t0 = time.perf_counter()
        base.encode([f"{text} #{i}"], kind="query")
        times.append((time.perf_counter() - t0) * 1000)
    out["embedding_one_ticket_ms_median (shared with classify)"] = round(float(np.median(times)), 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embedder", default="e5-small")
    ap.add_argument("--out", type=Path, default=Path("bench/results/completeness.json"))
    ap.add_argument("--fit-default-table", action="store_true")
    args = ap.parse_args()
    require_datasets("bug-report-quality")
    texts, systems, y = load_brq()
    if args.fit_default_table:
        levels = np.array([cue_levels(find_cues(t)) for t in texts])
        for item in COLS:
            k = ITEMS.index(item)
            print(item, tuple(fit_table(levels[:, k], y[item].astype(int), DEFAULT_TABLE[item])),
                  np.bincount(levels[:, k], minlength=4).tolist())
        return
    settings = Settings(embedder=args.embedder)
    base = load_embedder(args.embedder, cache_dir=settings.cache_dir, max_tokens=settings.max_tokens)
    embedder = CachedEmbedder(base, settings.cache_dir / "embeddings.sqlite")
    feats = Features(texts, embedder.encode(texts, kind="query", batch_size=16, progress=True))
    result = {"embedder": base.model_id, "cross_system": cross_system(feats, systems, y),
              "mixed_10fold": mixed_folds(feats, systems, y),
              "russian": russian(embedder, feats, y), "demo_bounced": bounced(embedder),
              "latency": latency(base, feats, y)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps({k: result["cross_system"]["pooled"][k] for k in result["cross_system"]["pooled"]}, indent=1))
    print(json.dumps(result["demo_bounced"]), json.dumps(result["latency"]))


if __name__ == "__main__":
    main()
