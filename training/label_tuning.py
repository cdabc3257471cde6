"""Cross-fitted SetFit tuning of an embedder for the label heads: when, on which tickets, within what time.

Tuning the embedder on the team's labels (`training.finetune`) buys the dense features the most on
small sets, but heads calibrated on tickets the embedder was tuned on are over-confident. So the
tuning sees only a part of the training tickets (`tune_share`, stratified); the heads are fitted on
all of them and read the shared and the tuned embeddings side by side unless one block alone clearly
wins (`triage.heads._choice`), and set their temperature and abstain threshold, by out-of-fold
predictions on the rest — tickets neither the tuning nor the fold
model saw (`LabelHead.fit(..., honest=mask)`).

The tuned model serves the label heads only (`label_embedder/` in the bundle, run through ONNX
Runtime); similar tickets, problems and the KB keep the shared embedder, so tuning for categories
never changes what retrieval finds.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from sklearn.model_selection import train_test_split

from training._module import NEIGHBOUR_HEADS  # module/owner blend neighbours over the shared embedder's vectors
from training.finetune import TuningRun, finetune, finetuned_id
from triage._embedding import E5_PREFIXES, Embedder
from triage._onnx import export_onnx
from triage.heads import Features
from triage.settings import Settings

console = Console(stderr=True)

LABEL_EMBEDDER = "label_embedder"  # the bundle folder of the tuned model
MIN_PER_CLASS = 8  # labelled training tickets of the median class before tuning is tried (measured: see BENCHMARKS)
MIN_LABELLED = 150


@dataclass
class LabelTuning:
    """A tuned embedder for the label heads and which training rows it saw."""

    embedder: Embedder
    folder: Path
    target: str
    seen: np.ndarray  # row indices of the frame the tuning saw (their tuned vectors are optimistic)
    run: TuningRun

    def honest(self, n_rows: int) -> np.ndarray:
        mask = np.ones(n_rows, bool)
        mask[self.seen] = False
        return mask

    def manifest(self) -> dict[str, Any]:
        return {"folder": LABEL_EMBEDDER, "id": self.embedder.model_id, "dim": self.embedder.dim,
                "max_tokens": self.embedder.max_tokens, "target": self.target, "tuned_on": len(self.seen),
                "run": asdict(self.run)}


def tune_split(y: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Positions of the tickets the tuning sees: `share` of them, stratified when every class allows it."""
    idx = np.arange(len(y))
    _, counts = np.unique(y.astype(str), return_counts=True)
    strat = y if counts.min() >= 2 else None
    seen, _ = train_test_split(idx, train_size=share, stratify=strat, random_state=seed)
    return np.sort(seen)


def should_tune(labels: np.ndarray, mode: str) -> tuple[bool, str]:
    """The rule for `auto` (TRIAGE_LABEL_TUNING): enough labelled tickets per class that half of them can
    tune the embedder and the other half can still judge and calibrate the heads."""
    if mode == "off":
        return False, "label tuning off (TRIAGE_LABEL_TUNING=off)"
    _, counts = np.unique(labels.astype(str), return_counts=True)
    if mode == "on":
        return len(counts) >= 2, "label tuning on (TRIAGE_LABEL_TUNING=on)"
    median = float(np.median(counts)) if len(counts) else 0.0
    if len(labels) < MIN_LABELLED or median < MIN_PER_CLASS:
        return False, (f"label tuning skipped: {len(labels)} labelled tickets, median {median:.0f} per class "
                       f"(needs {MIN_LABELLED}+ and {MIN_PER_CLASS}+)")
    return True, f"label tuning: {len(labels)} labelled tickets, median {median:.0f} per class"


def tunable(embedder: Embedder) -> bool:
    """Only a local sentence-transformers folder can be tuned (e5-small is one; the light USE backend is not)."""
    source = getattr(embedder, "source", None)
    return source is not None and Path(str(source)).is_dir()


