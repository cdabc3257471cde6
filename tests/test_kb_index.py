"""The KB index: chunking, lexical signal, both vector stores under one contract, builds and updates.

Retrieval runs the real light embedder (USE v3) on the demo knowledge base (Russian) next to 360 real Firefox
bugs (English, data/real); in CI also on the real RUTUBE knowledge base.
"""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import numpy as np
import pytest

from kb_index import (
    Article,
    BuildOptions,
    Chunker,
    FaissStore,
    KBIndex,
    QdrantStore,
    build_index,
    read_folder,
    tokenize,
)
from kb_index._lexical import BM25, TermCounts
from kb_index.errors import EncoderMismatchError, IndexBusyError, IndexFormatError, SourceError

from .conftest import DEMO, REAL, SHARED


def test_markdown_is_cut_by_heading_and_keeps_its_place() -> None:
    art = Article("vpn.md", "VPN", "# VPN\nIntro text.\n## Ошибка 412\nПереустановите сертификат.\n"
                  "## Error 809\n" + "Check the firewall. " * 80)
    chunks = Chunker(chunk_chars=400, overlap=50).split(art)
    assert chunks[0].text == "VPN" and chunks[0].position == 0  # the title on its own, for FAQ-style matching
    sections = [c.meta.get("section") for c in chunks[1:]]
    assert sections[0] == "" and "Ошибка 412" in sections and sections.count("Error 809") >= 2
    assert all(len(c.text) <= 400 + len("VPN / Error 809\n") for c in chunks)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert "Переустановите" in next(c.snippet for c in chunks if c.meta.get("section") == "Ошибка 412")


