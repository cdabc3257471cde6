"""`triage report escalations`: how complete a team's escalations are, and how often L3 bounced them.

Every ticket of the export counts as an escalation. Each is scored with the bundle's completeness head
(`--model`), or, without a bundle, with the label-free cue detectors (no embedding needed, seconds for
thousands of tickets). The output is a table on the console and, in `--out`: `escalations.csv` (one row per
ticket), `summary.json`, `missing_by_group.png` and, when tickets have dates, `over_time.png`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from training._plots import _save
from triage._cli_common import ConfigOpt, ModelOpt, cli_settings, console, exits, mapping_from
from triage.escalation_quality import summarize
from triage.heads._cues import ITEMS

report_app = typer.Typer(help="Reports: how complete escalations are (`escalations`), how reviewers judged the "
                         "suggestions (`feedback`).", no_args_is_help=True)
SHORT = {"steps_to_reproduce": "S2R", "expected_behavior": "EB", "observed_behavior": "OB",
         "diagnostics": "diag", "impact": "imp", "environment": "env", "suspected_module": "mod?"}


def score_tickets(df: pd.DataFrame, model: Path | None) -> pd.DataFrame:
    """One row per ticket: score, ready, and a missing_<item> flag per item."""
    from triage.heads import Features
    from triage.heads.completeness import CompletenessHead

    records = df[[c for c in ("id", "subject", "body", "language") if c in df.columns]].to_dict(orient="records")
    if model is not None:
        from triage import open_triage

        settings = cli_settings()
        triage = open_triage(model, settings, kb=None, history="none", progress=True)
        feats = triage.features(records, batch_size=settings.batch_size, progress=True)
        results = triage.score_completeness(feats, df["language"].tolist())
        if results is None:
            from triage.errors import BundleError

            raise BundleError(f"{model} has no completeness scorer; retrain it with `triage train`")
    else:
        texts = df["text"].tolist()
        head = CompletenessHead().fit(Features(texts, np.zeros((len(texts), 1))))
        results = head.predict_results(Features(texts, np.zeros((len(texts), 1))), languages=df["language"].tolist())
    out = pd.DataFrame({"id": df["id"].to_numpy(), "score": [r["score"] for r in results],
                        "ready_for_l3": [r["ready_for_l3"] for r in results],
                        "missing": [";".join(r["missing"]) for r in results]})
    for item in ITEMS:
        out[f"missing_{item}"] = [item in r["missing"] for r in results]
    for col in ("module", "owner", "created_at", "info_requested"):
        if col in df.columns:
            out[col] = df[col].to_numpy()
    return out


def plot_groups(table: pd.DataFrame, by: str, path: Path) -> Path:
    import matplotlib.pyplot as plt

    cols = [f"missing_{i}" for i in ITEMS] + (["bounced"] if "bounced" in table.columns else [])
    data = table[cols].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(1.1 * len(cols) + 3, 0.42 * len(table) + 2))
    im = ax.imshow(data, cmap="Reds", vmin=0, vmax=1, aspect="auto")
    names = {**SHORT, "steps_to_reproduce": "steps to reproduce", "expected_behavior": "expected",
             "observed_behavior": "observed", "suspected_module": "suspected module"}
    ax.set_xticks(range(len(cols)), [names.get(c[8:], c) for c in cols], rotation=35, ha="right")
    ax.set_yticks(range(len(table)), [f"{g} (n={n})" for g, n in zip(table.index, table["n"], strict=True)])
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            ax.text(j, i, f"{data[i, j]:.0%}", ha="center", va="center", fontsize=7,
                    color="white" if data[i, j] > 0.6 else "black")
    ax.set_title(f"Escalations missing each item, and bounced by L3, by {by}")
    fig.colorbar(im, ax=ax, fraction=0.03, label="share of escalations")
    fig.tight_layout()
    return _save(fig, path)


def plot_over_time(scored: pd.DataFrame, path: Path) -> Path | None:
    import matplotlib.pyplot as plt

    if "created_at" not in scored.columns or scored["created_at"].isna().all():
        return None
    month = pd.to_datetime(scored["created_at"], utc=True).dt.strftime("%Y-%m")
    frame = scored.assign(month=month, not_ready=~scored["ready_for_l3"].astype(bool))
    cols = ["not_ready"] + (["info_requested"] if "info_requested" in frame.columns else [])
    frame["info_requested"] = frame.get("info_requested", pd.Series(False, index=frame.index)).fillna(False)
    series = frame.groupby("month")[cols].apply(lambda g: g.astype(float).mean())
    fig, ax = plt.subplots(figsize=(7, 4))
    labels = {"not_ready": "not ready for L3 (score under threshold)", "info_requested": "bounced by L3"}
    for col in cols:
        ax.plot(series.index, series[col], marker="o", label=labels[col])
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of escalations")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Escalation quality over time")
    fig.tight_layout()
    return _save(fig, path)


def print_table(table: pd.DataFrame, by: str) -> None:
    from rich import box
    from rich.table import Table

    view = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=f"% of escalations missing each item, by {by}",
                 caption="S2R steps to reproduce, EB/OB expected/observed behaviour, imp impact, mod? suspected "
                         "module; ready: % ready for L3; bounced: % L3 asked for more info")
    view.add_column(by, no_wrap=True, max_width=24)
    view.add_column("n", justify="right", no_wrap=True, min_width=4)
    cols = [f"missing_{i}" for i in ITEMS] + [c for c in ("ready_for_l3", "bounced") if c in table.columns]
    for col in cols:
        header = SHORT.get(col[8:], col.replace("_for_l3", ""))
        view.add_column(header, justify="right", no_wrap=True, min_width=max(3, len(header)))
    for group, row in table.iterrows():
        view.add_row(str(group)[:24], str(int(row["n"])), *[f"{100 * row[c]:.0f}" for c in cols])
    console.print(view)


@report_app.command()
@exits
def escalations(
    data: Annotated[Path, typer.Option("--data", help="Ticket export (CSV, JSONL, Parquet).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for escalations.csv, summary.json and plots.")],
    model: Annotated[Path | None, typer.Option("--model", help="Bundle whose completeness scorer to use; "
                                               "default: the label-free cue detectors.")] = None,
    by: Annotated[str, typer.Option(help="Group column: module, owner (team) or any column.")] = "module",
    config: ConfigOpt = None,
) -> None:
    """Share of escalations missing each contract item, share bounced by L3, by team or module."""
    from triage._data import load_tickets

    df = load_tickets([data], mapping_from(config))
    scored = score_tickets(df, model)
    table = summarize(scored, by)
    print_table(table, by)
    out.mkdir(parents=True, exist_ok=True)
    scored.to_csv(out / "escalations.csv", index=False)
    plots = [plot_groups(table, by, out / "missing_by_group.png"), plot_over_time(scored, out / "over_time.png")]
    summary: dict[str, Any] = {"data": str(data), "model": str(model) if model else None, "by": by,
                               "rows": json.loads(table.to_json(orient="index"))}
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    console.print(f"[green]Report[/] {out}: " + ", ".join(p.name for p in plots if p is not None))


@report_app.command()
@exits
def drift(
    model: ModelOpt,
    history: Annotated[Path | None, typer.Option("--history", help="Live ticket history (SQLite); default: "
                                                 "TRIAGE_HISTORY_DB, else the one the service keeps for --model.")
                       ] = None,
    window: Annotated[int, typer.Option(min=10, help="Most recent served tickets to compare.")] = 500,
) -> None:
    """Per head, PSI of the most recent served predictions (the live history) against training.

    The history stores answered values only, so a head that abstains a lot shows its surest labels;
    the service's /metrics gauges (triage_prediction_psi) also count abstained tickets' top label.
    """
    import sqlite3

    from triage._bundle import read_manifest
    from triage._prediction_drift import baselines, head_drift
    from triage._recurring import default_live_path
    from triage._registry import live_history_path, resolve_model

    settings = cli_settings()
    resolved = resolve_model(model, settings)
    manifest = read_manifest(resolved.path)
    sql = ("SELECT predicted FROM tickets WHERE source = 'classified' AND predicted IS NOT NULL "
           "ORDER BY created_at DESC LIMIT ?")
    if history is None and settings.database_url:  # the replicas' shared database
        from triage._db import Database, describe

        shared = Database(settings.database_url)
        path: str | Path = describe(settings.database_url)
        try:
            rows = [json.loads(p) for (p,) in shared.execute(sql, (window,))]
        finally:
            shared.close()
    else:
        path = history or live_history_path(resolved, settings) or default_live_path(resolved.path)
        if not Path(path).is_file():
            from triage.errors import DataError

            raise DataError(f"no live history at {path}: serve the model first, or name one with --history")
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # read-only: the service may be writing
        try:
            rows = [json.loads(p) for (p,) in db.execute(sql, (window,))]
        finally:
            db.close()
    threshold = settings.drift_psi_threshold
    console.print(f"{len(rows)} most recent served tickets in {path}, model {manifest['model_version']}")
    for head, base in baselines(manifest).items():
        values = [str(r[head]) for r in rows if r.get(head) is not None]
        console.print(head_drift(head, base, values, [], threshold, settings.drift_min_predictions).sentence(threshold))
