"""Does fine-tuning the transformer itself on the components close the Firefox gap?

Supervised fine-tuning of multilingual-e5-small (mean pooling + a linear layer, cross-entropy with
label smoothing, word embeddings frozen as in `training/finetune.py`) on the 5,199 training bugs of
bench/module.py's split, then its test probabilities alone and averaged with the TF-IDF + LR
baseline's. Epochs, learning rates and the window were fixed before the run, not searched: each
epoch's test figures are printed as a learning curve (a diagnostic; nothing is selected on them).

    python bench/module_finetune.py --out bench/results/module_finetune.json   # ~37 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from module import baseline_proba, firefox_features
from sklearn.model_selection import train_test_split

from training._metrics import head_metrics
from triage import Settings, load_embedder
from triage._embedding import E5_PREFIXES

PRECISION = 0.8


def ranks(probs: np.ndarray, classes: np.ndarray, y: np.ndarray) -> dict[str, float]:
    m = head_metrics(classes.astype(object), probs, y, 1.01, PRECISION)
    return {k: round(float(m[k]), 4) for k in ("accuracy", "top3_accuracy", "macro_f1")}


class Tuner:
    """The transformer plus a linear layer over its mean-pooled tokens."""

    def __init__(self, folder: Path, n_classes: int, max_tokens: int, steps: int) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch, self.max_tokens = torch, max_tokens
        self.tok, self.model = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder)
        self.model.embeddings.word_embeddings.weight.requires_grad_(False)
        self.head = torch.nn.Linear(self.model.config.hidden_size, n_classes)
        body = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW([{"params": body}, {"params": self.head.parameters()}], weight_decay=0.01)
        self.sched = torch.optim.lr_scheduler.OneCycleLR(self.opt, max_lr=[5e-5, 1e-3], total_steps=steps,
                                                         pct_start=0.1)

    def logits(self, texts: list[str]) -> Any:
        batch = self.tok(texts, truncation=True, max_length=self.max_tokens, padding=True, return_tensors="pt")
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"][..., None]
        return self.head((hidden * mask).sum(1) / mask.sum(1))

    def step(self, texts: list[str], labels: np.ndarray) -> None:
        loss = self.torch.nn.functional.cross_entropy(self.logits(texts), self.torch.tensor(labels),
                                                      label_smoothing=0.1)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.sched.step()

    def proba(self, texts: list[str]) -> np.ndarray:
        self.model.eval()
        with self.torch.no_grad():
            out = [self.torch.softmax(self.logits(texts[s:s + 64]), -1).numpy() for s in range(0, len(texts), 64)]
        self.model.train()
        return np.vstack(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--out", type=Path, default=Path("bench/results/module_finetune.json"))
    args = ap.parse_args()
    import torch
    from tqdm.auto import tqdm

    torch.manual_seed(0)
    df, feats = firefox_features()
    texts = [E5_PREFIXES["query"] + t for t in feats.texts]
    y = df["module"].astype(str).to_numpy(dtype=object)
    classes, yi = np.unique(y, return_inverse=True)
    tr, te = train_test_split(np.arange(len(y)), test_size=0.25, stratify=y, random_state=0)
    base_classes, base_probs = baseline_proba(np.asarray(feats.texts, dtype=object), y, tr, te)
    assert list(base_classes) == list(classes)
    steps = args.epochs * -(-len(tr) // args.batch_size)
    settings = Settings()  # the converted default model's folder (TRIAGE_CACHE_DIR), as `--finetune` finds it
    folder = Path(load_embedder("e5-small", cache_dir=settings.cache_dir).source)
    tuner, rng, started = Tuner(folder, len(classes), args.max_tokens, steps), np.random.default_rng(0), time.time()
    curve = []
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(tr)
        for s in tqdm(range(0, len(order), args.batch_size), desc=f"epoch {epoch}", unit="batch"):
            idx = order[s:s + args.batch_size]
            tuner.step([texts[i] for i in idx], yi[idx])
        probs = tuner.proba([texts[i] for i in te])
        curve.append({"epoch": epoch, "minutes": round((time.time() - started) / 60, 1),
                      "tuned": ranks(probs, classes, y[te]),
                      "tuned_plus_baseline": ranks((probs + base_probs) / 2, classes, y[te])})
        print(json.dumps(curve[-1]), flush=True)
    result = {"split": "75/25 stratified, seed 0", "max_tokens": args.max_tokens, "epochs": args.epochs,
              "baseline": ranks(base_probs, classes, y[te]),
              "curve": curve}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
