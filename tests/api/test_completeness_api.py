"""Completeness through the product: the bundle, /v1/classify, /v1/escalations/score, `triage report escalations`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from training.cli import app as cli_app
from training.completeness import fit_completeness, item_label_columns
from triage import Settings, Triage, load_triage
from triage._bundle import read_manifest
from triage._data import load_tickets
from triage.heads import Features
from triage.heads._cues import ITEMS
from triage.heads.completeness import CompletenessHead

from ..conftest import REPO

RU_TICKET = {"id": "E-1", "subject": "Не формируется отчёт", "language": "ru",
             "body": "Шаги воспроизведения:\n1. Открыть отчёт «Валовая прибыль»\n2. Нажать «Сформировать»\n"
                     "Фактический результат: ошибка «Деление на 0».\nВерсия 1С 8.3.22.1923."}
EN_VAGUE = {"id": "E-2", "subject": "VPN glitchy", "body": "vpn is glitchy again"}


@pytest.fixture(scope="module")
def client(trained_bundle, use_embedder, cache_dir):  # type: ignore[no-untyped-def]
    triage = load_triage(trained_bundle.bundle, cache_dir=cache_dir, embedder=use_embedder)
    with TestClient(create_app(Settings(cache_dir=cache_dir), triage=triage)) as c:
        yield c


def test_bundle_carries_the_scorer(trained_bundle) -> None:  # type: ignore[no-untyped-def]
    manifest = read_manifest(trained_bundle.bundle)
    info = manifest["heads"]["completeness"]
    assert info["kind"] == "completeness" and len(info["sha256"]) == 64
    assert set(info["items"]) == set(ITEMS)
    assert all(v["kind"] == "cues-default" for v in info["items"].values())  # the slice labels no items
    assert manifest["metrics"]["completeness"]["n"] > 0


def test_classify_has_completeness(client: TestClient) -> None:
    res = client.post("/v1/classify", json=RU_TICKET)
    assert res.status_code == 200
    comp = res.json()["completeness"]
    text = RU_TICKET["subject"] + "\n" + RU_TICKET["body"]
    assert set(comp["items"]) == set(ITEMS)
    assert comp["missing"] == [i for i in ITEMS if not comp["items"][i]["present"]]
    assert {"expected_behavior", "diagnostics", "impact"} <= set(comp["missing"])
    assert comp["items"]["steps_to_reproduce"]["present"] and comp["items"]["environment"]["present"]
    for item in comp["items"].values():
        assert item["evidence"] is None or item["evidence"] in text
    assert "воспроизведения" in comp["items"]["steps_to_reproduce"]["evidence"]
    assert "Укажите" in comp["prompts"]["impact"]


def test_score_endpoint(client: TestClient) -> None:
    res = client.post("/v1/escalations/score", json=EN_VAGUE)
    assert res.status_code == 200
    body = res.json()
    assert set(body) == {"score", "ready_for_l3", "threshold", "items", "missing", "prompts", "truncated"}
    assert body["truncated"] is False
    assert not body["ready_for_l3"] and "steps_to_reproduce" in body["missing"]
    assert body["prompts"]["steps_to_reproduce"].startswith("Add steps")
    assert client.post("/v1/escalations/score?threshold=0", json=EN_VAGUE).json()["ready_for_l3"]
    assert client.post("/v1/escalations/score", json=RU_TICKET).json()["score"] > body["score"]


@pytest.mark.parametrize(("url", "payload"), [("/v1/escalations/score?threshold=1.5", EN_VAGUE),
                                               ("/v1/escalations/score", {"id": "x"}),
                                               ("/v1/escalations/score", {"subject": ["a"]})])
def test_score_endpoint_rejects_bad_input(client: TestClient, url: str, payload: dict) -> None:  # type: ignore[type-arg]
    res = client.post(url, json=payload)
    assert res.status_code == 422 and "detail" in res.json()


def test_team_threshold_setting_and_old_bundles(trained_bundle, use_embedder, cache_dir) -> None:  # type: ignore[no-untyped-def]
    triage = load_triage(trained_bundle.bundle, cache_dir=cache_dir, embedder=use_embedder)
    with TestClient(create_app(Settings(cache_dir=cache_dir, completeness_threshold=0.0), triage=triage)) as c:
        body = c.post("/v1/classify", json=EN_VAGUE).json()["completeness"]
        assert body["ready_for_l3"] and body["threshold"] == 0.0
    heads = {k: v for k, v in triage.heads.items() if k != "completeness"}
    old = Triage(use_embedder, heads, triage.manifest)
    with TestClient(create_app(Settings(cache_dir=cache_dir), triage=old)) as c:
        assert "completeness" not in c.post("/v1/classify", json=EN_VAGUE).json()
        res = c.post("/v1/escalations/score", json=EN_VAGUE)
        assert res.status_code == 404 and "retrain" in res.json()["detail"]


def test_train_part_uses_item_columns_and_bounces(tmp_path) -> None:  # type: ignore[no-untyped-def]
    df = load_tickets([REPO / "data" / "demo" / "tickets.csv"])
    df["has_impact"] = [("Влияние" in t or "Impact" in t) for t in df["text"]]
    assert item_label_columns(df) == {"impact": "has_impact"}
    feats = Features(df["text"].tolist(), np.zeros((len(df), 2)))
    idx = np.arange(len(df))
    head, metrics = fit_completeness(feats, df, idx[:450], idx[450:], refit_full=True)
    assert isinstance(head, CompletenessHead) and head.n_train_ == len(df)
    assert head.item_info_["impact"]["kind"] == "learned-structure"
    assert metrics["impact_f1"] > 0.8 and 0.5 < metrics["bounced_auc"] <= 1
    assert head.bounce_info_["used"]


def test_report_escalations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report"
    res = CliRunner().invoke(cli_app, ["report", "escalations", "--data", str(REPO / "data" / "demo" / "tickets.csv"),
                                       "--by", "owner", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    rows = summary["rows"]
    assert rows["all"]["n"] == 600 and abs(rows["all"]["bounced"] - 85 / 600) < 1e-9
    assert "team-1c" in rows and sum(r["n"] for k, r in rows.items() if k != "all") == 600
    assert 0 < rows["all"]["missing_steps_to_reproduce"] < 1
    assert (out / "missing_by_group.png").stat().st_size > 10_000 and (out / "over_time.png").is_file()
    assert (out / "escalations.csv").read_text(encoding="utf-8").count("\n") == 601


def test_report_bad_data_exits_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,subject,info_requested\n1,a,maybe\n", encoding="utf-8")
    res = CliRunner().invoke(cli_app, ["report", "escalations", "--data", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "info_requested" in res.output


def test_evaluate_reports_completeness(trained_bundle, cache_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from training.batch import evaluate_file

    data = tmp_path / "esc.csv"
    data.write_text("id,subject,body,category,info_requested,has_steps_to_reproduce\n"
                    '1,VPN,"vpn broken",VPN и удалённый доступ,true,false\n'
                    '2,Report,"Steps to reproduce:\n1. Open the report\n2. Click Run\nExpected: totals",'
                    "1С и отчёты,false,true\n"
                    '3,Mail,"mail down",Почта,true,false\n'
                    '4,1C,"When I click Post the document fails. Restarted the client.",1С и отчёты,false,true\n',
                    encoding="utf-8")
    metrics = evaluate_file(trained_bundle.bundle, data, tmp_path / "rep",
                            settings=Settings(cache_dir=cache_dir, max_tokens=128))
    comp = metrics["completeness"]
    assert comp["n"] == 4 and comp["steps_to_reproduce_f1"] == 1.0 and comp["bounced_auc"] == 1.0
    assert "Completeness:" in (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
