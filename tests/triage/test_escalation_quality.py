"""Escalation-quality figures, shared by `triage report escalations` and the console: hand-counted cases."""

from __future__ import annotations

from triage.escalation_quality import quality, scored_frame, summarize


def _row(i: int, module: str, ready: bool, missing: list[str], bounced: bool | None) -> dict:  # type: ignore[type-arg]
    return {"id": f"T-{i}", "created_at": f"2026-11-0{1 + i % 2}T10:00:00Z", "module": module, "owner": "o",
            "agent": "anna" if i % 2 else "boris", "info_requested": bounced, "score": 0.9 if ready else 0.3,
            "ready_for_l3": ready, "missing": missing}


ROWS = [_row(0, "mail", True, [], False), _row(1, "mail", False, ["impact", "diagnostics"], True),
        _row(2, "vpn", False, ["impact"], None), _row(3, "vpn", True, [], False)]


def test_shares_groups_and_series_are_counted_as_by_hand() -> None:
    q = quality(ROWS, by="module", period="day")
    assert q["n"] == 4 and q["ready"] == 0.5 and q["bounced"] == 0.25  # an unknown bounce counts as not bounced
    assert q["most_missing"][0] == ("impact", 0.5) and dict(q["most_missing"])["diagnostics"] == 0.25
    groups = {g["group"]: g for g in q["groups"]}
    assert groups["all"]["n"] == 4 and groups["mail"]["bounced"] == 0.5 and groups["vpn"]["missing"]["impact"] == 0.5
    assert [(s["period"], s["n"], s["ready"]) for s in q["series"]] == [("2026-11-01", 2, 0.5), ("2026-11-02", 2, 0.5)]
    by_agent = summarize(scored_frame(ROWS), "agent")
    assert list(by_agent.index) == ["all", "anna", "boris"] and by_agent.loc["anna", "ready_for_l3"] == 0.5


def test_no_escalations_and_no_bounce_information() -> None:
    assert quality([])["n"] == 0 and quality([])["groups"] == []
    unknown = quality([{**r, "info_requested": None} for r in ROWS])
    assert unknown["bounced"] is None and unknown["groups"][0]["bounced"] is None
