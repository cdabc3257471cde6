"""Training-side wiring of the module and owner heads: feedback, owners file, drift warnings.

Kept out of `pipeline.py` so the pipeline stays a list of steps; each step
here is a few lines there.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from training._drift import label_drift, previous_labels
from training._feedback import apply_feedback
from training.options import TrainOptions
from triage._db import describe
from triage.heads import LabelHead
from triage.heads.module import ModuleHead
from triage.heads.owner import owner_head
from triage.owners import OwnersMap, load_owners

OWNERS_FILE = "owners.yaml"
# the contract §3 columns that get the neighbour-blending heads (their slots: `module`, `owner`)
NEIGHBOUR_HEADS: dict[str, Callable[..., ModuleHead]] = {"module": ModuleHead, "owner": owner_head}


def make_head(target: str, opts: TrainOptions) -> LabelHead:
    """Module and owner get the neighbour-blending heads; every other target a plain LabelHead."""
    common: dict[str, Any] = {"target": target, "features": opts.features, "target_precision": opts.target_precision,
                              "min_coverage": opts.min_coverage,
                              "cv": opts.cv, "random_state": opts.seed}
    return NEIGHBOUR_HEADS.get(target, LabelHead)(**common)


def module_fit_kwargs(df: pd.DataFrame, rows: np.ndarray, target: str) -> dict[str, Any]:
    """The ticket facts (id, title, who fixed it) a neighbour head shows as evidence."""
    if target not in NEIGHBOUR_HEADS:
        return {}
    cols = [c for c in ("id", "subject", "module", "owner") if c in df.columns]
    return {"tickets": df[cols].iloc[rows].to_dict("records")}


@dataclass
class ModuleExtra:
    owners: OwnersMap | None = None
    owners_path: Path | None = None
    feedback: dict[str, Any] | None = None
    previous_version: str | None = None
    previous: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    def finish(self, manifest: dict[str, Any], heads: dict[str, Any], console: Console) -> None:
        """Drift warnings from the final heads, the owners file into the bundle, facts into the manifest."""
        drift = {}
        for target, head in heads.items():
            if not hasattr(head, "label_counts_"):
                continue
            counts = manifest["data"]["label_counts"][target]  # all tickets, whichever split the head saw
            warnings, drift[target] = label_drift(target, counts, head.min_class_size,
                                                  self.previous.get(target) if self.previous else None,
                                                  self.previous_version)
            manifest["warnings"].extend(warnings)
        manifest["drift"] = drift
        if self.feedback is not None:
            manifest["feedback"] = self.feedback
            if self.feedback.get("conflicts"):
                manifest["warnings"].append(
                    f"feedback: reviewers disagreed on {self.feedback['conflicts']} (ticket, field) pair(s); settled "
                    "by the majority of each reviewer's latest vote, a tie by the most recent "
                    "(`triage report feedback` lists them)")
        if self.owners is not None and self.owners_path is not None:
            manifest["owners"] = self._owners_facts(heads)
            manifest["warnings"].extend(manifest["owners"]["warnings"])
            tmp = Path(tempfile.mkdtemp(prefix="triage-owners-")) / OWNERS_FILE
            tmp.write_text(self.owners.to_yaml(), encoding="utf-8")
            self.files[OWNERS_FILE] = tmp
        for line in manifest["warnings"]:
            console.print(f"[yellow]warning[/] {line}")

    def _owners_facts(self, heads: dict[str, Any]) -> dict[str, Any]:
        assert self.owners is not None
        modules = [str(c) for head in heads.values() if head.slot == "module" for c in head.classes_]
        uncovered = [m for m in modules if not self.owners.lookup(m)[0]]
        warnings = [f"owners file: no entry (nor a parent's) for modules {uncovered}; "
                    "their suggestions will list no owners"] if uncovered else []
        return {"file": str(self.owners_path), "modules": len(self.owners), "uncovered_modules": uncovered,
                "warnings": warnings}


def apply_module_options(df: pd.DataFrame, targets: list[str], out: Path,
                         opts: TrainOptions) -> tuple[pd.DataFrame, ModuleExtra]:
    """Read the owners file and the previous bundle, and relabel from feedback, before anything is fitted."""
    extra = ModuleExtra()
    if opts.owners is not None:
        extra.owners, extra.owners_path = load_owners(opts.owners), opts.owners
    extra.previous_version, extra.previous = previous_labels(opts.previous or out)
    if opts.feedback is not None:
        df, applied = apply_feedback(df, opts.feedback, targets)
        extra.feedback = {"store": describe(opts.feedback), **applied.as_dict()}  # a URL without its password
    return df, extra
