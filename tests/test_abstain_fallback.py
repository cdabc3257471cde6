"""Heads that answer, or say why not (issue 13): the abstention rule and what training reports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from triage.heads._abstain import MIN_FALLBACK_PRECISION, MUTE, choose_abstention


def _scores(n: int, accuracy_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    confidence = rng.random(n)
    return confidence, rng.random(n) < accuracy_of(confidence)


def test_target_reached_on_a_useful_share() -> None:
    conf, ok = _scores(400, lambda c: 0.6 + 0.4 * c)  # sure on a third of tickets
    rule = choose_abstention(conf, ok, 0.9)
    assert rule.rule == "target"
    assert rule.precision is not None and rule.precision >= 0.9 and rule.coverage >= 0.3
    assert rule.threshold == pytest.approx(np.sort(conf)[::-1][round(rule.coverage * 400) - 1])


def test_target_out_of_reach_falls_back_to_min_coverage() -> None:
    """The issue's 320-ticket export: no threshold reached 90%, every head was mute."""
    conf, ok = _scores(320, lambda c: 0.35 + 0.4 * c)  # at best ~75% right
    rule = choose_abstention(conf, ok, 0.9, min_coverage=0.3)
    assert rule.rule == "fallback" and rule.threshold <= 1.0
    assert rule.coverage >= 0.3
    assert rule.precision is not None and rule.precision >= MIN_FALLBACK_PRECISION
    covered = conf >= rule.threshold
    assert rule.precision == pytest.approx(ok[covered].mean())  # the figure stored is the one reached


def test_a_head_worse_than_a_coin_stays_mute_and_says_so() -> None:
    conf, ok = _scores(300, lambda c: np.full_like(c, 0.2))
    rule = choose_abstention(conf, ok, 0.9)
    assert rule.rule == "mute" and rule.threshold == MUTE and rule.coverage == 0.0
    assert "answers no ticket" in rule.sentence("priority") and "priority" in rule.sentence("priority")


def test_sentences_say_share_and_precision() -> None:
    conf, ok = _scores(320, lambda c: 0.35 + 0.4 * c)
    said = choose_abstention(conf, ok, 0.9).sentence("type")
    assert said.startswith("type: answers ") and "% of tickets at " in said and "fallback" in said


def test_training_ships_no_silent_mute_head(trained_bundle) -> None:  # type: ignore[no-untyped-def]
    """Every label head of a bundle trained on in-repo tickets answers, or the manifest says why not."""
    manifest = json.loads((trained_bundle.bundle / "manifest.json").read_text(encoding="utf-8"))
    heads = [h for h in manifest["heads"] if h != "completeness"]
    assert heads
    for name in heads:
        block = manifest["heads"][name]["abstain"]
        assert block["rule"] in ("target", "fallback", "mute")
        if block["rule"] == "mute":
            assert any(w.startswith(f"{name}: answers no ticket") for w in manifest["warnings"])
        else:
            assert block["coverage"] > 0 and block["precision"] is not None
    assert len(manifest["answers"]) == len(heads)
