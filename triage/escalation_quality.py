"""Escalation quality, computed: share ready for L3, share bounced by L3, the items missing most, by group and time.

Pure pandas over scored tickets (one row per escalation: `score`, `ready_for_l3`, `missing_<item>` flags,
optional `module` / `owner` / `agent` / `created_at` / `info_requested`), so `triage report escalations`
(training/report_cli.py, over an export) and the web console (over the tickets the service scored) share
one definition of every figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from triage.heads._cues import ITEMS

GROUPS = ("module", "owner", "agent")
PERIODS = {"day": "D", "week": "W-MON", "month": "M"}


def scored_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows with a `missing` list (as the service stores them) as the scored table, one flag per item."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return pd.DataFrame(columns=["id", "score", "ready_for_l3", *(f"missing_{i}" for i in ITEMS)])
    for item in ITEMS:
        frame[f"missing_{item}"] = frame["missing"].map(lambda m, item=item: item in (m or []))
    return frame.drop(columns=["missing"])


def _bounced(scored: pd.DataFrame) -> pd.DataFrame:
    if "info_requested" not in scored.columns:
        return scored
    return scored.assign(bounced=scored["info_requested"].fillna(False).astype(bool))


def summarize(scored: pd.DataFrame, by: str) -> pd.DataFrame:
    """Share missing per item, share ready, share bounced, per group (and 'all'); `n` escalations each."""
    cols = {f"missing_{i}": "mean" for i in ITEMS} | {"ready_for_l3": "mean", "score": "mean"}
    scored = _bounced(scored)
    if "bounced" in scored.columns:
        cols["bounced"] = "mean"
    numeric = scored.astype({c: float for c in cols})
    groups = numeric.assign(_g=numeric[by].fillna("(none)").astype(str)) if by in numeric.columns else None
    table = pd.DataFrame([numeric.agg(cols)], index=["all"])
    if groups is not None:
        table = pd.concat([table, groups.groupby("_g").agg(cols).sort_index()])
    table.insert(0, "n", [len(scored)] + ([int(v) for v in groups.groupby("_g").size().sort_index()]
                                          if groups is not None else []))
    return table


def over_time(scored: pd.DataFrame, period: str = "day") -> pd.DataFrame:
    """Per period: escalations, share ready for L3, share bounced (where known); empty without dates."""
    if "created_at" not in scored.columns or scored.empty or scored["created_at"].isna().all():
        return pd.DataFrame(columns=["n", "ready", "bounced"])
    when = pd.to_datetime(scored["created_at"], utc=True).dt.tz_localize(None).dt.to_period(PERIODS[period])
    frame = _bounced(scored).assign(_p=when)
    frame["ready_for_l3"] = frame["ready_for_l3"].astype(float)
    agg = {"n": ("ready_for_l3", "size"), "ready": ("ready_for_l3", "mean")}
    if "bounced" in frame.columns:
        agg["bounced"] = ("bounced", "mean")
    series = frame.groupby("_p").agg(**agg)
    series.index = series.index.astype(str)
    return series


def quality(rows: Iterable[Mapping[str, Any]], by: str = "module", period: str = "day") -> dict[str, Any]:
    """Everything the console's escalation-quality page shows, as plain JSON-able values."""
    scored = scored_frame(rows)
    n = len(scored)
    bounced_known = ("info_requested" in scored.columns and bool(scored["info_requested"].notna().any()))
    table = summarize(scored, by) if n else pd.DataFrame()
    series = over_time(scored, period) if n else pd.DataFrame()
    missing = {i: float(scored[f"missing_{i}"].mean()) for i in ITEMS} if n else {}
    return {"n": n, "by": by, "period": period, "items": list(ITEMS),
            "ready": float(scored["ready_for_l3"].astype(float).mean()) if n else None,
            "bounced": float(_bounced(scored)["bounced"].mean()) if n and bounced_known else None,
            "most_missing": sorted(missing.items(), key=lambda kv: -kv[1]),
            "groups": [{"group": str(g), "n": int(r["n"]), "ready": float(r["ready_for_l3"]),
                        "bounced": float(r["bounced"]) if bounced_known and "bounced" in r else None,
                        "missing": {i: float(r[f"missing_{i}"]) for i in ITEMS}}
                       for g, r in table.iterrows()] if n else [],
            "series": [{"period": str(p), "n": int(r["n"]), "ready": float(r["ready"]),
                        "bounced": float(r["bounced"]) if bounced_known and "bounced" in r else None}
                       for p, r in series.iterrows()] if n else []}
