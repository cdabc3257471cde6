"""Hot reload: a bad bundle is refused with the reason and the old one keeps serving; a real uvicorn
process swaps bundles (endpoint and SIGHUP) under a stream of requests without a single failure."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
import yaml

from api._keys import hash_key

from .._secure import KEYS, auth, keys_env, secure_client
from .._server import call, serve

EARLY, LATE = "trg_early-key-0123456789abcdefghij", "trg_late-key-0123456789abcdefghijk"


def write_keys(path: Path, name: str, key: str) -> None:
    path.write_text(yaml.safe_dump({"keys": [{"name": name, "roles": ["agent"], "sha256": hash_key(key)}]}),
                    encoding="utf-8")


def copy_bundle(src: Path, dst: Path, version: str) -> Path:
    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    manifest["model_version"] = version
    (dst / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return dst


@pytest.fixture(scope="module")
def bundles(trained_bundle, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("models")
    out = {v: copy_bundle(trained_bundle.bundle, root / v, f"v-{v}") for v in ("a", "b", "damaged", "alien")}
    head = next((out["damaged"] / "heads").iterdir())
    head.write_bytes(head.read_bytes()[:-100])  # a truncated copy: its hash no longer matches
    manifest = json.loads((out["alien"] / "manifest.json").read_text(encoding="utf-8"))
    manifest["versions"]["scikit-learn"] = "0.1.0"
    (out["alien"] / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return out


def body_version(bundle: Path) -> str | None:
    """The registered version a bundle directory's manifest names (what the reload answer reports)."""
    return (json.loads((bundle / "manifest.json").read_text()).get("mlflow") or {}).get("model_version")


def test_reload_validates_then_swaps(bundles: dict[str, Path], use_embedder, cache_dir) -> None:  # type: ignore[no-untyped-def]
    with secure_client(bundles["a"], use_embedder, cache_dir, model_root=bundles["a"].parent) as client:
        ticket = {"subject": "Refund please"}
        assert client.post("/v1/classify", json=ticket, headers=auth("agent")).json()["model_version"] == "v-a"
        res = client.post("/v1/admin/reload", json={"model_dir": str(bundles["damaged"])}, headers=auth("analyst"))
        assert res.status_code == 409 and "does not match its manifest hash" in res.json()["detail"]
        assert "still serving v-a" in res.json()["detail"]
        res = client.post("/v1/admin/reload", json={"model_dir": str(bundles["alien"])}, headers=auth("analyst"))
        assert res.status_code == 409 and "scikit-learn 0.1.0" in res.json()["detail"]
        res = client.post("/v1/admin/reload", json={"model_dir": "/etc"}, headers=auth("analyst"))
        assert res.status_code == 403 and "outside the model folder" in res.json()["detail"]
        assert client.post("/v1/classify", json=ticket, headers=auth("agent")).json()["model_version"] == "v-a"
        res = client.post("/v1/admin/reload", json={"model_dir": str(bundles["b"])}, headers=auth("analyst"))
        body = res.json()
        assert res.status_code == 200 and body.pop("registry")["version"] == body_version(bundles["b"])
        assert body == {"model_version": "v-b", "previous": "v-a", "model_dir": str(bundles["b"].resolve())}
        assert client.post("/v1/classify", json=ticket, headers=auth("agent")).json()["model_version"] == "v-b"
        assert client.get("/readyz").json()["model_version"] == "v-b"
        assert client.post("/v1/admin/reload", json={}, headers=auth("agent")).status_code == 403
        metrics = client.get("/metrics", headers=auth("analyst")).text
        info = [line for line in metrics.splitlines() if line.startswith("triage_model_info{")]
        assert info == ['triage_model_info{model_version="v-b"} 1.0']
        assert 'triage_reloads_total{result="rejected"} 2.0' in metrics


def _hammer(url: str, stop: threading.Event, seen: dict[str, int], errors: list[str]) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        try:
            status, body = call("POST", url + "/v1/classify", {"id": f"H-{n}", "subject": "VPN не работает"},
                                headers={"X-API-Key": KEYS["helpdesk"]}, timeout=30)
        except OSError as exc:
            errors.append(repr(exc))
            continue
        if status != 200:
            errors.append(f"{status}: {body}")
        else:
            seen[body["model_version"]] = seen.get(body["model_version"], 0) + 1


@pytest.mark.slow
def test_no_failed_request_during_swaps(bundles: dict[str, Path], cache_dir: Path, tmp_path: Path) -> None:
    live = tmp_path / "live"
    shutil.copytree(bundles["a"], live)
    keys_file = tmp_path / "keys.yaml"
    write_keys(keys_file, "early", EARLY)
    env = {"TRIAGE_CACHE_DIR": str(cache_dir), "TRIAGE_DEV_MODE": "0", "TRIAGE_API_KEYS": keys_env(),
           "TRIAGE_API_KEYS_FILE": str(keys_file),
           "TRIAGE_RATE_LIMIT_PER_MIN": "0", "TRIAGE_MODEL_ROOT": str(bundles["a"].parent.parent),
           "TRIAGE_TEST_LOG": str(tmp_path / "server.log")}
    assert hash_key(KEYS["analyst"]) in env["TRIAGE_API_KEYS"]
    with serve(live, env) as (url, proc):
        stop, seen, errors = threading.Event(), {}, []  # type: ignore[var-annotated]
        workers = [threading.Thread(target=_hammer, args=(url, stop, seen, errors)) for _ in range(3)]
        for w in workers:
            w.start()
        try:
            time.sleep(1)
            for target, status in ((bundles["b"], 200), (bundles["damaged"], 409), (live, 200)):
                res = call("POST", url + "/v1/admin/reload", {"model_dir": str(target)}, headers=auth("analyst"))
                assert res[0] == status, res
                time.sleep(1)
            # retrain in place, then SIGHUP: the server reloads the folder it was started with
            shutil.rmtree(live)
            shutil.copytree(bundles["b"], live)
            manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
            manifest["model_version"] = "v-live2"
            (live / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
            assert call("POST", url + "/v1/classify", {"subject": "x"}, headers={"X-API-Key": EARLY})[0] == 200
            write_keys(keys_file, "late", LATE)  # rotate: SIGHUP re-reads the keys file too
            os.kill(proc.pid, signal.SIGHUP)
            deadline = time.monotonic() + 60
            while call("GET", url + "/readyz")[1]["model_version"] != "v-live2" and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)
            assert call("POST", url + "/v1/classify", {"subject": "x"}, headers={"X-API-Key": LATE})[0] == 200
            assert call("POST", url + "/v1/classify", {"subject": "x"}, headers={"X-API-Key": EARLY})[0] == 401
        finally:
            stop.set()
            for w in workers:
                w.join(timeout=60)
        assert errors == []
        assert {"v-a", "v-b", "v-live2"} <= set(seen), seen
        assert sum(seen.values()) > 30
    log = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert '"msg": "request"' in log and "VPN" not in log  # JSON lines, no ticket text
