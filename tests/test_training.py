"""Training on the demo tickets (in CI also on real multilingual ones): bundle, manifest, MLflow, crash safety,
load-time checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from triage import load_triage
from triage._bundle import MANIFEST
from triage.errors import BundleError


def test_bundle_has_manifest_heads_and_metrics(trained_bundle) -> None:  # type: ignore[no-untyped-def]
    m = trained_bundle.manifest
    bundle: Path = trained_bundle.bundle
    on_disk = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    assert on_disk["format_version"] == 1 and on_disk["model_version"] == m["model_version"]
    assert set(on_disk["heads"]) == {"category", "priority", "completeness"}  # contract §3: train fits the scorer
    assert on_disk["embedder"]["dim"] == 512 and on_disk["embedder"]["id"].startswith("use-multilingual-v3")
    assert on_disk["data"]["split"] == "time" and on_disk["data"]["rows"] == 600
    assert len(on_disk["data"]["sha256"]) == 64
    assert on_disk["versions"]["scikit-learn"]
    for head in ("category", "priority"):
        metrics = on_disk["metrics"][head]
        assert 0 <= metrics["macro_f1"] <= 1 and metrics["top3_accuracy"] >= metrics["accuracy"]
        assert (bundle / f"plots/confusion_{head}.png").stat().st_size > 1000
        assert (bundle / f"plots/risk_coverage_{head}.png").stat().st_size > 1000
        info = on_disk["heads"][head]
        assert 0 < info["threshold"] <= 1.01 and info["labels"]
    # the category is learnable from text: well above the majority class
    majority = max(on_disk["data"]["label_counts"]["category"].values()) / on_disk["data"]["rows"]
    assert on_disk["metrics"]["category"]["accuracy"] > majority + 0.3


def test_run_is_logged_and_registered_in_mlflow(trained_bundle) -> None:  # type: ignore[no-untyped-def]
    from mlflow import MlflowClient

    info = json.loads((trained_bundle.bundle / MANIFEST).read_text(encoding="utf-8"))["mlflow"]
    db = trained_bundle.bundle.parent / "mlflow.db"
    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    run = client.get_run(info["run_id"])
    assert run.data.metrics["category.macro_f1"] == pytest.approx(trained_bundle.metrics["category"]["macro_f1"])
    assert run.data.params["split"] == "time"
    artifacts = {a.path for a in client.list_artifacts(info["run_id"], "plots")}
    assert "plots/confusion_category.png" in artifacts
    assert {a.path for a in client.list_artifacts(info["run_id"], "bundle")} >= {"bundle/manifest.json"}
    version = client.get_model_version(info["registered_model"], info["model_version"])
    assert version.run_id == info["run_id"]


def test_loaded_bundle_classifies(trained_bundle, use_embedder, cache_dir) -> None:  # type: ignore[no-untyped-def]
    triage = load_triage(trained_bundle.bundle, cache_dir=cache_dir, embedder=use_embedder)
    ticket = {"id": "X-1", "subject": "VPN drops", "body": "AnyConnect disconnects every ten minutes."}
    [res] = triage.classify([ticket])
    assert res["ticket_id"] == "X-1" and res["language"] == "en"
    assert set(res["labels"]) == {"category", "priority"}
    assert res["model_version"] == trained_bundle.manifest["model_version"]


def _copy(bundle: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(bundle, dst)
    return dst


def test_tampered_head_is_refused(trained_bundle, use_embedder, cache_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    copy = _copy(trained_bundle.bundle, tmp_path)
    with (copy / "heads" / "priority.joblib").open("ab") as fh:
        fh.write(b"garbage")
    with pytest.raises(BundleError, match="does not match its manifest hash"):
        load_triage(copy, cache_dir=cache_dir, embedder=use_embedder)


def test_version_mismatch_is_refused(trained_bundle, use_embedder, cache_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    copy = _copy(trained_bundle.bundle, tmp_path)
    manifest = json.loads((copy / MANIFEST).read_text(encoding="utf-8"))
    manifest["versions"]["scikit-learn"] = "0.24.2"
    (copy / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BundleError, match=r"scikit-learn 0.24.2 .*requirements.lock"):
        load_triage(copy, cache_dir=cache_dir, embedder=use_embedder)


def test_embedder_mismatch_is_refused(trained_bundle, cache_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    class Other:
        model_id, dim, max_tokens = "other-model", 384, 128

        def encode(self, texts, **kw):  # type: ignore[no-untyped-def]
            raise AssertionError("never called")

    with pytest.raises(BundleError, match="TRIAGE_EMBEDDER=use-v3"):
        load_triage(trained_bundle.bundle, cache_dir=cache_dir, embedder=Other())  # type: ignore[arg-type]


def test_not_a_bundle(tmp_path, cache_dir) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BundleError, match="not a model bundle"):
        load_triage(tmp_path, cache_dir=cache_dir)


class Exploding:
    """A head whose serialization fails half-way through writing a bundle."""

    def summary(self) -> dict:  # type: ignore[type-arg]
        raise RuntimeError("disk full")


def test_failed_write_keeps_previous_bundle(trained_bundle, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from training._bundle_writer import write_bundle

    copy = _copy(trained_bundle.bundle, tmp_path)
    before = (copy / MANIFEST).read_bytes()

    with pytest.raises(RuntimeError, match="disk full"):
        write_bundle(copy, {"bad": Exploding()}, {"model_version": "x"})
    assert (copy / MANIFEST).read_bytes() == before
    assert not list(tmp_path.glob("copy.tmp-*"))


@pytest.mark.needs_shared
def test_real_multilingual_tickets_train_a_type_head(tmp_path: Path, use_embedder, cache_dir) -> None:  # type: ignore[no-untyped-def]
    """The same training path as `trained_bundle` (the in-repo twin), on 600 real multilingual tickets
    (tickets-multilang, CC BY-NC: evaluation only, so CI only) with synthetic dates for a time split."""
    import csv

    from training.pipeline import TrainOptions, train
    from triage import Settings

    from .conftest import SHARED

    src = SHARED / "tickets-multilang" / "dataset-tickets-multi-lang-4-20k.prefix.csv"
    data = tmp_path / "tickets.csv"
    with src.open(encoding="utf-8") as fh, data.open("w", encoding="utf-8", newline="") as dst:
        writer = csv.DictWriter(dst, fieldnames=["id", "created_at", "subject", "body", "queue", "type"])
        writer.writeheader()
        for i, row in enumerate(csv.DictReader(fh)):
            if i == 600:
                break
            writer.writerow({"id": f"M-{i}", "created_at": f"2026-0{1 + i // 100}-{1 + i % 28:02d}T10:00:00Z",
                             "subject": row["subject"], "body": row["body"], "queue": row["queue"],
                             "type": row["type"]})
    settings = Settings(embedder="use-v3", cache_dir=cache_dir, max_tokens=128)
    result = train([data], tmp_path / "model", options=TrainOptions(targets=["queue", "type"], cv=3, mlflow=False),
                   settings=settings, embedder=use_embedder)
    on_disk = json.loads((result.bundle / MANIFEST).read_text(encoding="utf-8"))
    assert set(on_disk["heads"]) == {"queue", "type", "completeness"}
    assert on_disk["data"]["split"] == "time" and on_disk["data"]["rows"] == 600
    assert result.metrics["type"]["accuracy"] > 0.45  # learnable from text: well above the 1/4 chance level
