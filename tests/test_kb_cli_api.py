"""The KB as users reach it: `triage kb build/search/gaps`, `predict --kb`, `evaluate --kb`, and the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from triage import Settings, load_triage
from triage._kb import load_articles

from .conftest import REPO
from .test_cli import run_cli

DEMO = REPO / "data" / "demo"


@pytest.fixture(scope="module")
def demo_kb(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """The demo KB folder plus the demo tickets' answers, built by the CLI with the light embedder."""
    out = tmp_path_factory.mktemp("kb") / "index"
    res = run_cli("kb", "build", "--source", str(DEMO / "kb"), "--answers", str(DEMO / "tickets.csv"), "--out",
                  str(out), env={"TRIAGE_CACHE_DIR": str(cache_dir)})
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Built index v1" in res.stderr and "615 articles" in res.stderr  # 15 articles + 600 answers
    return out


def test_kb_search_cli_in_both_languages(demo_kb: Path, cache_dir: Path) -> None:
    env = {"TRIAGE_CACHE_DIR": str(cache_dir)}
    res = run_cli("kb", "search", "не подключается VPN, ошибка 412", "--kb", str(demo_kb), "--json",
                  "--source", "kb", env=env)
    assert res.returncode == 0, res.stderr
    hits = json.loads(res.stdout)["hits"]
    assert hits[0]["article_id"].startswith("vpn-") and all(h["source"] == "kb" for h in hits)
    res = run_cli("kb", "search", "the printer jams and prints blank pages", "--kb", str(demo_kb), "--json", env=env)
    hits = json.loads(res.stdout)["hits"]
    assert "printer-troubleshooting.md" in [h["article_id"] for h in hits[:3]]
    assert {h["source"] for h in hits} == {"kb", "answer"}
    assert sum(h["source"] == "answer" for h in hits) <= 2  # past answers never crowd out the articles


def test_kb_update_embeds_only_changes(demo_kb: Path, tmp_path: Path, cache_dir: Path) -> None:
    kb = tmp_path / "kb"
    (kb / "sub").mkdir(parents=True)
    (kb / "sub" / "a.md").write_text("# Wi-Fi\nConnect to CORP-WIFI with your domain login.", encoding="utf-8")
    (kb / "b.md").write_text("# Принтер\nЗамятие бумаги: откройте лоток 2.", encoding="utf-8")
    out = tmp_path / "index"
    env = {"TRIAGE_CACHE_DIR": str(cache_dir)}
    assert run_cli("kb", "build", "--source", str(kb), "--out", str(out), env=env).returncode == 0
    (kb / "b.md").write_text("# Принтер\nЗамятие бумаги: откройте лоток 3.", encoding="utf-8")
    res = run_cli("kb", "build", "--source", str(kb), "--out", str(out), env=env)
    assert res.returncode == 0 and "0 added, 1 changed, 0 removed" in res.stderr, res.stderr
    assert (out / "CURRENT").read_text().strip() == "v000002"


def test_kb_table_with_mapping_reads_like_the_folder() -> None:
    table = {a.id: a for a in load_articles([DEMO / "kb.csv"])}
    folder = {a.id: a for a in load_articles([DEMO / "kb"])}
    assert set(table) == set(folder) and table["vpn-setup.md"].title == folder["vpn-setup.md"].title


def test_bad_kb_table_names_line_and_field(tmp_path: Path) -> None:
    table = tmp_path / "kb.csv"
    table.write_text("id,title,body\na,VPN,text\nb,,\na,Dup,x\n", encoding="utf-8")
    res = run_cli("kb", "build", "--source", str(table), "--out", str(tmp_path / "i"))
    assert res.returncode == 2
    assert f"{table}:3" in res.stderr and "'body'" in res.stderr and "already used on line 2" in res.stderr
    assert not (tmp_path / "i" / "CURRENT").exists()
    res = run_cli("kb", "search", "vpn", "--kb", str(tmp_path / "nothing"))
    assert res.returncode == 2 and "triage kb build" in res.stderr


