"""Drift in production: is a head now predicting a different mix of labels, less surely, than at training?

Per head, the last `window` served predictions (the argmax value, answered or not, and its confidence)
are compared with the bundle's held-out predictions at training (`metrics.<head>.predicted_share` and
`mean_confidence`; bundles from before those were recorded fall back to the training label shares). The
comparison is the population stability index, PSI = Σ (q − p) · ln(q / p) over labels, the usual reading
being < 0.1 stable, 0.1–0.25 moderate, > 0.25 a real shift. Past the threshold the monitor says so once
(a log warning, and an alert through the incident channels) until the head comes back under it.

`triage report drift` computes the same figures from the live ticket history (`predicted` column), and
`training`'s evaluation reports use `psi` for label drift against the training data.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("triage.drift")
EPS = 1e-4  # a label absent on one side must not make the index infinite


def shares(values: Sequence[str]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    total = sum(counts.values())
    return {k: c / total for k, c in counts.items()} if total else {}


def psi(expected: Mapping[str, float], actual: Mapping[str, float]) -> float:
    """Population stability index between two label distributions (each normalised here)."""
    keys = set(expected) | set(actual)
    e_total = sum(expected.values()) or 1.0
    a_total = sum(actual.values()) or 1.0
    total = 0.0
    for key in keys:
        p = max(expected.get(key, 0.0) / e_total, EPS)
        q = max(actual.get(key, 0.0) / a_total, EPS)
        total += (q - p) * math.log(q / p)
    return round(total, 4)


def baselines(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """head -> {shares, mean_confidence, source} from a bundle manifest."""
    out: dict[str, dict[str, Any]] = {}
    metrics = manifest.get("metrics", {})
    counts = manifest.get("data", {}).get("label_counts", {})
    for head, info in manifest.get("heads", {}).items():
        if info.get("kind") == "completeness":
            continue
        m = metrics.get(head, {})
        if m.get("predicted_share"):
            out[head] = {"shares": dict(m["predicted_share"]), "mean_confidence": m.get("mean_confidence"),
                         "source": "held-out predictions at training"}
        elif counts.get(head):
            out[head] = {"shares": dict(counts[head]), "mean_confidence": m.get("mean_confidence"),
                         "source": "training label counts"}
    return out


@dataclass
class HeadDrift:
    head: str
    n: int
    psi: float | None
    mean_confidence: float | None
    baseline_confidence: float | None
    drifted: bool
    top_changes: list[tuple[str, float, float]] = field(default_factory=list)  # label, baseline, now

    def sentence(self, threshold: float) -> str:
        changes = ", ".join(f"'{k}' {b:.0%}→{a:.0%}" for k, b, a in self.top_changes)
        conf = (f"; mean confidence {self.mean_confidence:.2f} (training {self.baseline_confidence:.2f})"
                if self.mean_confidence is not None and self.baseline_confidence is not None else "")
        state = "DRIFTED" if self.drifted else "stable"
        return (f"{self.head}: PSI {self.psi} over the last {self.n} predictions ({state}, threshold {threshold})"
                f"{conf}; largest changes: {changes or 'none'}")


def head_drift(head: str, baseline: Mapping[str, Any], values: Sequence[str], confidences: Sequence[float],
               threshold: float, min_n: int) -> HeadDrift:
    now = shares(values)
    index = psi(baseline["shares"], now) if values else None
    base_total = sum(baseline["shares"].values()) or 1.0
    base = {k: v / base_total for k, v in baseline["shares"].items()}
    changes = sorted(((k, base.get(k, 0.0), now.get(k, 0.0)) for k in set(base) | set(now)),
                     key=lambda t: -abs(t[2] - t[1]))[:3]
    conf = round(sum(confidences) / len(confidences), 4) if confidences else None
    drifted = index is not None and len(values) >= min_n and index > threshold
    return HeadDrift(head, len(values), index, conf, baseline.get("mean_confidence"), drifted, changes)


class DriftMonitor:
    """Rolling windows of served predictions per head; `observe` returns the heads that just drifted."""

    def __init__(self, manifest: Mapping[str, Any], window: int, threshold: float, min_n: int,
                 alert: Any | None = None) -> None:
        self.baseline = baselines(manifest)
        self.model_version = str(manifest.get("model_version"))
        self.window, self.threshold, self.min_n = window, threshold, min_n
        self.alert = alert  # a callable(HeadDrift) sending through the incident channels, or None
        self._values: dict[str, deque[str]] = {h: deque(maxlen=window) for h in self.baseline}
        self._conf: dict[str, deque[float]] = {h: deque(maxlen=window) for h in self.baseline}
        self._flagged: set[str] = set()
        self._lock = threading.Lock()

    def observe(self, outputs: Sequence[Mapping[str, Mapping[str, Any]]]) -> list[HeadDrift]:
        """`outputs`: per ticket, head -> its §4 object (value/top/confidence)."""
        with self._lock:
            for per_ticket in outputs:
                for head, out in per_ticket.items():
                    if head in self._values and out.get("top"):
                        self._values[head].append(str(out["top"][0]["value"]))
                        self._conf[head].append(float(out.get("confidence") or 0.0))
            report = [self._drift(h) for h in self.baseline]
            fresh = [d for d in report if d.drifted and d.head not in self._flagged]
            self._flagged = {d.head for d in report if d.drifted}
        for d in fresh:
            log.warning("prediction drift: %s", d.sentence(self.threshold),
                        extra={"head": d.head, "psi": d.psi, "model_version": self.model_version})
            if self.alert is not None:
                self.alert(d)
        return fresh

    def _drift(self, head: str) -> HeadDrift:
        return head_drift(head, self.baseline[head], list(self._values[head]), list(self._conf[head]),
                          self.threshold, self.min_n)

    def report(self) -> list[HeadDrift]:
        with self._lock:
            return [self._drift(h) for h in self.baseline]
