"""`triage train`: data in, embeddings once, every head fitted, evaluated, bundled and logged."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from sklearn.model_selection import train_test_split

from training._bundle_writer import model_version, update_manifest, write_bundle
from training._metrics import HeadScores, scores_metrics
from training._module import apply_module_options, make_head, module_fit_kwargs
from training._plots import plot_confusion, plot_risk_coverage
from training.completeness import fit_completeness
from training.label_tuning import LABEL_EMBEDDER, LabelTuning, fit_context, maybe_tune
from training.options import TrainOptions  # also re-exported: `from training.pipeline import TrainOptions`
from training.recurring import SEED, build_history_seed
from training.retrieval import duplicate_files, link_files, retrieval_tuning
from triage._data import ColumnMapping, load_tickets
from triage._embedding import CachedEmbedder, Embedder, load_embedder
from triage._history import order_times
from triage.errors import DataError
from triage.heads import Features, LabelHead
from triage.heads._abstain import risk_coverage
from triage.heads._choice import reads_tuned
from triage.settings import Settings

console = Console(stderr=True)
AUTO_HEADS = ("module", "owner")  # fitted whenever the column is present (contract §3)


@dataclass
class TrainResult:
    bundle: Path
    manifest: dict[str, Any]
    metrics: dict[str, dict[str, Any]]
    plots: list[Path]


def data_fingerprint(df: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    for row in df[["id", "text"]].itertuples(index=False):
        digest.update(f"{row.id}\x1f{row.text}\x1e".encode())
    return digest.hexdigest()


def resolve_targets(df: pd.DataFrame, requested: list[str]) -> list[str]:
    """Requested targets must exist; module/owner join automatically when present."""
    targets = list(dict.fromkeys(requested))
    for name in targets:
        if name not in df.columns:
            cols = [c for c in df.columns if not c.startswith("_") and c != "text"]
            raise DataError(f"target '{name}' is not a column of the data; columns: {cols}. "
                            "Map it with a mapping file (columns: {name: 'Source column'}).", field=name)
    for name in AUTO_HEADS:
        if name in df.columns and name not in targets and labelled(df, name).sum() > 0:
            targets.append(name)
    if not targets:  # contract §3: still a bundle (history, recurring problems, completeness)
        console.print("[yellow]No classification target[/]: the bundle will hold the ticket history (similar "
                      "tickets, recurring problems, spikes) and the completeness scorer. To add label heads, "
                      "give --target NAME (e.g. category) or 'targets:' in the mapping.")
    return targets


def labelled(df: pd.DataFrame, target: str) -> pd.Series:
    values = df[target].astype("string").str.strip()
    return values.notna() & (values != "")


def split(df: pd.DataFrame, test_size: float, stratify_on: str | None, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Time-based when at least half the tickets have a date (the honest test of a deployed model), else
    stratified on the first target's known labels (rows without one go to either side at random)."""
    idx = np.arange(len(df))
    if df["created_at"].notna().mean() >= 0.5:
        times = order_times(list(df["created_at"]))  # undated rows keep their place in input order
        order = np.argsort(np.array(times, dtype=float), kind="stable")
        cut = round(len(df) * (1 - test_size))
        return np.sort(order[:cut]), np.sort(order[cut:]), "time"
    strat = None
    if stratify_on is not None:
        known = labelled(df, stratify_on).to_numpy()
        y = np.where(known, df[stratify_on].astype("string").str.strip().fillna("").to_numpy(dtype=object),
                     "\x00missing")  # one string stratum for the unlabelled rows: no str/float comparisons
        _, counts = np.unique(y.astype(str), return_counts=True)
        strat = y.astype(str) if counts.min() >= 2 else None
    train, test = train_test_split(idx, test_size=test_size, stratify=strat, random_state=seed)
    return np.sort(train), np.sort(test), "stratified" if strat is not None else "random"


def fit_head(feats: Features, df: pd.DataFrame, rows: np.ndarray, target: str, opts: TrainOptions,
             chosen: LabelHead | None = None, tuning: LabelTuning | None = None) -> LabelHead:
    """Fit one head; with `chosen`, reuse its selected hyper-parameters instead of searching again."""
    mask = labelled(df.iloc[rows], target).to_numpy()
    rows = rows[mask]
    head = make_head(target, opts)
    if chosen is not None:
        head.set_params(alpha=chosen.alpha_, dense_weight=chosen.dense_weight_, **getattr(chosen, "selected_", {}))
    return head.fit(feats.subset(rows), df[target].iloc[rows].astype(str).str.strip().to_numpy(),
                    **module_fit_kwargs(df, rows, target), **fit_context(tuning, len(df), rows, target))


