"""Shared fixtures. Most tests use the light USE backend on in-repo data: the demo tickets (data/demo) and
small real slices of MIT / CC BY datasets (data/real). Tests on datasets whose licence does not allow copying
them into the repository are marked `needs_shared` and run only where ../shared/datasets exists (our CI);
each has an in-repo twin covering the same code path. Tests marked `slow` load the default multilingual model.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

pytest_plugins = ["tests._postgres"]  # the real PostgreSQL fixtures: postgres, pg_url, db_url

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TRIAGE_SHARED_DATASETS") or REPO.parent / "shared" / "datasets")
NEEDS_SHARED = "needs ../shared/datasets (CI only; licence does not allow copying into the repo)"
DEMO = REPO / "data" / "demo"
REAL = REPO / "data" / "real"
FIREFOX_MAPPING = 'columns:\n  subject: IssueTitle\n  body: Description\n  module: ComponentName\n'
HADOOP_MAPPING = ('columns:\n  id: "Issue id"\n  subject: Summary\n  body: Description\n'
                  '  created_at: Created\n')


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip `needs_shared` tests, with the reason, when the shared datasets are not there."""
    skip = pytest.mark.skipif(not SHARED.is_dir(), reason=NEEDS_SHARED)  # evaluated here, once per session
    for item in items:
        if item.get_closest_marker("needs_shared"):
            item.add_marker(skip)


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
def demo_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 600 demo tickets (ru/en, dated, with category / priority / module / owner and more)."""
    out = tmp_path_factory.mktemp("demo") / "tickets.csv"
    with (DEMO / "tickets.csv").open(encoding="utf-8", newline="") as fh, \
            out.open("w", encoding="utf-8", newline="") as dst:
        reader = csv.DictReader(fh)
        writer = csv.DictWriter(dst, fieldnames=list(reader.fieldnames or []))
        writer.writeheader()
        for i, row in enumerate(reader):
            if i == 600:
                break
            writer.writerow(row)
    return out


@pytest.fixture(scope="session")
def labels_slice(tmp_path_factory: pytest.TempPathFactory, demo_slice: Path) -> Path:
    """The demo slice without `module` / `owner`, so a bundle trained on it has just the requested heads
    (module and owner join automatically when their column is present; their own tests cover them)."""
    out = tmp_path_factory.mktemp("labels") / "tickets.csv"
    with demo_slice.open(encoding="utf-8", newline="") as fh, out.open("w", encoding="utf-8", newline="") as dst:
        reader = csv.DictReader(fh)
        fields = [f for f in reader.fieldnames or [] if f not in ("module", "owner")]
        writer = csv.DictWriter(dst, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(reader)
    return out


@pytest.fixture(scope="session")
def firefox_slice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """360 real Firefox bugs (MIT, data/real/firefox-components) and the mapping naming their columns."""
    mapping = tmp_path_factory.mktemp("firefox") / "mapping.yaml"
    mapping.write_text(FIREFOX_MAPPING, encoding="utf-8")
    return REAL / "firefox-components" / "bugs.csv", mapping


@pytest.fixture(scope="session")
def hadoop_slice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """400 real Hadoop Jira issues, their duplicate links (CC BY 4.0, data/real/hadoop-duplicates), a mapping."""
    mapping = tmp_path_factory.mktemp("hadoop") / "mapping.yaml"
    mapping.write_text(HADOOP_MAPPING, encoding="utf-8")
    folder = REAL / "hadoop-duplicates"
    return folder / "issues.csv", folder / "duplicates.csv", mapping


@pytest.fixture(scope="session")
def rutube_slice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """400 real Russian support questions with their level-1 category, plus a mapping file (needs_shared)."""
    src = SHARED / "rutube-support-ru" / "cases.csv"
    folder = tmp_path_factory.mktemp("rutube")
    mapping = folder / "mapping.yaml"
    mapping.write_text('columns:\n  body: "Вопрос пользователя"\n  answer: "Ответ сотрудника"\n'
                       '  category: "Классификатор 1 уровня"\ntargets: [category]\n', encoding="utf-8")
    return src, mapping


@pytest.fixture(scope="session")
def trained_bundle(tmp_path_factory: pytest.TempPathFactory, labels_slice: Path, use_embedder, cache_dir: Path):  # type: ignore[no-untyped-def]
    """A real bundle trained on the demo tickets' category and priority with the light embedder
    (MLflow into a temp SQLite store)."""
    from training.pipeline import TrainOptions, train
    from triage import Settings

    root = tmp_path_factory.mktemp("bundle")
    settings = Settings(embedder="use-v3", cache_dir=cache_dir, max_tokens=128,
                        mlflow_tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    result = train([labels_slice], root / "model", options=TrainOptions(targets=["category", "priority"], cv=3),
                   settings=settings, embedder=use_embedder)
    return result


@pytest.fixture(scope="session", autouse=True)
def dev_mode_by_default(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Tests run the service in development mode (no keys) unless they opt out.

    Session-scoped and on os.environ, so module-scoped app fixtures and subprocess servers
    (`triage serve` in test_e2e) see it too. To test security, pass `Settings(dev_mode=False, ...)`
    or use the `secure_env` fixture, which removes it for one test.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRIAGE_DEV_MODE", "1")
        # served predictions (the review queue) go to a session folder, not the working directory
        mp.setenv("TRIAGE_PREDICTIONS_DB", str(tmp_path_factory.mktemp("predictions") / "predictions.sqlite"))
        # the default MLflow store and registry-model histories live under TRIAGE_HOME: never the user's own
        mp.setenv("TRIAGE_HOME", str(Path(os.environ.get("TMPDIR", "/tmp")) / f"triage-test-home-{os.getpid()}"))
        # tuning an embedder for the label heads costs minutes; the tests of it ask for it by name
        mp.setenv("TRIAGE_LABEL_TUNING", os.environ.get("TRIAGE_TEST_LABEL_TUNING", "off"))
        yield


@pytest.fixture
def secure_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIAGE_DEV_MODE", raising=False)
