"""`triage report feedback`: how often L3 accepts the suggestions, and where the model is corrected.

The acceptance rate per module tells the analyst which routings can be
trusted today; the most-corrected modules (and what they were corrected to)
say where to add owners-file entries, training tickets, or a split module.
Reviews are settled as training settles them (`triage.feedback.resolve`), and
the tickets reviewers disagreed on are listed with every vote, so the analyst
sees what the rule decided and can ask the reviewers.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from training.report_cli import report_app
from triage._cli_common import console, exits
from triage.feedback import Feedback, Resolution, open_feedback, resolve

FeedbackOpt = Annotated[str, typer.Option("--feedback", help="Feedback store (TRIAGE_FEEDBACK_DB of the service, "
                                                             "or its TRIAGE_DATABASE_URL).")]


def feedback_summary(reviews: list[Feedback], field: str) -> dict[str, Any]:
    """Acceptance per predicted value, the most frequent corrections and the conflicts; one answer per ticket."""
    settled = resolve(f for f in reviews if f.field == field)
    latest = [r.review for r in settled.values()]
    per: dict[str, dict[str, Any]] = defaultdict(lambda: {"reviews": 0, "accepted": 0, "corrected_to": Counter()})
    missed: Counter[str] = Counter()
    for f in latest:
        row = per[f.predicted if f.predicted is not None else "(abstained)"]
        row["reviews"] += 1
        row["accepted"] += f.accepted
        if not f.accepted:
            row["corrected_to"][f.correct] += 1
            missed[f.correct] += 1
    modules = []
    for value, row in per.items():
        modules.append({"predicted": value, "reviews": row["reviews"], "accepted": row["accepted"],
                        "acceptance": round(row["accepted"] / row["reviews"], 4),
                        "corrections": row["reviews"] - row["accepted"],
                        "corrected_to": [{"value": v, "count": c} for v, c in row["corrected_to"].most_common(3)]})
    modules.sort(key=lambda m: (-m["reviews"], m["predicted"]))
    total = sum(m["reviews"] for m in modules)
    accepted = sum(m["accepted"] for m in modules)
    return {"field": field, "reviews": total, "accepted": accepted,
            "acceptance": round(accepted / total, 4) if total else None,
            "per_value": modules,
            "most_corrected": sorted((m for m in modules if m["corrections"]),
                                     key=lambda m: (-m["corrections"], m["predicted"]))[:10],
            "most_missed": [{"value": v, "count": c} for v, c in missed.most_common(10)],
            "conflicts": [_conflict(ticket_id, r) for (ticket_id, _), r in sorted(settled.items()) if r.conflict],
            "unknown_tickets": sum(r.review.ticket_known is False for r in settled.values()),
            "new_labels": sorted({r.correct for r in settled.values() if r.review.new_label})}


def _conflict(ticket_id: str, r: Resolution) -> dict[str, Any]:
    return {"ticket_id": ticket_id, "votes": [{"value": v, "reviewers": who} for v, who in r.votes.items()],
            "resolved": r.correct, "rule": r.rule}


@report_app.command("feedback")
@exits
def feedback(
    store: FeedbackOpt,
    field: Annotated[str, typer.Option(help="Which prediction to report on: module, owner or a label name.")]
    = "module",
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the report as JSON here.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Also draw accepted/corrected per module (PNG).")]
    = None,
) -> None:
    """Acceptance rate per module, and the modules the model is most often corrected on."""
    db = open_feedback(store, must_exist=True)
    reviews = list(db)
    db.close()
    report = feedback_summary(reviews, field)
    if not report["reviews"]:
        fields = sorted({f.field for f in reviews})
        console.print(f"No reviews of '{field}' in {store} ({len(reviews)} reviews of {fields or 'nothing'}). "
                      "Reviewers send them with POST /v1/feedback.")
        raise typer.Exit(0)
    _print(report)
    if json_out is not None:
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        console.print(f"[green]Wrote[/] {json_out}")
    if plot is not None:
        from training._plots import plot_acceptance

        rows = report["per_value"][:40]
        plot_acceptance([m["predicted"] for m in rows], [m["accepted"] for m in rows],
                        [m["corrections"] for m in rows], f"review of suggested {field}", plot)
        console.print(f"[green]Plot[/] {plot}")


def _print(report: dict[str, Any]) -> None:
    console.print(f"[bold]{report['field']}[/]: {report['reviews']} reviewed suggestions, "
                  f"{report['accepted']} accepted ({report['acceptance']:.0%})")
    table = Table(title=f"acceptance per suggested {report['field']}")
    for col, justify in (("suggested", "left"), ("reviews", "right"), ("accepted", "right"),
                         ("rate", "right"), ("corrected to", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for m in report["per_value"]:
        table.add_row(escape(m["predicted"]), str(m["reviews"]), str(m["accepted"]), f"{m['acceptance']:.0%}",
                      escape(", ".join(f"{c['value']} ×{c['count']}" for c in m["corrected_to"])))
    console.print(table)
    if report["most_corrected"]:
        worst = ", ".join(f"{escape(m['predicted'])} ({m['corrections']})" for m in report["most_corrected"][:5])
        console.print(f"Most corrected: {worst}")
    if report["most_missed"]:
        missed = ", ".join(f"{escape(m['value'])} ({m['count']})" for m in report["most_missed"][:5])
        console.print(f"Most often the right answer when the model was wrong: {missed}")
    if report["new_labels"]:
        console.print(f"New values reviewers introduced: {escape(', '.join(report['new_labels']))}")
    if report["unknown_tickets"]:
        console.print(f"{report['unknown_tickets']} reviewed ticket(s) are not in the service's ticket history "
                      "(stored with ticket_known: false; learned only if the review carried the text)")
    if report["conflicts"]:
        _print_conflicts(report)


def _print_conflicts(report: dict[str, Any]) -> None:
    table = Table(title=f"conflicting reviews of {report['field']}: {len(report['conflicts'])} ticket(s); "
                        "settled by majority of each reviewer's latest vote, a tie by the most recent")
    for col in ("ticket", "votes", "training uses", "rule"):
        table.add_column(col)
    for c in report["conflicts"]:
        votes = "; ".join(f"{v['value']} ({', '.join(v['reviewers'])})" for v in c["votes"])
        table.add_row(escape(c["ticket_id"]), escape(votes), escape(c["resolved"]), c["rule"])
    console.print(table)