def test_gaps_lists_unanswered_groups(demo_kb: Path, tmp_path: Path, cache_dir: Path) -> None:
    out = tmp_path / "gaps.jsonl"
    res = run_cli("kb", "gaps", "--kb", str(demo_kb), "--data", str(DEMO / "tickets.csv"), "--min-score", "0.9",
                  "--output", str(out), env={"TRIAGE_CACHE_DIR": str(cache_dir)})
    assert res.returncode == 0, res.stderr[-2000:]
    groups = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert groups and [g["size"] for g in groups] == sorted((g["size"] for g in groups), reverse=True)
    assert all(g["size"] == len(g["ticket_ids"]) >= 3 and g["best_score"] < 0.9 for g in groups)


def test_predict_and_evaluate_with_kb(trained_bundle, demo_kb: Path, tmp_path: Path, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    env = {"TRIAGE_CACHE_DIR": str(cache_dir)}
    out = tmp_path / "pred.jsonl"
    res = run_cli("predict", "--model", str(trained_bundle.bundle), "--kb", str(demo_kb), "--input",
                  str(DEMO / "tickets.csv"), "--output", str(out), env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert 1 <= len(first["kb"]) <= 3 and {"article_id", "title", "score", "snippet", "url"} <= set(first["kb"][0])
    res = run_cli("evaluate", "--model", str(trained_bundle.bundle), "--kb", str(demo_kb), "--data",
                  str(DEMO / "tickets.csv"), "--report", str(tmp_path / "rep"), env=env)
    # besides the labels, the KB part is measured against `kb_article`
    assert res.returncode == 0, res.stderr[-2000:]
    kb = json.loads((tmp_path / "rep" / "metrics.json").read_text(encoding="utf-8"))["metrics"]["kb"]
    assert kb["n"] == 179 and 0.5 < kb["recall_at_5"] <= 1 and kb["recall_at_1"] <= kb["recall_at_5"]


@pytest.fixture(scope="module")
def kb_client(trained_bundle, use_embedder, cache_dir, demo_kb):  # type: ignore[no-untyped-def]
    triage = load_triage(trained_bundle.bundle, cache_dir=cache_dir, embedder=use_embedder)
    from triage._kb import open_kb

    settings = Settings(cache_dir=cache_dir)
    triage.kb = open_kb(demo_kb, use_embedder, settings)
    with TestClient(create_app(settings, triage=triage)) as client:
        yield client


def test_api_kb_search_and_classify(kb_client: TestClient) -> None:
    res = kb_client.post("/v1/kb/search", json={"query": "Outlook просит пароль и не открывается", "k": 4,
                                                "sources": ["kb"]})
    assert res.status_code == 200, res.text
    hits = res.json()["hits"]
    assert len(hits) == 4 and hits[0]["article_id"].startswith("mail-outlook")
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    body = kb_client.post("/v1/classify", json={"subject": "VPN", "body": "AnyConnect error 412 after update"}).json()
    assert any(h["article_id"].startswith("vpn-") for h in body["kb"])
    info = kb_client.get("/v1/model").json()["kb"]
    assert info["counts"]["by_source"] == {"answer": 600, "kb": 15} and info["backend"]["backend"] == "faiss"


@pytest.mark.parametrize("payload", [{"query": "   "}, {"query": "vpn", "k": 0}, {"query": "vpn", "k": 51},
                                     {"query": "vpn", "sources": ["web"]}, {}])
def test_api_kb_search_rejects_bad_requests(kb_client: TestClient, payload: dict) -> None:  # type: ignore[type-arg]
    res = kb_client.post("/v1/kb/search", json=payload)
    assert res.status_code == 422 and res.json()["detail"]


def test_api_kb_search_without_index_is_404(trained_bundle, use_embedder, cache_dir) -> None:  # type: ignore[no-untyped-def]
    triage = load_triage(trained_bundle.bundle, cache_dir=cache_dir, embedder=use_embedder)
    with TestClient(create_app(Settings(cache_dir=cache_dir), triage=triage)) as client:
        res = client.post("/v1/kb/search", json={"query": "vpn"})
        assert res.status_code == 404 and "triage kb build" in res.json()["detail"]
        assert client.post("/v1/classify", json={"subject": "vpn"}).json()["kb"] == []
