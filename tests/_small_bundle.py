"""A small real bundle for API tests: ~300 in-repo demo tickets, the light USE embedder, no MLflow.

Trained once per test session (the first module asking pays ~a minute) and shared, so API tests need
nothing beside the clone. `category`, `module` and `owner` are the heads (module with the demo owners
file), which is what the review and error tests exercise; the bundle also carries the ticket history.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo" / "tickets.csv"
OWNERS = REPO / "data" / "demo" / "owners.yaml"
ROWS = 300
TARGETS = ("category", "module", "owner")

_trained: dict[str, Any] = {}


def small_bundle(tmp_path_factory: pytest.TempPathFactory, embedder: Any, cache_dir: Path) -> tuple[Path, Any]:
    """(the training CSV, the TrainResult) of the session's small bundle."""
    if "result" not in _trained:
        from training.pipeline import TrainOptions, train
        from triage import Settings

        root = tmp_path_factory.mktemp("small-bundle")
        data = root / "tickets.csv"
        pd.read_csv(DEMO, dtype=str, keep_default_na=False).head(ROWS).to_csv(data, index=False)
        settings = Settings(embedder="use-v3", cache_dir=cache_dir, max_tokens=128)
        _trained["data"] = data
        _trained["result"] = train([data], root / "model", settings=settings, embedder=embedder,
                                   options=TrainOptions(targets=list(TARGETS), cv=3, mlflow=False, owners=OWNERS,
                                                        refit_full=False))
    return _trained["data"], _trained["result"]


def small_settings(root: Path, cache_dir: Path, **overrides: Any) -> Any:
    """Service settings for the small bundle: its feedback and history under `root`."""
    from triage import Settings

    return Settings(embedder="use-v3", cache_dir=cache_dir, max_tokens=128, feedback_db=root / "feedback.sqlite",
                    predictions_db=root / "predictions.sqlite", history_db=root / "history.sqlite", **overrides)
