"""The review loop: durable feedback (even under kill -9), the API, training on corrections, drift, the report."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from training.cli import app as cli_app
from training.pipeline import TrainOptions, train
from triage import Settings, load_triage
from triage.errors import DataError
from triage.feedback import FeedbackStore, open_feedback

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo" / "tickets.csv"
OWNERS = REPO / "data" / "demo" / "owners.yaml"


def _settings(root: Path, cache_dir: Path) -> Settings:
    return Settings(embedder="use-v3", cache_dir=cache_dir, max_tokens=128, feedback_db=root / "feedback.sqlite")


@pytest.fixture(scope="module")
def demo_bundle(tmp_path_factory, use_embedder, cache_dir):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("module-bundle")
    result = train([DEMO], root / "model", options=TrainOptions(cv=3, mlflow=False, owners=OWNERS, refit_full=False),
                   settings=_settings(root, cache_dir), embedder=use_embedder)
    return root, result


def test_store_keeps_every_event_and_the_latest_wins(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite")
    first = store.add({"ticket_id": "T-1", "field": "module", "predicted": "a/b", "correct": "a/b", "reviewer": "r"})
    store.add({"ticket_id": "T-1", "field": "module", "predicted": "a/b", "correct": "a/c", "reviewer": "s"})
    assert first.accepted and first.id == 1 and len(store) == 2
    latest = store.resolved()[("T-1", "module")].review
    assert latest.correct == "a/c" and not latest.accepted and latest.reviewer == "s"
    with pytest.raises(DataError, match="reviewer"):
        store.add({"ticket_id": "T-2", "field": "module", "correct": "x", "reviewer": "  "})
    mode = sqlite3.connect(tmp_path / "fb.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    with pytest.raises(DataError, match="no feedback store"):
        open_feedback(tmp_path / "missing.sqlite", must_exist=True)


def test_acknowledged_feedback_survives_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "fb.sqlite"
    writer = textwrap.dedent(f"""
        import sys
        from triage.feedback import FeedbackStore
        store = FeedbackStore({str(db)!r})
        i = 0
        while True:
            rec = store.add({{"ticket_id": f"T-{{i}}", "field": "module", "predicted": "a", "correct": "b",
                              "reviewer": "r"}})
            print(rec.id, flush=True)  # acknowledged only once add() returned
            i += 1
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    acked = [int(proc.stdout.readline()) for _ in range(150)]
    os.kill(proc.pid, signal.SIGKILL)
    acked += [int(line) for line in proc.stdout.read().split()]
    assert proc.wait(timeout=10) == -signal.SIGKILL
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {row[0] for row in conn.execute("SELECT id FROM feedback")}
    assert set(acked) <= stored and len(acked) >= 150


@pytest.fixture(scope="module")
def client(demo_bundle, use_embedder, cache_dir):  # type: ignore[no-untyped-def]
    root, result = demo_bundle
    triage = load_triage(result.bundle, cache_dir=cache_dir, embedder=use_embedder)
    with TestClient(create_app(_settings(root, cache_dir), triage=triage)) as c:
        yield c


def test_classify_returns_module_owners_owner_and_evidence(client: TestClient) -> None:
    res = client.post("/v1/classify", json={"id": "N-1", "subject": "Не проходят входящие звонки",
                                            "body": "С утра на АТС ошибка SIP 503, телефоны в офисе молчат."})
    assert res.status_code == 200
    module, owner = res.json()["module"], res.json()["owner"]
    assert module["value"] == "telephony/pbx-gateway" and module["level"] == "module"
    assert module["owners"] == ["d.kozlov", "team-voice"]  # on duty first, from the owners file
    assert module["owners_from"]["entry"] == "telephony/pbx-gateway"
    assert module["evidence"]["tickets"][0]["module"] == "telephony/pbx-gateway"
    assert {"звонки", "503", "sip"} & {t["term"] for t in module["evidence"]["terms"]}
    assert owner["top"][0]["value"] in {"team-voice", "d.kozlov"}
    assert owner["evidence"]["tickets"] and "owners" not in owner


