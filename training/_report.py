"""The parts of `report.md` that make a figure readable: labels the model never saw, label drift against
the training data, and per head how much it answers, at which threshold and why that threshold.

A report on tickets whose labels the model never learned used to say "accuracy 0.0" and nothing else;
now it says that none of those labels were in the training data, names them, and what to do.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from training._metrics import HeadScores
from triage._prediction_drift import psi
from triage.heads._abstain import Abstention

PSI_NOTE = "PSI < 0.1 stable, 0.1–0.25 moderate, > 0.25 a real shift"


def label_section(name: str, scores: HeadScores, manifest: dict[str, Any]) -> list[str]:
    """Unseen labels and drift of this data's label mix against the training data's, in words."""
    counts = Counter(str(v) for v in scores.y)
    known = set(str(c) for c in scores.classes)
    unseen = {k: v for k, v in counts.items() if k not in known}
    n = len(scores)
    lines = []
    if unseen:
        share = sum(unseen.values()) / n
        listed = ", ".join(f"'{k}' ({v})" for k, v in sorted(unseen.items(), key=lambda kv: -kv[1])[:8])
        more = f" and {len(unseen) - 8} more" if len(unseen) > 8 else ""
        lines.append(f"- **{share:.0%} of the {n} tickets carry a {name} the model never saw** in training: "
                     f"{listed}{more}. Those count as wrong in every figure; the model cannot predict a label it "
                     "was not trained on.")
        if share >= 0.999:
            lines.append(f"  None of these {name} labels were in the training data, so accuracy 0 says nothing "
                         "about the model: check the column mapping (`--config`), or retrain on data with "
                         "these labels.")
    train_counts = manifest.get("data", {}).get("label_counts", {}).get(name)
    if train_counts:
        index = psi({str(k): float(v) for k, v in train_counts.items()}, {k: float(v) for k, v in counts.items()})
        total = sum(train_counts.values())
        here = {k: v / n for k, v in counts.items()}
        there = {str(k): v / total for k, v in train_counts.items()}
        moved = sorted(set(here) | set(there), key=lambda k: -abs(here.get(k, 0) - there.get(k, 0)))[:3]
        changes = ", ".join(f"'{k}' {there.get(k, 0):.0%} in training → {here.get(k, 0):.0%} here" for k in moved)
        lines.append(f"- Label drift against the training data: PSI {index} ({PSI_NOTE}); largest changes: "
                     f"{changes}.")
    never = sorted(known - set(counts))
    if never and len(never) <= 10:
        lines.append(f"- Known labels absent from this data: {', '.join(repr(k) for k in never)}.")
    return lines


def abstention_section(name: str, metrics: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """Share answered here, the threshold, and the rule that chose it at training (issue 8's fallback too)."""
    info = manifest.get("heads", {}).get(name, {})
    chosen = info.get("abstain")
    why = "the bundle records no rule (trained before abstention rules were recorded)"
    if chosen:
        rule = Abstention(**chosen)
        how = {"target": f"the lowest confidence whose held-out precision reached the target "
                         f"{rule.target_precision:.0%}",
               "fallback": f"fallback: {rule.target_precision:.0%} precision was out of reach on "
                           f"{rule.min_coverage:.0%} of tickets, so the threshold with the best held-out precision "
                           f"among those answering at least {rule.min_coverage:.0%}",
               "mute": "mute: no threshold was right often enough, so the head answers nothing"}[rule.rule]
        why = f"{how}; at training {rule.sentence(name).split(': ', 1)[1]}"
    prec = metrics.get("threshold_precision")
    prec_text = f"{prec:.0%} precision" if prec is not None else "nothing answered"
    return [f"- **{name}** answers {metrics.get('threshold_coverage', 0):.0%} of these tickets, {prec_text}, at "
            f"threshold {info.get('threshold', metrics.get('threshold'))} — chosen as {why}."]


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def metrics_table(heads: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| head | n | accuracy | macro-F1 | top-3 | answered | precision answered | threshold | "
             "oracle coverage at target precision | ECE |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, m in heads.items():
        cov_key = next((k for k in m if k.startswith("coverage_at_p")), "")
        lines.append(f"| {name} | {m['n']} | {_fmt(m['accuracy'])} | {_fmt(m['macro_f1'])} | "
                     f"{_fmt(m['top3_accuracy'])} | {_fmt(m['threshold_coverage'])} | "
                     f"{_fmt(m['threshold_precision'])} | {_fmt(m.get('threshold'))} | {_fmt(m.get(cov_key))} | "
                     f"{_fmt(m['ece'])} |")
    return lines
