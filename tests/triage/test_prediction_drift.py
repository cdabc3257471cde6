"""Drift in production: PSI of the served prediction mix against the held-out one, warning once, gauges on /metrics."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from prometheus_client import generate_latest

from triage._prediction_drift import DriftMonitor, psi

MANIFEST = {"model_version": "v1", "heads": {"category": {"kind": "label"}},
            "metrics": {"category": {"predicted_share": {"net": 0.5, "mail": 0.5}, "mean_confidence": 0.8}}}


def out(value: str, conf: float = 0.7) -> dict[str, dict[str, object]]:
    return {"category": {"value": value, "confidence": conf, "abstained": False, "top": [{"value": value, "p": conf}]}}


def test_psi_is_zero_for_the_same_mix_and_large_for_a_new_one() -> None:
    assert psi({"a": 1, "b": 1}, {"a": 10, "b": 10}) == 0
    assert psi({"a": 1, "b": 1}, {"a": 1, "b": 0}) > 1


def test_monitor_warns_and_alerts_once_when_the_mix_shifts(caplog: pytest.LogCaptureFixture) -> None:
    alerts = []
    monitor = DriftMonitor(MANIFEST, window=50, threshold=0.25, min_n=20, alert=alerts.append)
    assert monitor.observe([out("net"), out("mail")] * 15) == []  # the training mix: stable
    with caplog.at_level(logging.WARNING, logger="triage.drift"):
        fresh = monitor.observe([out("mail", 0.4)] * 50)
        again = monitor.observe([out("mail", 0.4)] * 5)
    assert [d.head for d in fresh] == ["category"] and again == []
    assert len(alerts) == 1 and alerts[0].psi > 0.25 and alerts[0].mean_confidence == pytest.approx(0.4)
    assert "prediction drift" in caplog.text


def test_metrics_expose_psi_per_head() -> None:
    from api._metrics import Metrics

    metrics = Metrics()
    metrics.watch_drift(MANIFEST, SimpleNamespace(drift_window=50, drift_psi_threshold=0.25, drift_min_predictions=20))
    metrics.observe_results([{"ticket_id": "t", "model_version": "v1", "labels": out("mail"), "truncated": False}] * 30)
    text = generate_latest(metrics.registry).decode()
    assert 'triage_prediction_psi{head="category"}' in text
    assert 'triage_prediction_drift{head="category"} 1.0' in text
