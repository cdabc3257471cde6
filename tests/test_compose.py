"""docker-compose.yml: two API replicas on one PostgreSQL, with Qdrant and MLflow (README "Running several replicas").

No image can be pulled here, so the file is checked, not run: its shape always, and `docker compose
config` (or the older `docker-compose config`) where one is installed.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from triage._db import check_url

from .conftest import REPO

COMPOSE = REPO / "docker-compose.yml"


def test_two_replicas_share_one_postgresql_with_qdrant_and_mlflow() -> None:
    spec = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = spec["services"]
    assert {"api-1", "api-2", "postgres", "qdrant", "mlflow"} <= set(services)
    urls = {name: services[name]["environment"]["TRIAGE_DATABASE_URL"] for name in ("api-1", "api-2")}
    assert len(set(urls.values())) == 1  # one database for both
    url = urls["api-1"].replace("${POSTGRES_PASSWORD:-triage}", "triage")
    assert check_url(url) and "@postgres:5432/" in url
    for name in ("api-1", "api-2"):
        env = services[name]["environment"]
        assert env["TRIAGE_QDRANT_URL"].startswith("http://qdrant:") and env["TRIAGE_MLFLOW_TRACKING_URI"] == \
            "http://mlflow:5000"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["api-1"]["ports"] != services["api-2"]["ports"]


def _compose() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_accepts_the_file() -> None:
    compose = _compose()
    if compose is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed here")
    done = subprocess.run([*compose, "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
