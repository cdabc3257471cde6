"""What `triage train` may be told: the options of one training run.

Its own module because both the pipeline and the module/owner head set-up (`training._module`) read
it; kept in `training.pipeline` it made the two import each other. `training.pipeline` re-exports
it, so `from training.pipeline import TrainOptions` keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TrainOptions:
    """Every choice of one run; the defaults are what `triage train` does without flags."""

    targets: list[str] = field(default_factory=list)
    features: str = "hybrid"
    target_precision: float = 0.9
    min_coverage: float = 0.3  # the fallback when the target precision is out of reach (heads/_abstain.py)
    test_size: float = 0.2
    refit_full: bool = True
    cv: int = 5
    seed: int = 0
    mlflow: bool = True
    finetune: bool = False  # SetFit-style contrastive tuning of the embedder on the first target
    owners: Path | None = None  # owners YAML (module -> owners), copied into the bundle
    feedback: str | Path | None = None  # reviewer feedback store (a file or a database URL): relabels the data
    previous: Path | None = None  # bundle to compare labels with (default: the --out being replaced)
    kb_source: list[Path] = field(default_factory=list)  # KB articles the tickets' `kb_article` names (KB tuning)
