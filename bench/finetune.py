"""What SetFit-style fine-tuning of the embedder buys, on the Russian support questions.

Same split as bench/quality.py (75/25 stratified, seed 0). The embedder is tuned on the training
part only; heads with dense and hybrid features are then fitted on its embeddings.

    python bench/finetune.py --out bench/results/finetune.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import require_datasets, shared_datasets  # type: ignore[import-not-found]
from sklearn.model_selection import train_test_split

from training._metrics import head_metrics
from training.finetune import finetune, finetuned_id, load_finetuned
from triage import Mapping, Settings, load_embedder, load_tickets
from triage.heads import Features, LabelHead

SHARED = shared_datasets()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench/results/finetune.json"))
    ap.add_argument("--pairs-per-text", type=int, default=4)
    args = ap.parse_args()
    require_datasets("rutube-support-ru")
    df = load_tickets([SHARED / "rutube-support-ru" / "cases.csv"], Mapping(columns={
        "body": "Вопрос пользователя", "category": "Классификатор 1 уровня"}))
    texts, y = df["text"].tolist(), df["category"].astype(str).str.strip().to_numpy(dtype=object)
    tr, te = train_test_split(np.arange(len(y)), test_size=0.25, stratify=y, random_state=0)
    settings = Settings()
    base = load_embedder("e5-small", cache_dir=settings.cache_dir, max_tokens=settings.max_tokens)
    results = []
    t0 = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="triage-ft-"))
    finetune(Path(base.source), [texts[i] for i in tr], list(y[tr]), folder,  # type: ignore[attr-defined]
             max_tokens=base.max_tokens, pairs_per_text=args.pairs_per_text)
    tune_seconds = time.perf_counter() - t0
    tuned = load_finetuned(folder, finetuned_id(base.model_id, texts, list(y)), base.max_tokens)
    for name, emb in [("e5-small", base), ("e5-small + SetFit tuning", tuned)]:
        feats = Features(texts, emb.encode(texts, progress=True))
        for kind in ("dense", "hybrid"):
            head = LabelHead(target="category", features=kind).fit(feats.subset(tr), y[tr])  # type: ignore[arg-type]
            m = head_metrics(head.classes_, head.predict_proba(feats.subset(te)), y[te], head.threshold_, 0.9)
            m.update(embedder=name, features=kind)
            results.append(m)
            print(json.dumps(m, ensure_ascii=False), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"tune_seconds": round(tune_seconds, 1), "train_tickets": len(tr),
                                    "pairs_per_text": args.pairs_per_text, "results": results}, indent=1))
    print(f"fine-tuning took {tune_seconds:.0f}s on {len(tr)} tickets")
    print("| embedder | features | macro-F1 | accuracy | top-3 | coverage@90% |\n|---|---|---|---|---|---|")
    for m in results:
        print(f"| {m['embedder']} | {m['features']} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} | "
              f"{m['top3_accuracy']:.3f} | {m['coverage_at_p90']:.3f} |")


if __name__ == "__main__":
    main()
