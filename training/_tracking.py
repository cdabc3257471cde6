"""MLflow logging an analyst can trust: what was trained on what, and how each model version scored.

- The store does not depend on the working directory (`triage._registry.tracking_uri`: the
  `TRIAGE_MLFLOW_TRACKING_URI` / `MLFLOW_TRACKING_URI` environment, else `<TRIAGE_HOME>/mlflow`).
- Runs are named for what they did ("train category+priority 2026-12-02 18:40", "evaluate v3 on
  recent.csv ...", "compare v2 vs v3 ..."), and tagged `triage.kind`, `triage.data_sha256`,
  `triage.code_version` (the git commit when run from a checkout, else the package version).
- Every training registers its bundle as a new version of the registered model and moves the alias
  `challenger` to it; `triage promote` moves `champion`. Evaluate and compare runs carry
  `triage.model.<role>` tags naming the versions they scored, and each scored version gets a tag
  pointing back at the run, so either side leads to the other in the UI.
- The training tickets are logged with `mlflow.data` (a pandas dataset with its digest).
"""

from __future__ import annotations

import functools
import subprocess
import time
from pathlib import Path
from typing import Any

import pandas as pd

from triage._registry import CHALLENGER, tracking_uri

__all__ = ["code_version", "log_run", "log_scoring_run", "run_name", "tracking_uri"]
_ROOT = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """`git:<sha>[+dirty]` in a checkout, else `triage <version>` of the installed package."""
    try:
        sha = subprocess.run(["git", "-C", str(_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(_ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        return f"git:{sha}{'+dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        from importlib import metadata

        try:
            return f"triage {metadata.version('triage')}"
        except metadata.PackageNotFoundError:
            return "unknown"


def run_name(kind: str, what: str) -> str:
    return f"{kind} {what} {time.strftime('%Y-%m-%d %H:%M')}"


def _experiment(mlflow: Any, name: str, uri: str) -> str:
    """Create the experiment on first use; a SQLite store keeps its artifacts in a folder beside it."""
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return str(exp.experiment_id)
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").resolve().as_uri()
    return str(mlflow.create_experiment(name, artifact_location=location))


def _tags(kind: str, data_sha: str | None, extra: dict[str, str]) -> dict[str, str]:
    tags = {"triage.kind": kind, "triage.code_version": code_version(), **extra}
    if data_sha:
        tags["triage.data_sha256"] = data_sha
    return tags


def _dataset(df: pd.DataFrame, source: str, name: str, targets: list[str]) -> Any:
    """The tickets as an `mlflow.data` pandas dataset (schema, profile, digest; MLflow stores no rows)."""
    import mlflow.data

    cols = [c for c in ("id", "created_at", "language", "text", *targets) if c in df.columns]
    frame = df[cols].copy()
    if "created_at" in frame:
        frame["created_at"] = frame["created_at"].astype("string")
    return mlflow.data.from_pandas(frame.astype("string"), source=source, name=name)  # type: ignore[attr-defined]


def log_run(*, uri: str, experiment: str, registered_model: str, params: dict[str, Any],
            metrics: dict[str, float], artifacts: list[Path], bundle: Path, tags: dict[str, str],
            name: str = "train", data: pd.DataFrame | None = None, data_source: str = "",
            targets: list[str] | None = None, data_sha: str | None = None) -> dict[str, str]:
    """Log one training run, register the bundle as a new version and give it the alias `challenger`."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(uri)
    exp_id = _experiment(mlflow, experiment, uri)
    all_tags = _tags("train", data_sha, tags)
    with mlflow.start_run(experiment_id=exp_id, tags=all_tags, run_name=name) as run:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None})
        if data is not None:
            mlflow.log_input(_dataset(data, data_source, "training tickets", targets or []), context="training")
        for path in artifacts:
            mlflow.log_artifact(str(path), artifact_path="plots")
        mlflow.log_artifacts(str(bundle), artifact_path="bundle")
        client = MlflowClient(tracking_uri=uri)
        try:
            client.get_registered_model(registered_model)
        except Exception:  # MlflowException(RESOURCE_DOES_NOT_EXIST); the type differs between stores
            client.create_registered_model(registered_model, description="triage model bundles; alias champion "
                                           "is served, challenger is the newest training")
        version = client.create_model_version(registered_model, source=f"{run.info.artifact_uri}/bundle",
                                              run_id=run.info.run_id, tags=all_tags,
                                              description=name)
        client.set_registered_model_alias(registered_model, CHALLENGER, version.version)
        mlflow.set_tag("triage.registered_version", f"{registered_model}/{version.version}")
        return {"run_id": run.info.run_id, "experiment_id": exp_id, "run_name": name,
                "registered_model": registered_model, "model_version": str(version.version)}


def log_scoring_run(*, settings: Any, kind: str, name: str, models: dict[str, dict[str, Any]],
                    metrics: dict[str, float], report: Path, data: pd.DataFrame, data_source: str,
                    data_sha: str, params: dict[str, Any] | None = None) -> str:
    """An evaluate or compare run: metrics, the report folder, the data, links to the scored versions.

    `models` maps a role (`model`, `champion`, `challenger`) to the scored model's registry description
    (`ResolvedModel.describe()` plus `model_version`, the bundle's own version). Returns the run id.
    """
    import mlflow
    from mlflow import MlflowClient

    uri = tracking_uri(settings)
    mlflow.set_tracking_uri(uri)
    exp_id = _experiment(mlflow, settings.mlflow_experiment, uri)
    tags = _tags(kind, data_sha, {})
    for role, info in models.items():
        tags[f"triage.model.{role}"] = _label(info)
        tags[f"triage.bundle.{role}"] = str(info.get("model_version"))
    with mlflow.start_run(experiment_id=exp_id, tags=tags, run_name=name) as run:
        mlflow.log_params({k: str(v)[:500] for k, v in (params or {}).items()})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None})
        mlflow.log_input(_dataset(data, data_source, f"{kind} tickets", []), context=kind)
        mlflow.log_artifacts(str(report), artifact_path="report")
        client = MlflowClient(tracking_uri=uri)
        for role, info in models.items():
            if info.get("name") and info.get("version"):
                try:
                    client.set_model_version_tag(info["name"], info["version"], f"triage.{kind}.{run.info.run_id}",
                                                 f"{role}: {name}")
                except Exception as exc:  # a version of another store (a bundle directory trained elsewhere)
                    mlflow.set_tag(f"triage.model.{role}.link", f"not linked: {type(exc).__name__}")
        return str(run.info.run_id)


def _label(info: dict[str, Any]) -> str:
    if info.get("name") and info.get("version"):
        alias = f" (@{info['alias']})" if info.get("alias") else ""
        return f"models:/{info['name']}/{info['version']}{alias}"
    return f"bundle {info.get('model_version')}"
