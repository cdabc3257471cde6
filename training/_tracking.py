"""MLflow logging: every training run is comparable in the MLflow UI.

The default store is a SQLite file and an artifact folder under ./mlflow, so
an analyst gets the UI with no server; MLFLOW_TRACKING_URI (or
TRIAGE_MLFLOW_TRACKING_URI) points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_DIR = Path("mlflow")


def tracking_uri(override: str | None) -> str:
    if override:
        return override
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    DEFAULT_DIR.mkdir(exist_ok=True)
    return f"sqlite:///{(DEFAULT_DIR / 'mlflow.db').resolve()}"


def _experiment(mlflow: Any, name: str, uri: str) -> str:
    """Create the experiment on first use; a SQLite store keeps its artifacts in a folder beside it."""
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return str(exp.experiment_id)
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").resolve().as_uri()
    return str(mlflow.create_experiment(name, artifact_location=location))


def log_run(*, uri: str, experiment: str, registered_model: str, params: dict[str, Any],
            metrics: dict[str, float], artifacts: list[Path], bundle: Path, tags: dict[str, str]) -> dict[str, str]:
    """Log one run and register the bundle as a new model version; returns ids for the manifest."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(uri)
    exp_id = _experiment(mlflow, experiment, uri)
    with mlflow.start_run(experiment_id=exp_id, tags=tags) as run:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None})
        for path in artifacts:
            mlflow.log_artifact(str(path), artifact_path="plots")
        mlflow.log_artifacts(str(bundle), artifact_path="bundle")
        client = MlflowClient(tracking_uri=uri)
        try:
            client.get_registered_model(registered_model)
        except Exception:  # MlflowException(RESOURCE_DOES_NOT_EXIST); the type differs between stores
            client.create_registered_model(registered_model, description="triage model bundles")
        version = client.create_model_version(registered_model, source=f"{run.info.artifact_uri}/bundle",
                                              run_id=run.info.run_id, tags=tags)
        return {"run_id": run.info.run_id, "experiment_id": exp_id,
                "registered_model": registered_model, "model_version": str(version.version)}
