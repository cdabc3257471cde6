"""Roles, keys and HMAC signatures on a real app; the route table covers every route."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api._auth import PUBLIC, ROUTE_ROLES, roles_for
from api._keys import ROLES, hash_key, read_keys_file
from api.app import create_app
from triage import Settings
from triage.errors import TriageError

from ._secure import KEYS, WEBHOOK_SECRET, auth, secure_client
from .conftest import REPO

TICKET = {"id": "A-1", "subject": "VPN не подключается", "body": "Ошибка 412 при входе"}


@pytest.fixture(scope="module")
def client(trained_bundle, use_embedder, cache_dir):  # type: ignore[no-untyped-def]
    with secure_client(trained_bundle.bundle, use_embedder, cache_dir) as c:
        yield c


def test_every_route_is_in_the_role_table(client: TestClient) -> None:
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and route.path not in PUBLIC:
            for method in route.methods:
                assert roles_for(method, route.path), f"{method} {route.path} missing from ROUTE_ROLES"
    assert roles_for("GET", "/v1/reports/weekly") == {"analyst"}  # prefix entries
    assert roles_for("DELETE", "/v1/classify") is None


def test_no_key_is_401_with_what_to_do(client: TestClient) -> None:
    res = client.post("/v1/classify", json=TICKET)
    assert res.status_code == 401 and "Authorization: Bearer" in res.json()["detail"]
    assert res.headers["www-authenticate"] == "Bearer"
    res = client.post("/v1/classify", json=TICKET, headers={"Authorization": "Bearer trg_not-a-real-key"})
    assert res.status_code == 401
    res = client.post("/v1/classify", json=TICKET, headers={"X-API-Key": "wrong"})
    assert res.status_code == 401


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/v1/classify", TICKET), ("POST", "/v1/classify/batch", [TICKET]),
    ("POST", "/v1/kb/search", {"query": "vpn", "k": 2}), ("GET", "/v1/model", None), ("GET", "/metrics", None),
])
def test_each_role_gets_exactly_its_routes(client: TestClient, method: str, path: str, body: object) -> None:
    allowed = ROUTE_ROLES[(method, path)]
    for role in ROLES:
        res = client.request(method, path, json=body, headers=auth(role))
        if role in allowed:
            assert res.status_code in (200, 404), (role, path, res.text)  # 404: no KB index in this app
        else:
            assert res.status_code == 403, (role, path, res.status_code)
            assert f"key '{role}'" in res.json()["detail"] and "needs one of" in res.json()["detail"]


def test_x_api_key_header_and_public_routes(client: TestClient) -> None:
    assert client.post("/v1/classify", json=TICKET, headers={"X-API-Key": KEYS["helpdesk"]}).status_code == 200
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
    schema = client.get("/openapi.json").json()
    assert schema["paths"]["/v1/classify"]["post"]["responses"]["401"]
    assert "bearer" in schema["components"]["securitySchemes"]


def test_hmac_signature_as_zammad_sends_it(client: TestClient) -> None:
    raw = json.dumps(TICKET, ensure_ascii=False).encode()
    good = "sha1=" + hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha1).hexdigest()
    headers = {"content-type": "application/json"}
    res = client.post("/v1/classify", content=raw, headers={**headers, "X-Hub-Signature": good})
    assert res.status_code == 200 and res.json()["ticket_id"] == "A-1"
    tampered = raw.replace(b"412", b"413")
    assert client.post("/v1/classify", content=tampered,
                       headers={**headers, "X-Hub-Signature": good}).status_code == 401
    bad = "sha1=" + "0" * 40
    assert client.post("/v1/classify", content=raw, headers={**headers, "X-Hub-Signature": bad}).status_code == 401
    # the webhook role is helpdesk: it may classify, not read the model
    assert client.get("/v1/model", headers={"X-Hub-Signature": good}).status_code == 401  # signature of b""
    empty = "sha1=" + hmac.new(WEBHOOK_SECRET.encode(), b"", hashlib.sha1).hexdigest()
    assert client.get("/v1/model", headers={"X-Hub-Signature": empty}).status_code == 403


def test_unlisted_route_is_refused(trained_bundle, use_embedder, cache_dir) -> None:  # type: ignore[no-untyped-def]
    with secure_client(trained_bundle.bundle, use_embedder, cache_dir) as c:
        @c.app.get("/v1/forgotten")  # type: ignore[attr-defined, untyped-decorator]
        def forgotten() -> dict[str, str]:
            return {"secret": "data"}

        res = c.get("/v1/forgotten", headers=auth("all"))
        assert res.status_code == 403 and "ROUTE_ROLES" in res.json()["detail"]


@pytest.mark.usefixtures("secure_env")
@pytest.mark.parametrize("secret", ["", "changeme", "short"])
def test_refuses_to_start_open_or_with_weak_secret(tmp_path: Path, secret: str) -> None:
    with pytest.raises(TriageError, match="no API keys"):
        create_app(Settings(cache_dir=tmp_path, model_dir=tmp_path))
    with pytest.raises(TriageError, match="TRIAGE_WEBHOOK_SECRET"):
        create_app(Settings(cache_dir=tmp_path, model_dir=tmp_path, webhook_secret=secret))
    assert create_app(Settings(cache_dir=tmp_path, model_dir=tmp_path, dev_mode=True)) is not None


@pytest.mark.usefixtures("secure_env")
def test_bad_key_config_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(TriageError, match="sha256"):
        create_app(Settings(cache_dir=tmp_path, model_dir=tmp_path, api_keys="bob:agent:trg_plaintextkey"))
    with pytest.raises(TriageError, match="roles from"):
        create_app(Settings(cache_dir=tmp_path, model_dir=tmp_path, api_keys=f"bob:root:{'a' * 64}"))


def test_keys_cli_prints_once_and_stores_only_the_hash(tmp_path: Path) -> None:
    file = tmp_path / "keys.yaml"
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    res = subprocess.run([sys.executable, "-m", "training.cli", "keys", "add", "--role", "agent", "--name", "zammad",
                          "--file", str(file)], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    key = res.stdout.strip()
    assert key.startswith("trg_") and len(key) > 40
    stored = file.read_text(encoding="utf-8")
    assert key not in stored and hash_key(key) in stored
    assert file.stat().st_mode & 0o077 == 0
    assert read_keys_file(file)[0]["roles"] == ["agent"]
    again = subprocess.run([sys.executable, "-m", "training.cli", "keys", "add", "--role", "agent", "--name", "zammad",
                            "--file", str(file)], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert again.returncode != 0 and "already has a key" in again.stderr
    bad = subprocess.run([sys.executable, "-m", "training.cli", "keys", "add", "--role", "root", "--name", "x",
                          "--file", str(file)], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert bad.returncode == 2 and "choose from" in bad.stderr


@pytest.mark.usefixtures("secure_env")
def test_serve_refuses_to_start_without_keys(trained_bundle) -> None:  # type: ignore[no-untyped-def]
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    res = subprocess.run([sys.executable, "-m", "training.cli", "serve", "--model", str(trained_bundle.bundle),
                          "--port", "9"], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert res.returncode == 1 and "no API keys configured" in res.stderr and "TRIAGE_DEV_MODE=1" in res.stderr
