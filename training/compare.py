"""`triage compare`: champion and challenger on the same tickets, per head, with paired bootstrap intervals.

Both models are scored by `training._scoring` and `training._metrics` (the figures `evaluate` prints);
the intervals resample the same tickets for both, so the difference is measured, not two noisy numbers.
The verdict is on macro-F1 per head: better when the whole 95% interval is above zero, worse when below.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from training._metrics import figures, hit_figures, paired_differences, rank_figures
from training._plots import plot_differences, plot_risk_coverage_pair
from training._report import abstention_section, label_section
from training._scoring import ModelScores, score_model
from training.batch import model_metrics
from training.pipeline import data_fingerprint, labelled
from triage import open_triage
from triage._data import ColumnMapping, load_tickets
from triage.errors import BundleError
from triage.heads._abstain import risk_coverage
from triage.settings import Settings

ROLES = ("champion", "challenger")
SHOWN = ("macro_f1", "accuracy", "top3_accuracy", "threshold_coverage", "threshold_precision", "ece")


def _score(ref: str, settings: Settings, df: Any, kb: Path | None, dupes: bool) -> tuple[ModelScores, str | None]:
    history: Literal["ephemeral", "none"] = "ephemeral" if dupes else "none"
    note = None
    try:
        triage = open_triage(ref, settings, kb=kb if kb is not None else "settings", history=history, alerts=False,
                             progress=True)
    except BundleError as exc:
        if kb is None and settings.kb_dir is None:
            raise
        note = f"KB not scored: {exc}"  # a KB index embedded for the other model's embedder
        triage = open_triage(ref, settings, kb=None, history=history, alerts=False, progress=True)
    try:
        return score_model(triage, df, settings.batch_size), note
    finally:
        triage.close()


def compare(champion: str, challenger: str, data: Path, report: Path, *, mapping: ColumnMapping | None = None,
            settings: Settings | None = None, kb: Path | None = None, mlflow: bool = True,
            resamples: int = 1000) -> dict[str, Any]:
    settings = settings or Settings()
    df = load_tickets([data], mapping)
    dupes = "duplicate_of" in df.columns and bool(labelled(df, "duplicate_of").any())
    report.mkdir(parents=True, exist_ok=True)
    scored, metrics, notes = {}, {}, []
    for role, ref in zip(ROLES, (champion, challenger), strict=True):
        scored[role], note = _score(ref, settings, df, kb, dupes)
        metrics[role] = model_metrics(scored[role], df, report / "plots", prefix=f"{role}_")
        notes += [f"{role}: {note}"] if note else []
    diffs = differences(scored["champion"], scored["challenger"], resamples)
    models = {r: {**(scored[r].triage.registry or {}), "model_version": scored[r].triage.model_version,
                  "ref": ref} for r, ref in zip(ROLES, (champion, challenger), strict=True)}
    result: dict[str, Any] = {"data": str(data), "rows": len(df), "models": models, "differences": diffs,
                              "metrics": metrics, "verdict": verdict(diffs, challenger), "notes": notes,
                              "resamples": resamples}
    plots = _plots(scored, diffs, report / "plots")
    (report / "report.md").write_text(markdown(result, scored, plots, report), encoding="utf-8")
    if mlflow:
        result["mlflow_run_id"] = _log(settings, result, report, df, data)
    (report / "comparison.json").write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str),
                                            encoding="utf-8")
    return result


def differences(a: ModelScores, b: ModelScores, resamples: int) -> dict[str, dict[str, Any]]:
    """Per head (and `kb`, `duplicates`): challenger − champion with intervals, on the tickets both scored."""
    out: dict[str, dict[str, Any]] = {}
    for head in sorted(set(a.heads) & set(b.heads)):
        sa, sb = a.heads[head], b.heads[head]
        out[head] = paired_differences(lambda w, s=sa: figures(s, w), lambda w, s=sb: figures(s, w),  # type: ignore[misc]
                                       len(sa), resamples)
    if a.kb_ranks is not None and b.kb_ranks is not None and len(a.kb_ranks) == len(b.kb_ranks) and len(a.kb_ranks):
        ra, rb = a.kb_ranks, b.kb_ranks
        out["kb"] = paired_differences(lambda w: rank_figures(ra, w), lambda w: rank_figures(rb, w), len(ra), resamples)
    if a.duplicate_hits is not None and b.duplicate_hits is not None and len(a.duplicate_hits) \
            and len(a.duplicate_hits) == len(b.duplicate_hits):
        ha, hb = a.duplicate_hits, b.duplicate_hits
        out["duplicates"] = paired_differences(lambda w: hit_figures(ha, w), lambda w: hit_figures(hb, w), len(ha),
                                               resamples)
    return out


def _call(d: dict[str, Any]) -> str:
    if d["ci_low"] is not None and d["ci_low"] > 0:
        return "better"
    if d["ci_high"] is not None and d["ci_high"] < 0:
        return "worse"
    return "same"


def verdict(diffs: dict[str, dict[str, Any]], challenger: str) -> str:
    """One line a person can act on, from macro-F1 per head."""
    heads = {h: d["macro_f1"] for h, d in diffs.items() if "macro_f1" in d}
    if not heads:
        return "no head is scored by both models on this data: nothing to compare"
    calls = {h: _call(d) for h, d in heads.items()}
    better = [h for h, c in calls.items() if c == "better"]
    worse = [h for h, c in calls.items() if c == "worse"]
    shown = sorted(heads, key=lambda h: -abs(heads[h]["diff"] or 0))[:3]
    detail = ", ".join(f"{h} {heads[h]['diff']:+.3f} macro-F1 [{heads[h]['ci_low']:+.3f}, {heads[h]['ci_high']:+.3f}]"
                       for h in shown)
    head = f"challenger better on {len(better)} of {len(heads)} heads, worse on {len(worse)}: {detail}"
    if better and not worse:
        return f"{head} — promote it: `triage promote {challenger}`"
    if worse and not better:
        return f"{head} — keep the champion"
    if better and worse:
        return f"{head} — mixed: read the per-head table before promoting"
    return f"{head} — no clear difference on these tickets (more labelled tickets would narrow the intervals)"


def _plots(scored: dict[str, ModelScores], diffs: dict[str, dict[str, Any]], folder: Path) -> list[Path]:
    rows = [(h, d["macro_f1"]["diff"], d["macro_f1"]["ci_low"], d["macro_f1"]["ci_high"]) for h, d in diffs.items()
            if "macro_f1" in d and d["macro_f1"]["ci_low"] is not None]
    plots = [plot_differences(rows, "macro-F1", folder / "differences_macro_f1.png")] if rows else []
    for head in rows:
        curves: dict[str, tuple[Sequence[float], Sequence[float], tuple[float, float]]] = {}
        for role in ROLES:
            s = scored[role].heads[head[0]]
            curve = risk_coverage(s.conf, s.correct.astype(float))
            answered = s.answered.mean() if len(s) else 0.0
            prec = float(s.correct[s.answered].mean()) if s.answered.any() else 0.0
            curves[f"{role} {scored[role].triage.model_version}"] = (curve["coverage"], curve["precision"],
                                                                   (float(answered), prec))
        target = scored["challenger"].heads[head[0]].target_precision
        plots.append(plot_risk_coverage_pair(curves, target, f"{head[0]}: risk-coverage, both models",
                                             folder / f"risk_coverage_both_{head[0]}.png"))
    return plots


def _fmt(v: Any, sign: bool = False) -> str:
    return "–" if v is None else (f"{v:+.3f}" if sign else f"{v:.3f}")


def markdown(result: dict[str, Any], scored: dict[str, ModelScores], plots: list[Path], report: Path) -> str:
    m = result["models"]

    def name(role: str) -> str:
        info = m[role]
        reg = f"models:/{info['name']}/{info['version']}" if info.get("version") else info["ref"]
        return f"{reg} (bundle {info['model_version']})"

    lines = [f"# Champion vs challenger on `{result['data']}` ({result['rows']} tickets)", "",
             f"- champion: {name('champion')}", f"- challenger: {name('challenger')}", "",
             f"**Verdict:** {result['verdict']}", "",
             f"Differences are challenger − champion with 95% paired bootstrap intervals ({result['resamples']} "
             "resamples of the same tickets for both); a difference is real when its interval excludes 0.", ""]
    for head, d in result["differences"].items():
        lines += [f"## {head}", "", "| metric | champion | challenger | difference [95% interval] |",
                  "|---|---|---|---|"]
        for key, v in d.items():
            if head in ("kb", "duplicates") or key in SHOWN:
                lines.append(f"| {key} | {_fmt(v['champion'])} | {_fmt(v['challenger'])} | {_fmt(v['diff'], True)} "
                             f"[{_fmt(v['ci_low'], True)}, {_fmt(v['ci_high'], True)}] |")
        lines.append("")
        for role in ROLES:
            s = scored[role]
            if head in s.heads:
                lines += [f"- {role}: " + abstention_section(head, result["metrics"][role][head],
                                                             s.triage.manifest)[0][2:]]
                lines += label_section(head, s.heads[head], s.triage.manifest)
        lines.append("")
    only = {r: sorted(set(scored[r].heads) - set(result["differences"])) for r in ROLES}
    for role, heads in only.items():
        if heads:
            lines.append(f"- Only the {role} has (or is scored on) {', '.join(heads)}: not compared.")
    lines += [f"- {n}" for n in result["notes"]]
    lines += ["", "Plots: " + ", ".join(f"`{p.relative_to(report)}`" for p in plots)]
    return "\n".join(lines) + "\n"


def _log(settings: Settings, result: dict[str, Any], report: Path, df: Any, data: Path) -> str:
    from training._tracking import log_scoring_run, run_name

    flat = {f"{head}.{metric}.{k}": v for head, d in result["differences"].items() for metric, fig in d.items()
            for k, v in fig.items() if isinstance(v, int | float)}
    m = result["models"]
    label = " vs ".join(f"v{m[r]['version']}" if m[r].get("version") else m[r]["model_version"] for r in ROLES)
    return log_scoring_run(settings=settings, kind="compare", name=run_name("compare", f"{label} on {data.name}"),
                           models=m, metrics=flat, report=report, data=df, data_source=str(data),
                           data_sha=data_fingerprint(df), params={"data": str(data), "rows": len(df),
                                                                  "verdict": result["verdict"][:480]})

