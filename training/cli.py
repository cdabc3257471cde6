"""Training's commands of `triage` (contract §3): train, predict, evaluate, kb, report, problems.

Composed into the one `triage` command by `triage/cli.py` (entry point group `triage.commands`); the
service's commands (`serve`, `keys`) live in `api/cli.py`. Exit codes: 0 success, 2 bad arguments or
bad input (the message names the file, line and field), 1 anything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from training._report_feedback import report_app  # registers `report feedback` on the report app
from training.kb_cli import kb_app
from training.recurring_cli import problems
from triage._cli_common import ConfigOpt, KbOpt, ModelOpt, RefArg, cli_settings, console, exits, mapping_from

app = typer.Typer(
    help="Ticket triage: train models on your helpdesk history, classify new tickets, serve the API.\n\n"
         "Typical flow: `triage train --data tickets.csv --target category --out models/current`, then "
         "`triage serve --model models/current`.",
    no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.add_typer(kb_app, name="kb")
app.add_typer(report_app, name="report")
app.command("problems")(problems)
DataOpt = Annotated[list[Path], typer.Option("--data", help="Ticket file (CSV, JSONL, Parquet); repeat for several.")]


@app.command()
@exits
def train(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="Where to write the bundle (replaced atomically).")],
    config: ConfigOpt = None,
    target: Annotated[list[str] | None, typer.Option("--target", help="Column to learn (category, priority...); "
                                                     "repeatable. module/owner are learned when present.")] = None,
    features: Annotated[str, typer.Option(help="hybrid (embeddings + TF-IDF), dense or lexical.")] = "hybrid",
    target_precision: Annotated[float, typer.Option(min=0.5, max=0.999, help="Heads abstain below the "
                                                    "confidence that reaches this precision.")] = 0.9,
    min_coverage: Annotated[float, typer.Option(min=0.0, max=1.0, help="When no threshold reaches the target "
                                                "precision, a head still answers this share of tickets it is "
                                                "surest about, if it is right on at least half of them.")] = 0.3,
    test_size: Annotated[float, typer.Option(min=0.05, max=0.5, help="Held-out share for the metrics.")] = 0.2,
    mlflow: Annotated[bool, typer.Option(help="Log the run to MLflow.")] = True,
    finetune: Annotated[bool, typer.Option(help="Always tune an embedder for the label heads on the first "
                                           "label target (SetFit-style, cross-fitted; TRIAGE_LABEL_TUNING=on). "
                                           "Without it, TRIAGE_LABEL_TUNING decides (auto: when the data has "
                                           "enough labelled tickets per class).")] = False,
    owners: Annotated[Path | None, typer.Option("--owners", help="Owners YAML (module -> owners, optional "
                                                "on_duty), stored in the bundle: fills module.owners.")] = None,
    feedback: Annotated[str | None, typer.Option("--feedback", help="Reviewer feedback store (the service's "
                                                 "TRIAGE_FEEDBACK_DB, or its TRIAGE_DATABASE_URL): human "
                                                 "corrections replace labels.")] = None,
    previous: Annotated[Path | None, typer.Option("--previous", help="Bundle to compare modules with for drift "
                                                  "warnings (default: the --out bundle being replaced).")] = None,
    kb_source: Annotated[list[Path] | None, typer.Option(
        "--kb-source", help="KB articles, as for `kb build --source`: with tickets naming their `kb_article`, the "
                            "embedder is tuned for retrieval on those links and shipped when it ranks held-out "
                            "links better (TRIAGE_KB_TUNING); `kb build --model` then embeds the KB with it.")] = None,
) -> None:
    """Fit every head the data has labels for, evaluate on a held-out split, write a bundle, log to MLflow."""
    from training.pipeline import TrainOptions
    from training.pipeline import train as run_train

    if features not in ("hybrid", "dense", "lexical"):
        raise typer.BadParameter("choose hybrid, dense or lexical", param_hint="--features")
    opts = TrainOptions(targets=target or [], features=features, target_precision=target_precision,
                        min_coverage=min_coverage, test_size=test_size, mlflow=mlflow, finetune=finetune,
                        owners=owners, feedback=feedback, previous=previous,
                        kb_source=kb_source or [])
    result = run_train(data, out, mapping=mapping_from(config), options=opts, settings=cli_settings())
    _print_metrics(result.metrics)
    for line in result.manifest.get("answers", []):
        console.print(line)
    console.print(f"[green]Bundle[/] {result.bundle}  version {result.manifest['model_version']}")
    if "mlflow" in result.manifest:
        console.print(f"MLflow run {result.manifest['mlflow']['run_id']}, registered as "
                      f"{result.manifest['mlflow']['registered_model']} v{result.manifest['mlflow']['model_version']}")


@app.command()
@exits
def predict(
    model: ModelOpt,
    input: Annotated[Path, typer.Option("--input", help="Tickets to classify (CSV, JSONL, Parquet).")],
    output: Annotated[Path, typer.Option("--output", help="JSON lines, one result per ticket.")],
    config: ConfigOpt = None,
    kb: KbOpt = None,
    engine: Annotated[str, typer.Option(help="local (one process) or spark: a backfill on Spark, one model per "
                                        "executor (pip install 'triage\\[spark]', Java 17).")] = "local",
    spark_master: Annotated[str, typer.Option(help="Spark master for --engine spark: local[N] on this box, or "
                                              "a cluster's URL (spark://host:7077, yarn).")] = "local[2]",
    partitions: Annotated[int | None, typer.Option(min=1, help="--engine spark: contiguous created_at ranges "
                                                   "run in parallel (default: the cluster's parallelism).")] = None,
) -> None:
    """Classify tickets in created_at order and write one contract §4 result per line.

    A ticket's `recurring.similar` lists earlier tickets of the training history and of the input. With
    `--engine spark` the input is cut into contiguous created_at ranges classified in parallel, and a
    ticket sees the training history and the earlier tickets of its own range only (`--partitions 1`:
    exactly the local result); every other field is the same. Example:

        triage predict --model models/current --input backlog.parquet --output out.jsonl --engine spark
        --spark-master spark://spark-master:7077 --partitions 16
    """
    from training.batch import predict_file

    if engine not in ("local", "spark"):
        raise typer.BadParameter("choose local or spark", param_hint="--engine")
    n = predict_file(model, input, output, mapping=mapping_from(config), kb=kb, settings=cli_settings(),
                     spark_master=spark_master if engine == "spark" else None, partitions=partitions)
    console.print(f"[green]Wrote[/] {n} results to {output}")


@app.command()
@exits
def evaluate(
    model: ModelOpt,
    data: Annotated[Path, typer.Option("--data", help="Labelled tickets to evaluate on.")],
    report: Annotated[Path, typer.Option("--report", help="Directory for metrics.json, report.md and plots.")],
    config: ConfigOpt = None,
    kb: KbOpt = None,
    mlflow: Annotated[bool, typer.Option(help="Log the evaluation as an MLflow run linked to the model version.")
                      ] = True,
) -> None:
    """Score a bundle on labelled tickets: accuracy, macro-F1, top-3, coverage at the target precision.

    With --kb and a `kb_article` column, also the KB's recall@1, recall@5 and MRR; with `duplicate_of`,
    duplicate recall.
    """
    from training.batch import evaluate_file

    metrics = evaluate_file(model, data, report, mapping=mapping_from(config), kb=kb, settings=cli_settings(),
                            mlflow=mlflow)
    _print_metrics(metrics)
    console.print(f"[green]Report[/] {report / 'report.md'}")


@app.command()
@exits
def compare(
    champion: Annotated[str, typer.Option("--champion", help="The model serving now, e.g. models:/triage@champion.")],
    challenger: Annotated[str, typer.Option("--challenger", help="The candidate, e.g. models:/triage@challenger.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled tickets both are scored on (recent ones).")],
    report: Annotated[Path, typer.Option("--report", help="Directory for report.md, comparison.json and plots.")],
    config: ConfigOpt = None,
    kb: KbOpt = None,
    resamples: Annotated[int, typer.Option(min=100, max=20000, help="Bootstrap resamples.")] = 1000,
    mlflow: Annotated[bool, typer.Option(help="Log the comparison as an MLflow run linking both versions.")] = True,
) -> None:
    """Score champion and challenger on the same tickets, per head, and say which is better and by how much."""
    from training.compare import compare as run_compare

    result = run_compare(champion, challenger, data, report, mapping=mapping_from(config), settings=cli_settings(),
                         kb=kb, mlflow=mlflow, resamples=resamples)
    for head, d in result["differences"].items():
        cells = [f"{k} {v['diff']:+.3f} [{v['ci_low']:+.3f}, {v['ci_high']:+.3f}]" for k, v in d.items()
                 if v["diff"] is not None and v["ci_low"] is not None and k in ("macro_f1", "accuracy", "recall",
                                                                                 "recall_at_1", "mrr")]
        console.print(f"{head}: " + "; ".join(cells))
    console.print(f"[bold]Verdict:[/] {result['verdict']}")
    console.print(f"[green]Report[/] {report / 'report.md'}")


@app.command()
@exits
def promote(ref: RefArg) -> None:
    """Give that model version the registry alias `champion` (what `serve --model models:/triage@champion`
    serves; a running service picks it up on POST /v1/admin/reload or SIGHUP)."""
    from triage._registry import set_alias

    moved = set_alias(ref, cli_settings())
    was = f" (was version {moved['previous']})" if moved["previous"] else ""
    console.print(f"[green]champion[/] is now {moved['name']} version {moved['version']}{was}. Running services "
                  "started with --model models:/{0}@champion serve it after a reload: "
                  "`kill -HUP <pid>` or POST /v1/admin/reload.".format(moved["name"]))
    print(f"models:/{moved['name']}/{moved['version']}")


def _print_metrics(metrics: dict[str, dict[str, Any]]) -> None:
    from rich.table import Table

    cols = {"n": "n", "accuracy": "acc", "macro_f1": "macro-F1", "top3_accuracy": "top-3",
            "coverage_at_p90": "oracle cov@90%", "threshold_coverage": "answered", "threshold_precision": "prec",
            "ece": "ECE"}
    table = Table(title="held-out quality (answered/prec: share answered at the shipped threshold, and its "
                        "precision; oracle cov@90%: what a threshold tuned on this split itself would cover)")
    table.add_column("head")
    for header in cols.values():
        table.add_column(header, justify="right")
    for head, m in metrics.items():
        if head not in ("kb", "completeness"):
            table.add_row(head, *[_fmt(m.get(c)) for c in cols])
    console.print(table)
    if "completeness" in metrics:
        c = metrics["completeness"]
        console.print("Completeness scorer: " + ", ".join(f"{k} {v}" for k, v in c.items() if k != "detectors"))
    if "kb" in metrics:
        kb = metrics["kb"]
        console.print(f"KB suggestions ({kb['n']} tickets naming their article): recall@1 {kb['recall_at_1']:.3f}, "
                      f"recall@5 {kb['recall_at_5']:.3f}, MRR {kb['mrr']:.3f}")


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":  # `python -m training.cli ...` runs the whole `triage` command
    from triage.cli import main

    main()
