"""The analyst workflow end to end on a real MLflow SQLite store in tmp_path: two trainings register two
versions (alias challenger moves), promote sets champion, compare scores both with intervals and logs a run
linking them, and a service started on models:/triage@champion serves the new champion after a reload."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory, demo_slice: Path, use_embedder, cache_dir: Path):  # type: ignore[no-untyped-def]
    from training.pipeline import TrainOptions, train
    from triage import Settings

    root = tmp_path_factory.mktemp("analyst")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    df = pd.read_csv(demo_slice, dtype=str, keep_default_na=False)
    old, recent = root / "old.csv", root / "recent.csv"
    df.iloc[:400].drop(columns=["module", "owner"]).to_csv(old, index=False)
    df.iloc[400:].to_csv(recent, index=False)
    settings = Settings(embedder="use-v3", cache_dir=cache_dir, max_tokens=128, mlflow_tracking_uri=uri,
                        home=root / "home", history_db=None)
    first = train([old], root / "v1", settings=settings, embedder=use_embedder,
                  options=TrainOptions(targets=["category"], cv=3, features="lexical"))
    second = train([old], root / "v2", settings=settings, embedder=use_embedder,
                   options=TrainOptions(targets=["category"], cv=3))
    return {"root": root, "uri": uri, "settings": settings, "first": first, "second": second, "recent": recent}


def test_train_registers_versions_with_challenger_alias_and_named_runs(flow) -> None:  # type: ignore[no-untyped-def]
    client = MlflowClient(tracking_uri=flow["uri"])
    assert flow["first"].manifest["mlflow"]["model_version"] == "1"
    assert str(client.get_model_version_by_alias("triage", "challenger").version) == "2"
    run = client.get_run(flow["second"].manifest["mlflow"]["run_id"])
    assert run.info.run_name.startswith("train category ")
    assert run.data.tags["triage.data_sha256"] == flow["second"].manifest["data"]["sha256"]
    assert run.data.tags["triage.code_version"].startswith(("git:", "triage "))
    assert [i.dataset.name for i in run.inputs.dataset_inputs] == ["training tickets"]


def test_promote_compare_and_serve_the_champion_without_restart(flow, use_embedder) -> None:  # type: ignore[no-untyped-def]
    from api.app import create_app
    from training.compare import compare
    from triage._registry import resolve_model, set_alias

    settings = flow["settings"]
    moved = set_alias(flow["first"].bundle, settings)  # a bundle directory: its registered version
    assert (moved["version"], moved["previous"]) == ("1", None)
    resolved = resolve_model("models:/triage@champion", settings)
    assert resolved.version == "1" and (resolved.path / "manifest.json").is_file()
    assert json.loads((resolved.path / "manifest.json").read_text())["model_version"] == \
        flow["first"].manifest["model_version"]

    report = flow["root"] / "cmp"
    result = compare("models:/triage@champion", "models:/triage@challenger", flow["recent"], report,
                     settings=settings, resamples=200)
    cat = result["differences"]["category"]["macro_f1"]
    assert cat["ci_low"] <= cat["diff"] <= cat["ci_high"]
    assert result["verdict"].startswith("challenger ")
    text = (report / "report.md").read_text()
    assert "Verdict" in text and "## category" in text and "threshold" in text
    assert (report / "plots" / "differences_macro_f1.png").is_file()
    run = MlflowClient(tracking_uri=flow["uri"]).get_run(result["mlflow_run_id"])
    assert run.data.tags["triage.model.champion"] == "models:/triage/1 (@champion)"
    assert run.data.tags["triage.model.challenger"] == "models:/triage/2 (@challenger)"

    app = create_app(settings.model_copy(update={"model_ref": "models:/triage@champion", "dev_mode": True,
                                                 "history_db": flow["root"] / "serve-history.sqlite"}))
    with TestClient(app) as http:
        assert http.get("/v1/model").json()["registry"]["version"] == "1"
        set_alias("models:/triage/2", settings)
        answer = http.post("/v1/admin/reload")
        assert answer.status_code == 200, answer.text
        info = http.get("/v1/model").json()
        assert (info["registry"]["version"], info["registry"]["alias"]) == ("2", "champion")
        assert info["model_version"] == flow["second"].manifest["model_version"]


def test_unknown_alias_is_a_clear_bundle_error(flow) -> None:  # type: ignore[no-untyped-def]
    from triage._registry import resolve_model
    from triage.errors import BundleError

    with pytest.raises(BundleError, match=r"no alias .nope.*versions"):
        resolve_model("models:/triage@nope", flow["settings"])
    with pytest.raises(BundleError, match="not a model reference"):
        resolve_model("models:/triage/x/y", flow["settings"])


def test_bootstrap_figures_match_sklearn() -> None:
    from sklearn.metrics import f1_score

    from training._metrics import HeadScores, figures

    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(4), size=200)
    y = rng.choice(["a", "b", "c", "d", "new"], size=200)
    s = HeadScores(np.array(["a", "b", "c", "d"]), probs, y, 0.4, 0.9)
    got = figures(s, np.ones(200))
    want = f1_score(y, s.pred.astype(str), average="macro", labels=["a", "b", "c", "d"], zero_division=0)
    assert got["macro_f1"][0] == pytest.approx(want)
    assert got["accuracy"][0] == pytest.approx((s.pred == y).mean())


def test_report_drift_reads_the_live_history(flow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """After serving tickets, `triage report drift` compares the history's predictions with training."""
    from typer.testing import CliRunner

    from triage import open_triage
    from triage.cli import load_commands

    history = tmp_path / "history.sqlite"
    settings = flow["settings"].model_copy(update={"history_db": history})
    triage = open_triage(flow["second"].bundle, settings, kb=None, alerts=False)
    recent = pd.read_csv(flow["recent"], dtype=str, keep_default_na=False)
    triage.classify(recent[["id", "subject", "body"]].to_dict(orient="records"))
    triage.close()
    result = CliRunner().invoke(load_commands(), ["report", "drift", "--model", str(flow["second"].bundle),
                                                  "--history", str(history)],
                                env={"MLFLOW_TRACKING_URI": flow["uri"]})
    assert result.exit_code == 0, result.output
    assert "category: PSI" in result.output and "most recent served tickets" in result.output