def head_scores(head: LabelHead, feats: Features, df: pd.DataFrame, rows: np.ndarray) -> HeadScores:
    """The head's probabilities on the labelled tickets among `rows` (the one place they are computed)."""
    rows = rows[labelled(df.iloc[rows], head.target).to_numpy()]
    y = df[head.target].iloc[rows].astype(str).str.strip().to_numpy(dtype=object)
    probs = head.predict_proba(feats.subset(rows)) if len(rows) else np.zeros((0, len(head.classes_)))
    return HeadScores(head.classes_, probs, y, head.threshold_, head.target_precision)


def evaluate_head(head: LabelHead, feats: Features, df: pd.DataFrame, rows: np.ndarray, plot_dir: Path,
                  ) -> tuple[dict[str, Any], list[Path]]:
    """Metrics, a confusion matrix and a risk-coverage plot on the labelled tickets among `rows`."""
    return report_head(head.target, head_scores(head, feats, df, rows), plot_dir)


def report_head(target: str, scores: HeadScores, plot_dir: Path, prefix: str = "") -> tuple[dict[str, Any], list[Path]]:
    """The figures of already-scored tickets, with the held-out prediction mix (the drift baseline) and plots."""
    if len(scores) == 0:
        return {"n": 0}, []
    metrics = scores_metrics(scores)
    predicted = pd.Series(scores.pred).value_counts(normalize=True)
    metrics["predicted_share"] = {str(k): round(float(v), 4) for k, v in predicted.items()}  # drift baseline
    labels = list(scores.classes) + sorted(set(scores.y) - set(scores.classes))  # unseen labels show as rows too
    title = f"{prefix}{target}"
    plots = [plot_confusion(list(scores.y), list(scores.pred), labels, f"{title}: confusion",
                            plot_dir / f"confusion_{prefix}{target}.png")]
    curve = risk_coverage(scores.conf, scores.correct.astype(float))
    point = (metrics["threshold_coverage"], metrics["threshold_precision"] or 0.0)
    plots.append(plot_risk_coverage(curve["coverage"], curve["precision"], point, scores.target_precision,
                                    f"{title}: risk-coverage", plot_dir / f"risk_coverage_{prefix}{target}.png"))
    return metrics, plots


def embed_all(embedder: Embedder, texts: list[str], batch_size: int) -> Features:
    console.print(f"[bold]Embedding[/] {len(texts)} tickets with {embedder.model_id}")
    dense = embedder.encode(texts, kind="query", batch_size=batch_size, progress=True)
    return Features(texts, dense)


def train(paths: list[Path], out: Path, *, mapping: ColumnMapping | None = None, options: TrainOptions | None = None,
          settings: Settings | None = None, embedder: Embedder | None = None) -> TrainResult:
    opts, settings, mapping = options or TrainOptions(), settings or Settings(), mapping or ColumnMapping()
    df = load_tickets(paths, mapping)
    targets = resolve_targets(df, [*opts.targets, *mapping.targets])
    df, module_extra = apply_module_options(df, targets, out, opts)
    console.print(f"Loaded {len(df)} tickets from {len(paths)} file(s); heads: {', '.join(targets)}")
    base = embedder or load_embedder(settings.embedder, cache_dir=settings.cache_dir, max_tokens=settings.max_tokens,
                                     onnx=settings.onnx_graph)
    train_idx, test_idx, split_kind = split(df, opts.test_size, targets[0] if targets else None, opts.seed)
    extra_dirs: dict[str, Path] = {}
    if opts.finetune and not targets:
        raise DataError("--finetune tunes the embedder on a label: give --target NAME")
    cached = CachedEmbedder(base, settings.cache_dir / "embeddings.sqlite")
    feats = embed_all(cached, df["text"].tolist(), settings.batch_size)
    cached.close()
    feats, tuning, tuning_facts = maybe_tune(base, feats, df, train_idx, targets, settings, opts.finetune, opts.seed)
    if tuning is not None:
        extra_dirs[LABEL_EMBEDDER] = tuning.folder
    plot_dir = Path(tempfile.mkdtemp(prefix="triage-plots-"))
    heads, metrics, plots, warnings = {}, {}, [], []
    for target in targets:
        console.print(f"[bold]Training[/] head '{target}'")
        try:
            head = fit_head(feats, df, train_idx, target, opts, tuning=tuning)
        except ValueError as exc:
            raise DataError(str(exc), field=target) from exc
        metrics[target], head_plots = evaluate_head(head, feats, df, test_idx, plot_dir)
        plots += head_plots
        if head.dropped_classes_ and head.slot == "label":  # module/owner: see training/_drift.py
            warnings.append(f"{target}: too few examples to learn {head.dropped_classes_}")
        heads[target] = (fit_head(feats, df, np.arange(len(df)), target, opts, head, tuning) if opts.refit_full
                         else head)
    tuning_facts = drop_unused_tuning(heads, tuning, tuning_facts, extra_dirs)
    answers = [heads[t].abstain_.sentence(t) for t in targets]
    warnings += [a for t, a in zip(targets, answers, strict=True) if heads[t].abstain_.rule != "target"]
    console.print("[bold]Training[/] the completeness scorer")
    heads["completeness"], metrics["completeness"] = fit_completeness(feats, df, train_idx, test_idx, opts.refit_full)
    manifest = build_manifest(df, paths, base, settings, opts, targets, metrics, split_kind, warnings)
    manifest["answers"], manifest["label_embedder"] = answers, tuning_facts
    module_extra.finish(manifest, heads, console)
    seed, manifest["history"] = build_history_seed(df, feats.dense, base.model_id, plot_dir, targets)
    links = link_files(df, plot_dir, manifest)  # ticket -> article / duplicate links: retrieval learns from them
    links.update(duplicate_files(manifest, plot_dir, console))
    manifest["retrieval_embedder"] = retrieval_tuning(base, df, opts.kb_source, mapping, settings, opts.seed,
                                                      extra_dirs)
    bundle = write_bundle(out, heads, manifest, {**{f"plots/{p.name}": p for p in plots}, **module_extra.files,
                                                 SEED: seed, **links}, extra_dirs)
    for folder in [plot_dir, *extra_dirs.values()]:
        shutil.rmtree(folder, ignore_errors=True)
    plots = [bundle / "plots" / p.name for p in plots]
    if opts.mlflow:
        manifest["mlflow"] = log_to_mlflow(bundle, manifest, opts, settings, plots, df, targets)
        update_manifest(bundle, {"mlflow": manifest["mlflow"]})
    return TrainResult(bundle, manifest, metrics, plots)


