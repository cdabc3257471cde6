"""Plots a person would rather look at than read: confusion matrix, risk-coverage."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: CI and servers have no display
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import confusion_matrix


def plot_confusion(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str], title: str,
                   path: Path) -> Path:
    """Row-normalised, so rare classes are as readable as common ones."""
    cm = confusion_matrix(y_true, y_pred, labels=list(labels)).astype(float)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    size = max(5.0, 0.45 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), [str(lb)[:28] for lb in labels], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), [str(lb)[:28] for lb in labels], fontsize=8)
    if len(labels) <= 25:
        for i in range(len(labels)):
            for j in range(len(labels)):
                if cm[i, j]:
                    ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of true class")
    fig.tight_layout()
    return _save(fig, path)


def plot_risk_coverage(coverage: Sequence[float], precision: Sequence[float], threshold_point: tuple[float, float],
                       target: float, title: str, path: Path) -> Path:
    """Precision of the covered tickets against the share covered; the dot is the chosen threshold."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(coverage, precision, label="held-out tickets")
    ax.axhline(target, color="grey", linestyle="--", label=f"target precision {target:.0%}")
    cov, prec = threshold_point
    if cov > 0:
        ax.scatter([cov], [prec], color="red", zorder=3, label=f"threshold: {cov:.0%} covered at {prec:.0%}")
    return _finish_risk_coverage(fig, ax, title, path, "coverage (share of tickets answered, not abstained)")


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_acceptance(values: Sequence[str], accepted: Sequence[int], corrected: Sequence[int], title: str,
                    path: Path) -> Path:
    """Reviewed suggestions per module, accepted vs corrected: where routing can be trusted at a glance."""
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.35 * len(values) + 1)))
    pos = np.arange(len(values))[::-1]
    ax.barh(pos, accepted, color="#4c9a5b", label="accepted")
    ax.barh(pos, corrected, left=accepted, color="#d0634f", label="corrected")
    ax.set_yticks(pos, [str(v)[:40] for v in values], fontsize=8)
    ax.set_xlabel("reviewed suggestions")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return _save(fig, path)


def plot_differences(rows: Sequence[tuple[str, float, float, float]], metric: str, path: Path) -> Path:
    """Challenger − champion per head with its bootstrap interval: right of zero is the challenger better."""
    fig, ax = plt.subplots(figsize=(7, max(2.2, 0.55 * len(rows) + 1.2)))
    pos = np.arange(len(rows))[::-1]
    for y, (_, diff, low, high) in zip(pos, rows, strict=True):
        color = "#4c9a5b" if low > 0 else "#d0634f" if high < 0 else "#888888"
        ax.errorbar([diff], [y], xerr=[[diff - low], [high - diff]], fmt="o", color=color, capsize=4)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(pos, [r[0] for r in rows])
    ax.set_xlabel(f"challenger − champion, {metric} (95% paired bootstrap interval)")
    ax.grid(alpha=0.3, axis="x")
    ax.set_title(f"{metric}: green = challenger better, red = worse, grey = no clear difference", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_risk_coverage_pair(curves: dict[str, tuple[Sequence[float], Sequence[float], tuple[float, float]]],
                            target: float, title: str, path: Path) -> Path:
    """Both models' risk-coverage curves on the same tickets; each dot is that model's own threshold."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, (coverage, precision, (cov, prec)) in curves.items():
        line, = ax.plot(coverage, precision, label=name)
        if cov > 0:
            ax.scatter([cov], [prec], color=line.get_color(), zorder=3)
    ax.axhline(target, color="grey", linestyle="--", label=f"target precision {target:.0%}")
    return _finish_risk_coverage(fig, ax, title, path, "coverage (share of tickets answered)")


def _finish_risk_coverage(fig: Any, ax: Any, title: str, path: Path, xlabel: str) -> Path:
    """Axes, grid, legend and file of a risk–coverage plot (one model's, or both of a comparison)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel("precision of answered tickets")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)