def test_folder_reads_markdown_text_and_html(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "vpn.md").write_text("# Настройка VPN\nШаги.", encoding="utf-8")
    (tmp_path / "printer.txt").write_text("Paper jam: open tray 2.", encoding="utf-8")
    (tmp_path / "mail.html").write_text("<html><head><title>Mail</title><script>var x=1</script></head><body>"
                                        "<h1>Outlook profile</h1><p>Recreate the profile.</p></body></html>",
                                        encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    arts = {a.id: a for a in read_folder(tmp_path)}
    assert set(arts) == {"net/vpn.md", "printer.txt", "mail.html"}
    assert arts["net/vpn.md"].title == "Настройка VPN" and arts["printer.txt"].title == "printer"
    assert arts["mail.html"].title == "Outlook profile" and "# Outlook profile" in arts["mail.html"].body
    assert "var x" not in arts["mail.html"].body
    (tmp_path / "bad.md").write_bytes("Привет".encode("cp1251"))
    with pytest.raises(SourceError, match=r"bad\.md.*UTF-8"):
        read_folder(tmp_path)


def test_tokens_are_stemmed_in_both_languages_and_codes_stay_whole() -> None:
    assert tokenize("Отчёты отчета") == ["отчет", "отчет"]
    assert tokenize("reports reporting") == ["report", "report"]
    toks = tokenize("ERR-1042 in 8.3.22")
    assert "err-1042" in toks and "8.3.22" in toks and "1042" in toks


def test_bm25_ranks_by_matched_terms_and_their_rarity() -> None:
    counts = TermCounts().rebuilt(np.zeros(0, np.int64), ["принтер не печатает", "принтер VPN", "почта не работает"])
    bm25 = BM25(counts)
    assert np.argsort(-bm25.scores("не работает VPN")).tolist() == [2, 1, 0]
    only = bm25.scores("VPN-клиент")
    assert only[1] > 0 and only[0] == only[2] == 0


STORES = ["faiss", "faiss-ivf", "qdrant-memory", "qdrant-path"]


def make_store(kind: str, tmp_path: Path, dim: int):  # type: ignore[no-untyped-def]
    if kind == "faiss":
        return FaissStore(dim)
    if kind == "faiss-ivf":
        return FaissStore(dim, exact_max=100, nprobe=64)
    if kind == "qdrant-memory":
        return QdrantStore(dim, collection="t", path=":memory:")
    return QdrantStore(dim, collection="t", path=str(tmp_path / "q"))


@pytest.mark.parametrize("kind", STORES)
def test_vector_store_contract(kind: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(600, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(1000, 1600, dtype=np.int64)
    store = make_store(kind, tmp_path, 32)
    store.add(ids, vecs, tag=1)
    if isinstance(store, FaissStore):
        store.optimize()
        assert store.exact == (kind == "faiss")
    assert len(store) == 600
    scores, found = store.search(vecs[:5], 3)
    assert found[:, 0].tolist() == ids[:5].tolist()
    assert np.allclose(scores[:, 0], 1.0, atol=1e-4) and (np.diff(scores, axis=1) <= 1e-6).all()
    assert np.allclose(store.get(ids[[7, 3]]), vecs[[7, 3]], atol=1e-5)
    store.delete(ids[:2])
    assert len(store) == 598
    _, found = store.search(vecs[:2], 3)
    assert not set(found.ravel().tolist()) & set(ids[:2].tolist())


@pytest.fixture(scope="module")
def kb_articles() -> list[Article]:
    """The 15 demo KB articles, then 360 real Firefox bugs as short articles: 375 in two languages."""
    with (DEMO / "kb.csv").open(encoding="utf-8") as fh:
        arts = [Article(r["id"], r["title"], r["body"], category=r["category"]) for r in csv.DictReader(fh)]
    with (REAL / "firefox-components" / "bugs.csv").open(encoding="utf-8") as fh:
        arts += [Article(f"ff-{i}", r["IssueTitle"], r["Description"], category=r["ComponentName"].strip())
                 for i, r in enumerate(csv.DictReader(fh))]
    return arts


class CountingEncoder:
    """The real USE encoder, counting what it is asked to embed (to prove updates are incremental)."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.calls = inner, 0

    model_id = property(lambda self: self.inner.model_id)
    dim = property(lambda self: self.inner.dim)

    def encode(self, texts, *, kind="query", batch_size=32, progress=False):  # type: ignore[no-untyped-def]
        self.calls += len(texts)
        return self.inner.encode(texts, kind=kind, batch_size=batch_size, progress=progress)


def ask(index: KBIndex, encoder, query: str, k: int = 3):  # type: ignore[no-untyped-def]
    return index.search(encoder.encode([query], kind="query"), [query], k=k)[0]


@pytest.mark.parametrize("backend", ["faiss", "qdrant"])
def test_build_search_update_and_swap(backend: str, tmp_path: Path, kb_articles, use_embedder) -> None:  # type: ignore[no-untyped-def]
    enc = CountingEncoder(use_embedder)
    root = tmp_path / "kb"
    report = build_index(root, kb_articles, enc, BuildOptions(backend=backend))
    assert report.version == 1 and report.articles == 375 and enc.calls == report.chunks == report.embedded_chunks
    index = KBIndex.open(root, encoder_id=use_embedder.model_id)
    target = next(a for a in kb_articles if a.id == "password-reset.md")
    query = "как сбросить забытый пароль от учётной записи"
    hits = ask(index, use_embedder, query)
    assert hits[0].article_id == target.id and 0 < hits[0].score <= 1
    assert len({h.article_id for h in hits}) == len(hits) == 3  # grouped per article
    if backend == "qdrant":
        index.store.close()  # type: ignore[attr-defined]  # local mode: one process holds the path

    short = next(a for a in kb_articles if a.id.startswith("ff-") and len(a.body) < 300)
    changed = Article(short.id, short.title, short.body + " Updated 2026.")
    new = Article("kb-new", "How do I enable two-factor authentication?",
                  "Open Settings → Security and turn on 2FA with an authenticator app.")
    updated = [a for a in kb_articles if a.id not in (target.id, changed.id)] + [changed, new]
    enc.calls = 0
    report = build_index(root, updated, enc, BuildOptions(backend=backend))
    assert (report.version, report.added, report.changed, report.removed) == (2, ["kb-new"], [changed.id], [target.id])
    assert enc.calls == report.embedded_chunks <= 6  # only the changed and the new article were embedded
    index2 = KBIndex.open(root, encoder_id=use_embedder.model_id)
    assert len(index2.chunks) == report.chunks and index2.version == 2
    assert target.id not in {h.article_id for h in ask(index2, use_embedder, query, 10)}
    assert ask(index2, use_embedder, "turn on two-factor authentication")[0].article_id == "kb-new"
    if backend == "faiss":  # a reader of the old version keeps working after the swap
        assert ask(index, use_embedder, query)[0].article_id == target.id
    else:
        index2.store.close()  # type: ignore[attr-defined]


@pytest.mark.needs_shared
def test_real_russian_knowledge_base(tmp_path: Path, use_embedder) -> None:  # type: ignore[no-untyped-def]
    """The build and search path of test_build_search_update_and_swap (its in-repo twin) on the 326 real
    RUTUBE KB entries (no licence stated: CI only)."""
    with (SHARED / "rutube-support-ru" / "knowledge_base.csv").open(encoding="utf-8") as fh:
        arts = [Article(f"kb-{i}", r["Вопрос из БЗ"], r["Ответ из БЗ"], category=r["Классификатор 1 уровня"])
                for i, r in enumerate(csv.DictReader(fh))]
    report = build_index(tmp_path, arts, use_embedder)
    assert report.articles == 326
    target = next(a for a in arts if "удалить" in a.title.lower() and "аккаунт" in a.title.lower())
    index = KBIndex.open(tmp_path, encoder_id=use_embedder.model_id)
    hits = ask(index, use_embedder, "как удалить мой аккаунт навсегда")
    assert hits[0].article_id == target.id and 0 < hits[0].score <= 1


def test_upsert_mode_keeps_articles_not_mentioned(tmp_path: Path, kb_articles, use_embedder) -> None:  # type: ignore[no-untyped-def]
    build_index(tmp_path, kb_articles[:10], use_embedder)
    report = build_index(tmp_path, [Article("extra", "Extra", "Something new.")], use_embedder,
                         BuildOptions(mode="upsert"))
    assert report.articles == 11 and report.removed == [] and report.embedded_chunks == 2


def test_failed_build_leaves_the_live_version_intact(tmp_path: Path, kb_articles, use_embedder) -> None:  # type: ignore[no-untyped-def]
    build_index(tmp_path, kb_articles[:20], use_embedder)

    class Exploding(CountingEncoder):
        def encode(self, texts, **kw):  # type: ignore[no-untyped-def]
            raise RuntimeError("killed mid-embedding")

    with pytest.raises(RuntimeError):
        build_index(tmp_path, kb_articles[:30], Exploding(use_embedder))
    index = KBIndex.open(tmp_path, encoder_id=use_embedder.model_id)
    assert index.version == 1 and index.chunks["article_id"].nunique() == 20
    assert not list(tmp_path.glob(".build-*"))


def test_second_builder_is_refused_while_one_runs(tmp_path: Path, kb_articles, use_embedder) -> None:  # type: ignore[no-untyped-def]
    started, release = threading.Event(), threading.Event()

    class Slow(CountingEncoder):
        def encode(self, texts, **kw):  # type: ignore[no-untyped-def]
            started.set()
            release.wait(30)
            return super().encode(texts, **kw)

    worker = threading.Thread(target=build_index, args=(tmp_path, kb_articles[:5], Slow(use_embedder)))
    worker.start()
    try:
        assert started.wait(30)
        with pytest.raises(IndexBusyError, match="another process"):
            build_index(tmp_path, kb_articles[:5], use_embedder)
    finally:
        release.set()
        worker.join(60)
    assert KBIndex.open(tmp_path).version == 1


def test_mismatches_are_explained(tmp_path: Path, kb_articles, use_embedder) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IndexFormatError, match="triage kb build"):
        KBIndex.open(tmp_path / "nothing")
    build_index(tmp_path, kb_articles[:5], use_embedder)
    with pytest.raises(EncoderMismatchError, match="rebuild"):
        KBIndex.open(tmp_path, encoder_id="another/model")
    with pytest.raises(SourceError, match="appears twice"):
        build_index(tmp_path, [kb_articles[0], kb_articles[0]], use_embedder)


def test_faiss_switches_to_ivf_when_large_and_back_when_small(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(600, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    store = FaissStore(16, exact_max=300, nprobe=64)
    store.add(np.arange(600), vecs)
    store.optimize()
    assert not store.exact
    store.save(tmp_path)
    loaded = FaissStore.load(tmp_path, 16, exact_max=300, nprobe=64)
    assert not loaded.exact and len(loaded) == 600
    loaded.delete(np.arange(500))
    loaded.optimize()
    assert loaded.exact and len(loaded) == 100
    assert loaded.search(vecs[550:551], 1)[1][0, 0] == 550


def test_an_article_is_scored_by_its_title_and_best_section_together(tmp_path: Path, use_embedder) -> None:
    from kb_index._index import _article_rows

    arts = [Article("a", "VPN", "# VPN\nIntro.\n## Ошибка 412\nПереустановите сертификат."),
            Article("b", "Printer", "Paper jam: open tray 2.", format="text"),
            Article("t:1", "Old ticket", "VPN drops", source="answer", answer="Raised idle timeout.", format="text")]
    build_index(tmp_path, arts, use_embedder)
    index = KBIndex.open(tmp_path)
    title_row, first_body = _article_rows(index.chunks, True)
    ids, pos = index.chunks["article_id"].tolist(), index.chunks["position"].tolist()
    for r, art in enumerate(ids):
        if art == "t:1":  # a past answer has no title chunk of its own
            assert title_row[r] == -1 and first_body[r] == r
        else:
            assert ids[title_row[r]] == art and pos[title_row[r]] == 0
            assert ids[first_body[r]] == art and pos[first_body[r]] == 1
    # a perfect title match with an unrelated body ranks below what it would score on the title alone
    query = use_embedder.encode(["Printer"], kind="query")
    hit = index.search(query, ["Printer"], k=1)[0][0]
    title_only = float(index.store.get(index._ids[[title_row[ids.index("b")]]])[0] @ query[0])
    assert hit.article_id == "b" and hit.score < title_only