def drop_unused_tuning(heads: dict[str, Any], tuning: LabelTuning | None, facts: dict[str, Any],
                       extra_dirs: dict[str, Path]) -> dict[str, Any]:
    """Leave the tuned embedder out of the bundle when no head chose it: serving would embed twice for nothing."""
    if tuning is None or any(reads_tuned(getattr(h, "dense_source_", "base")) for h in heads.values()):
        return facts
    shutil.rmtree(extra_dirs.pop(LABEL_EMBEDDER), ignore_errors=True)
    return {**facts, "used": False, "reason": "no label head measured better on the tuned embeddings"}


def build_manifest(df: pd.DataFrame, paths: list[Path], embedder: Embedder, settings: Settings,
                   opts: TrainOptions, targets: list[str], metrics: dict[str, Any], split_kind: str,
                   warnings: list[str]) -> dict[str, Any]:
    sha = data_fingerprint(df)
    dates = df["created_at"].dropna()
    return {
        "model_version": model_version(sha),
        "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "embedder": {"spec": embedder_spec(embedder, settings, opts),
                     "id": embedder.model_id, "dim": embedder.dim, "max_tokens": embedder.max_tokens},
        "data": {"files": [str(p) for p in paths], "rows": len(df), "sha256": sha,
                 "languages": df["language"].value_counts().to_dict(),
                 "created_from": dates.min().isoformat() if len(dates) else None,
                 "created_to": dates.max().isoformat() if len(dates) else None,
                 "split": split_kind, "test_size": opts.test_size,
                 "label_counts": {t: df.loc[labelled(df, t), t].astype(str).value_counts().to_dict()
                                  for t in targets}},
        "options": asdict(opts),
        "metrics": metrics,
        "metrics_note": "held-out split of the training data" + (
            "; the bundle's heads were then refitted on all data" if opts.refit_full else ""),
        "warnings": warnings,
    }


def embedder_spec(embedder: Embedder, settings: Settings, opts: TrainOptions) -> str:
    """How `load_triage` finds the shared embedder again (label tuning keeps its own, in `label_embedder/`)."""
    return "use-v3" if embedder.model_id.startswith("use-") else settings.embedder


def log_to_mlflow(bundle: Path, manifest: dict[str, Any], opts: TrainOptions, settings: Settings,
                  plots: list[Path], df: pd.DataFrame | None = None, targets: list[str] | None = None,
                  ) -> dict[str, str]:
    from training._tracking import log_run, run_name, tracking_uri

    flat = {f"{head}.{k}": v for head, m in manifest["metrics"].items() for k, v in m.items()
            if isinstance(v, int | float)}
    params = {**asdict(opts), "embedder": manifest["embedder"]["id"], "rows": manifest["data"]["rows"],
              "data_sha256": manifest["data"]["sha256"], "split": manifest["data"]["split"]}
    return log_run(uri=tracking_uri(settings), experiment=settings.mlflow_experiment,
                   registered_model=settings.registered_model, params=params, metrics=flat, artifacts=plots,
                   bundle=bundle, tags={"model_version": manifest["model_version"]},
                   name=run_name("train", "+".join(targets or []) or "history-only"), data=df,
                   data_source=", ".join(manifest["data"]["files"]), targets=targets,
                   data_sha=manifest["data"]["sha256"])
