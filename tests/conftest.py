"""Shared fixtures. Most tests use the light USE backend on small real slices of ../shared/datasets;
tests marked `slow` load the default multilingual model for real."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Embedding cache and converted models, shared by the whole session.

    The converted e5 model is reused from TRIAGE_TEST_MODEL_CACHE (or the user cache) when present,
    because converting it costs a minute; everything else is per-session.
    """
    path = tmp_path_factory.mktemp("cache")
    shared_models = Path(os.environ.get("TRIAGE_TEST_MODEL_CACHE", Path.home() / ".cache" / "triage")) / "models"
    shared_models.mkdir(parents=True, exist_ok=True)
    (path / "models").symlink_to(shared_models, target_is_directory=True)
    return path


@pytest.fixture(scope="session")
def use_embedder():  # type: ignore[no-untyped-def]
    from triage._embedding import USEEmbedder

    return USEEmbedder(max_tokens=128)


@pytest.fixture(scope="session")
def rutube_slice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """400 real Russian support questions with their level-1 category, plus a mapping file."""
    src = SHARED / "rutube-support-ru" / "cases.csv"
    folder = tmp_path_factory.mktemp("rutube")
    mapping = folder / "mapping.yaml"
    mapping.write_text('columns:\n  body: "Вопрос пользователя"\n  answer: "Ответ сотрудника"\n'
                       '  category: "Классификатор 1 уровня"\ntargets: [category]\n', encoding="utf-8")
    return src, mapping


@pytest.fixture(scope="session")
def tickets_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 real multilingual tickets with queue / priority / type, and synthetic dates for a time split."""
    src = SHARED / "tickets-multilang" / "dataset-tickets-multi-lang-4-20k.prefix.csv"
    out = tmp_path_factory.mktemp("tickets") / "tickets.csv"
    with src.open(encoding="utf-8") as fh, out.open("w", encoding="utf-8", newline="") as dst:
        reader = csv.DictReader(fh)
        writer = csv.DictWriter(dst, fieldnames=["id", "created_at", "subject", "body", "queue", "priority", "type"])
        writer.writeheader()
        for i, row in enumerate(reader):
            if i == 600:
                break
            writer.writerow({"id": f"M-{i}", "created_at": f"2026-0{1 + i // 100}-{1 + i % 28:02d}T10:00:00Z",
                             "subject": row["subject"], "body": row["body"], "queue": row["queue"],
                             "priority": row["priority"], "type": row["type"]})
    return out


@pytest.fixture(scope="session")
def trained_bundle(tmp_path_factory: pytest.TempPathFactory, tickets_slice: Path, use_embedder, cache_dir: Path):  # type: ignore[no-untyped-def]
    """A real bundle trained on real tickets with the light embedder (MLflow into a temp SQLite store)."""
    from training.pipeline import TrainOptions, train
    from triage import Settings

    root = tmp_path_factory.mktemp("bundle")
    settings = Settings(embedder="use-v3", cache_dir=cache_dir, max_tokens=128,
                        mlflow_tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    result = train([tickets_slice], root / "model", options=TrainOptions(targets=["queue", "type"], cv=3),
                   settings=settings, embedder=use_embedder)
    return result


@pytest.fixture(scope="session", autouse=True)
def dev_mode_by_default():  # type: ignore[no-untyped-def]
    """Tests run the service in development mode (no keys) unless they opt out.

    Session-scoped and on os.environ, so module-scoped app fixtures and subprocess servers
    (`triage serve` in test_e2e) see it too. To test security, pass `Settings(dev_mode=False, ...)`
    or use the `secure_env` fixture, which removes it for one test.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRIAGE_DEV_MODE", "1")
        yield


@pytest.fixture
def secure_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIAGE_DEV_MODE", raising=False)