def tuned_embedder(folder: Path, model_id: str, max_tokens: int) -> Embedder:
    """The tuned model as served: ONNX Runtime (exported into `folder/onnx` once), e5 prefixes."""
    from triage._onnx import OnnxEmbedder

    return OnnxEmbedder(folder, model_id=model_id, prefixes=E5_PREFIXES, max_tokens=max_tokens)


def tune_for_labels(base: Embedder, df: pd.DataFrame, rows: np.ndarray, target: str, settings: Settings,
                    seed: int) -> LabelTuning:
    """Tune on `tune_share` of the labelled `rows` (within the time budget); the rest stays honest."""
    if not tunable(base):
        from triage.errors import DataError

        raise DataError("label tuning needs a local sentence-transformers model (e5-small or a model folder); "
                        "set TRIAGE_LABEL_TUNING=auto or off for this embedder")
    source = str(getattr(base, "source", ""))
    y = df[target].iloc[rows].astype(str).str.strip().to_numpy(dtype=object)
    seen = rows[tune_split(y, settings.label_tuning_share, seed)]
    texts = df["text"].iloc[seen].tolist()
    labels = df[target].iloc[seen].astype(str).str.strip().tolist()
    folder = Path(tempfile.mkdtemp(prefix="triage-label-embedder-"))
    run = finetune(Path(source), texts, labels, folder, max_tokens=min(base.max_tokens, settings.label_tuning_tokens),
                   pairs_per_text=settings.label_tuning_pairs, seed=seed, time_budget=settings.label_tuning_budget)
    export_onnx(folder)
    for heavy in ("model.safetensors", "pytorch_model.bin"):  # ONNX serves it; the bundle keeps the graph only
        (folder / heavy).unlink(missing_ok=True)
    model_id = finetuned_id(base.model_id, texts, labels)
    return LabelTuning(tuned_embedder(folder, model_id, base.max_tokens), folder, target, seen, run)


def maybe_tune(base: Embedder, feats: Features, df: pd.DataFrame, train_idx: np.ndarray, targets: list[str],
               settings: Settings, forced: bool, seed: int) -> tuple[Features, LabelTuning | None, dict[str, Any]]:
    """`triage train`'s step: tune for the first label target when the rule says so; the features gain the
    tuned block. Returns the features, the tuning (None when skipped) and what the manifest records."""
    label_targets = [t for t in targets if t not in NEIGHBOUR_HEADS]
    if not label_targets:
        return feats, None, {"used": False, "reason": "no label target (module/owner keep the shared embedder)"}
    target = label_targets[0]
    values = df[target].iloc[train_idx].astype("string").str.strip()
    rows = train_idx[(values.notna() & (values != "")).to_numpy()]
    labels = df[target].iloc[rows].astype(str).str.strip().to_numpy(dtype=object)
    mode = "on" if forced else settings.label_tuning
    if mode == "auto" and not tunable(base):
        return feats, None, {"used": False, "reason": f"label tuning skipped: {base.model_id} is not a local "
                             "sentence-transformers model"}
    go, reason = should_tune(labels, mode)
    console.print(f"[bold]{reason}[/]" if go else reason)
    if not go:
        return feats, None, {"used": False, "reason": reason}
    tuning = tune_for_labels(base, df, rows, target, settings, seed)
    console.print(f"[bold]Embedding[/] {len(feats)} tickets with the tuned model ({tuning.run.pairs_done} of "
                  f"{tuning.run.pairs_planned} pairs in {tuning.run.seconds:.0f} s)")
    tuned = tuning.embedder.encode(feats.texts, kind="query", batch_size=settings.batch_size, progress=True)
    return Features(feats.texts, feats.dense, tuned=tuned), tuning, {"used": True, "reason": reason,
                                                                     **tuning.manifest()}


def fit_context(tuning: LabelTuning | None, n_rows: int, rows: np.ndarray, target: str) -> dict[str, Any]:
    """What a label head's `fit` needs to know about the tuning: which of its rows the tuning never saw."""
    if tuning is None or target in NEIGHBOUR_HEADS:
        return {}
    return {"honest": tuning.honest(n_rows)[rows]}
