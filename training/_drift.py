"""Label drift between trainings: modules too small to learn, new ones, vanished ones.

Teams reorganise: a module is split, renamed or retired, and a new one starts
with three tickets. A head that silently predicts a retired module, or one it
saw twice, routes tickets to nobody; so training says so, and modules under
the head's `min_class_size` are not predicted until they have that many.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from triage._bundle import MANIFEST


def previous_labels(bundle: Path | None) -> tuple[str | None, dict[str, list[str]]]:
    """(model version, labels per head) of an existing bundle; nothing when there is none."""
    if bundle is None or not (Path(bundle) / MANIFEST).is_file():
        return None, {}
    try:
        manifest = json.loads((Path(bundle) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None, {}
    heads = manifest.get("heads", {})
    return manifest.get("model_version"), {name: list(info.get("labels", [])) for name, info in heads.items()}


def label_drift(target: str, counts: dict[str, int], min_examples: int, previous: list[str] | None,
                previous_version: str | None) -> tuple[list[str], dict[str, Any]]:
    """Warnings (one line each) and the same facts as data, for the manifest."""
    rare = sorted(k for k, v in counts.items() if v < min_examples)
    learned = {k for k, v in counts.items() if v >= min_examples}
    new = sorted(learned - set(previous)) if previous is not None else []
    gone = sorted(set(previous) - learned) if previous is not None else []
    warnings = []
    if rare:
        listed = ", ".join(f"'{k}' ({counts[k]})" for k in rare)
        warnings.append(f"{target}: too few examples to learn {listed}; each needs {min_examples}: "
                        "not predicted until then")
    against = f"the previous bundle {previous_version}" if previous_version else "the previous bundle"
    if new:
        warnings.append(f"{target}: new since {against}: " + ", ".join(f"'{k}' ({counts[k]})" for k in new))
    if gone:
        warnings.append(f"{target}: no longer predicted (absent or under {min_examples} examples now, "
                        f"learned by {against}): " + ", ".join(f"'{k}'" for k in gone))
    return warnings, {"too_few": rare, "new": new, "disappeared": gone, "min_examples": min_examples,
                      "previous_version": previous_version}