def test_feedback_is_stored_and_validated(client: TestClient, demo_bundle) -> None:  # type: ignore[no-untyped-def]
    root, result = demo_bundle
    ok = client.post("/v1/feedback", json={"ticket_id": "N-1", "field": "module", "predicted": "telephony/softphone",
                                           "correct": "telephony/pbx-gateway", "reviewer": "d.kozlov"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["stored"] and not ok.json()["accepted"]
    bad_field = client.post("/v1/feedback", json={"ticket_id": "N-1", "field": "colour", "correct": "red",
                                                  "reviewer": "x"})
    assert bad_field.status_code == 404 and "module" in bad_field.json()["detail"]
    for payload in ({"ticket_id": "N-1", "field": "module", "correct": " ", "reviewer": "x"},
                    {"ticket_id": "N-1", "field": "module", "correct": "a"}):
        assert client.post("/v1/feedback", json=payload).status_code == 422
    stored = list(open_feedback(root / "feedback.sqlite", must_exist=True))
    assert [(f.ticket_id, f.correct, f.model_version) for f in stored] == [
        ("N-1", "telephony/pbx-gateway", result.manifest["model_version"])]


def test_training_learns_corrections_never_predictions_and_warns_on_drift(  # type: ignore[no-untyped-def]
        demo_bundle, tmp_path: Path, use_embedder, cache_dir) -> None:
    _, first = demo_bundle
    df = pd.read_csv(DEMO)
    store = FeedbackStore(tmp_path / "fb.sqlite")
    wifi = df[df["module"] == "network/wifi"]["id"].tolist()
    for tid in wifi:  # the team renamed the module; reviewers corrected every Wi-Fi ticket
        store.add({"ticket_id": tid, "field": "module", "predicted": "network/wifi", "correct": "network/wlan",
                   "reviewer": "r.gusev"})
    vpn = df[df["module"] == "network/vpn"]["id"].iloc[0]
    store.add({"ticket_id": vpn, "field": "module", "predicted": "bogus/guess", "correct": "network/vpn",
               "reviewer": "a.smirnova"})  # the model's guess is never a label
    for i in range(3):  # a brand-new module, reviewed on tickets the history does not have
        store.add({"ticket_id": f"NEW-{i}", "field": "module", "predicted": "iam/ad-accounts",
                   "correct": "iam/sso", "reviewer": "e.volkova", "subject": f"SSO login loop {i}",
                   "body": "Okta redirects back to the login page forever."})
    store.add({"ticket_id": "GONE-1", "field": "module", "predicted": "x", "correct": "y", "reviewer": "r"})
    store.close()
    second = train([DEMO], tmp_path / "model", settings=_settings(tmp_path, cache_dir), embedder=use_embedder,
                   options=TrainOptions(cv=3, mlflow=False, feedback=tmp_path / "fb.sqlite",
                                        previous=first.bundle, refit_full=False))
    m = json.loads((second.bundle / "manifest.json").read_text(encoding="utf-8"))
    assert m["feedback"]["relabelled"] == len(wifi) and m["feedback"]["added"] == 3
    assert m["feedback"]["unmatched"] == 1 and m["feedback"]["corrected"] == len(wifi) + 5
    labels = m["heads"]["module"]["labels"]
    assert "network/wlan" in labels and "network/wifi" not in labels and "bogus/guess" not in labels
    assert "iam/sso" not in labels  # three tickets are too few to learn
    assert m["data"]["rows"] == len(df) + 3
    drift = m["drift"]["module"]
    assert drift["new"] == ["network/wlan"] and drift["disappeared"] == ["network/wifi"]
    assert drift["too_few"] == ["iam/sso"] and drift["previous_version"] == first.manifest["model_version"]
    text = "\n".join(m["warnings"])
    assert "'iam/sso' (3)" in text and "new since" in text and "no longer predicted" in text


def test_report_feedback_acceptance_and_most_corrected(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite")
    reviews = [("a/x", "a/x")] * 3 + [("a/x", "a/y")] + [("b/z", "a/y")] * 2 + [("b/z", "b/z")]
    for i, (pred, correct) in enumerate(reviews):
        store.add({"ticket_id": f"T-{i}", "field": "module", "predicted": pred, "correct": correct, "reviewer": "r"})
    store.add({"ticket_id": "T-0", "field": "owner", "predicted": "p", "correct": "q", "reviewer": "r"})
    store.close()
    out = tmp_path / "report.json"
    res = CliRunner().invoke(cli_app, ["report", "feedback", "--feedback", str(tmp_path / "fb.sqlite"),
                                       "--json", str(out), "--plot", str(tmp_path / "acc.png")])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert (tmp_path / "acc.png").stat().st_size > 1000
    assert report["reviews"] == 7 and report["accepted"] == 4
    per = {m["predicted"]: m for m in report["per_value"]}
    assert per["a/x"]["acceptance"] == 0.75 and per["b/z"]["acceptance"] == pytest.approx(1 / 3, abs=1e-4)
    assert report["most_corrected"][0]["predicted"] == "b/z"
    assert report["most_corrected"][0]["corrected_to"] == [{"value": "a/y", "count": 2}]
    assert report["most_missed"][0] == {"value": "a/y", "count": 3}
    missing = CliRunner().invoke(cli_app, ["report", "feedback", "--feedback", str(tmp_path / "nope.sqlite")])
    assert missing.exit_code == 2 and "no feedback store" in missing.output


def test_served_feedback_survives_kill_9_of_the_service(demo_bundle, tmp_path: Path, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from .test_e2e import free_port, post, wait_ready

    _, result = demo_bundle
    db = tmp_path / "served.sqlite"
    env = {**os.environ, "TRIAGE_CACHE_DIR": str(cache_dir), "TRIAGE_FEEDBACK_DB": str(db),
           "TRIAGE_MAX_TOKENS": "128", "PYTHONPATH": str(REPO)}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "training.cli", "serve", "--model", str(result.bundle),
                             "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(url, proc)
        status, body = post(url + "/v1/classify", {"subject": "Принтер не печатает", "body": "HP на 3 этаже, замятие"})
        assert status == 200 and body["module"]["owners"] and body["module"]["evidence"]["tickets"]
        assert body["owner"]["evidence"]["tickets"]
        ids = []
        for i in range(20):
            status, ack = post(url + "/v1/feedback", {"ticket_id": f"S-{i}", "field": "module",
                                                      "predicted": body["module"]["top"][0]["value"],
                                                      "correct": "hardware/printers", "reviewer": "m.orlov"})
            assert status == 201
            ids.append(ack["id"])
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    stored = {f.id: f for f in open_feedback(db, must_exist=True)}
    assert set(ids) <= set(stored) and stored[ids[-1]].reviewer == "m.orlov"
