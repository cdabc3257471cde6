"""KB retrieval quality on real data: RUTUBE user questions against the RUTUBE knowledge base.

A hit is a retrieved entry whose question text equals the gold `Вопрос из БЗ` (the KB repeats 39 question
texts, so ranks count distinct question texts). Compared on one index build:
TF-IDF word+char cosine (reproduces the baseline of ../shared/datasets/README.md: 0.36 / 0.66 / 0.49),
BM25 alone, dense alone (e5), and the product's fusion (`KBIndex.search` with the defaults `triage kb build` writes).

`--learned`: the issue-18 protocol. Half of the cases (with their gold article as `kb_article`) train the
ranker the product learns where a bundle meets a KB (`triage._retrieval.fit_kb_ranker`, the same function
`kb build --model` / `predict` / `serve` call), the other half is searched; over 5 random halves and two
time-like ones (file order, first half -> second, and reversed), reported as mean and spread, against
TF-IDF and the untuned hybrid on the same test halves; plus the fit's time, and its calibration floor.

`--learned --contrastive`: the same halves (random ones only), plus the embedder tuned on the training
half's (ticket, article) links by the product's own step (`training.kb_tuning.tune_for_retrieval`, as
`triage train --kb-source` runs it: judged on a held-out fifth of the training half, shipped only when
better): the KB is embedded with it ("contrastive") and the learned ranker fitted on top ("both").

    python bench/kb_quality.py --out bench/results/kb_quality.json
    python bench/kb_quality.py --learned --out bench/results/kb_learned.json
    python bench/kb_quality.py --learned --contrastive --splits 3 --out bench/results/kb_contrastive.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from _common import require_datasets, shared_datasets  # type: ignore[import-not-found]
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from kb_index import Article, BuildOptions, KBIndex, build_index
from triage import CachedEmbedder, Settings, load_embedder

SHARED = shared_datasets() / "rutube-support-ru"


def ranks(ranked_titles: list[list[str]], gold: list[str]) -> dict[str, float]:
    out = []
    for titles, want in zip(ranked_titles, gold, strict=True):
        distinct = list(dict.fromkeys(titles))
        out.append(distinct.index(want) + 1 if want in distinct else None)
    n = len(out)
    return {"recall_at_1": round(sum(r == 1 for r in out) / n, 3),
            "recall_at_5": round(sum(r is not None and r <= 5 for r in out) / n, 3),
            "mrr": round(sum(1 / r for r in out if r) / n, 3), "n": n}


def by_matrix(scores: np.ndarray, titles: list[str], depth: int = 30) -> list[list[str]]:
    return [[titles[j] for j in np.argsort(-row)[:depth]] for row in scores]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/results/kb_quality.json"))
    parser.add_argument("--embedder", default="e5-small")
    parser.add_argument("--learned", action="store_true", help="train on half the cases, test on the other half")
    parser.add_argument("--splits", type=int, default=5, help="random halves (besides the two time-like ones)")
    parser.add_argument("--contrastive", action="store_true", help="with --learned: also tune the embedder on "
                        "each training half (random halves only)")
    parser.add_argument("--fit-scale", action="store_true", help="time and peak memory of the ranker's fit at "
                        "400 and 5,000 linked tickets (the cases, tiled with jittered vectors past 400)")
    args = parser.parse_args()
    if args.fit_scale:
        fit_scale(args)
        return
    if args.learned:
        learned(args)
        return
    require_datasets("rutube-support-ru")
    kb = pd.read_csv(SHARED / "knowledge_base.csv").fillna("")
    cases = pd.read_csv(SHARED / "cases.csv")
    queries, gold = cases["Вопрос пользователя"].tolist(), cases["Вопрос из БЗ"].tolist()
    titles = kb["Вопрос из БЗ"].tolist()
    docs = [f"{t}\n{a}" for t, a in zip(titles, kb["Ответ из БЗ"], strict=True)]
    results: dict[str, dict[str, float]] = {}

    # the datasets README's baseline: TF-IDF word + character n-grams, cosine, question -> question + answer
    word = TfidfVectorizer(sublinear_tf=True).fit(docs)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True).fit(docs)
    both = [normalize(hstack([word.transform(x), char.transform(x)])) for x in (queries, docs)]
    results["tfidf word+char cosine (baseline)"] = ranks(by_matrix((both[0] @ both[1].T).toarray(), titles), gold)

    settings = Settings()
    embedder = load_embedder(args.embedder, cache_dir=settings.cache_dir, max_tokens=settings.max_tokens,
                             onnx=settings.onnx_graph)
    articles = [Article(f"kb-{i}", t, a) for i, (t, a) in enumerate(zip(titles, kb["Ответ из БЗ"], strict=True))]
    title_of = {a.id: a.title for a in articles}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        report = build_index(Path(tmp) / "kb", articles, embedder, BuildOptions(progress=True))
        build_s = time.perf_counter() - started
        index = KBIndex.open(Path(tmp) / "kb", encoder_id=embedder.model_id)
        vectors = embedder.encode(queries, kind="query")
        variants: dict[str, Callable[[], None]] = {
            "bm25 (stemmed ru+en)": lambda: setattr(index, "lexical_weight", 1e6),
            "dense (e5, title + section chunks)": lambda: setattr(index, "lexical_weight", 0.0),
            "hybrid (product default)": lambda: setattr(index, "lexical_weight",
                                                        float(index.manifest["fusion"]["lexical_weight"])),
        }
        latency = []
        for name, apply in variants.items():
            apply()
            ranked = []
            for i, q in enumerate(queries):
                t0 = time.perf_counter()
                hits = index.search(vectors[i:i + 1], [q], k=30)[0]
                latency.append(time.perf_counter() - t0)
                ranked.append([title_of[h.article_id] for h in hits])
            results[name] = ranks(ranked, gold)
    lat = np.array(latency[-len(queries):]) * 1000
    out = {"embedder": embedder.model_id, "kb_entries": len(articles), "chunks": report.chunks,
           "build_seconds": round(build_s, 1), "chunks_per_second": round(report.chunks / build_s, 1),
           "search_ms_p50": round(float(np.percentile(lat, 50)), 2),
           "search_ms_p95": round(float(np.percentile(lat, 95)), 2), "results": results,
           "command": "python bench/kb_quality.py"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))


def learned(args: argparse.Namespace) -> None:
    """Train-on-half / test-on-half, several splits: TF-IDF, untuned hybrid, learned ranker."""
    from triage._links import LinkedTickets
    from triage._retrieval import fit_kb_ranker

    require_datasets("rutube-support-ru")
    kb = pd.read_csv(SHARED / "knowledge_base.csv").fillna("")
    cases = pd.read_csv(SHARED / "cases.csv").fillna("")
    queries, gold = cases["Вопрос пользователя"].tolist(), cases["Вопрос из БЗ"].tolist()
    titles, bodies = kb["Вопрос из БЗ"].tolist(), kb["Ответ из БЗ"].tolist()
    articles = [Article(f"kb-{i}", t, a, category=c or None)
                for i, (t, a, c) in enumerate(zip(titles, bodies, kb["Классификатор 1 уровня"], strict=True))]
    title_of = {a.id: a.title for a in articles}
    first = {(t, a): f"kb-{i}" for i, (t, a) in reversed(list(enumerate(zip(titles, bodies, strict=True))))}
    by_title = {t: f"kb-{i}" for i, t in reversed(list(enumerate(titles)))}
    gold_id = [first.get((q, a), by_title[q]) for q, a in zip(gold, cases["Ответ из БЗ"], strict=True)]
    docs = [f"{t}\n{a}" for t, a in zip(titles, bodies, strict=True)]
    word = TfidfVectorizer(sublinear_tf=True).fit(docs)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True).fit(docs)
    tq, td = (normalize(hstack([word.transform(x), char.transform(x)])) for x in (queries, docs))
    tfidf = (tq @ td.T).toarray()
    settings = Settings()
    embedder = CachedEmbedder(load_embedder(args.embedder, cache_dir=settings.cache_dir,  # splits share one set
                                            max_tokens=settings.max_tokens), settings.cache_dir / "embeddings.sqlite")
    n = len(queries)
    rng = np.random.default_rng(0)
    halves = [(f"random-{s}", *np.split(rng.permutation(n), [n // 2])) for s in range(args.splits)]
    if not args.contrastive:
        halves += [("time", np.arange(n // 2), np.arange(n // 2, n)),
                   ("time-reversed", np.arange(n // 2, n), np.arange(n // 2))]
    per_split: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        build_index(Path(tmp) / "kb", articles, embedder, BuildOptions(progress=True))
        index = KBIndex.open(Path(tmp) / "kb", encoder_id=embedder.model_id)
        vectors = embedder.encode(queries, kind="query")
        for name, train, test in halves:
            train, test = np.sort(train), np.sort(test)
            linked = LinkedTickets([f"c{i}" for i in train], [queries[i] for i in train], vectors[train],
                                   train.astype(float), np.asarray([gold_id[i] for i in train], dtype=object))
            index.reranker = None
            t_q, t_g = [queries[i] for i in test], [gold[i] for i in test]
            row: dict[str, object] = {"split": name, "tfidf": ranks(by_matrix(tfidf[test], titles), t_g),
                                      "hybrid": ranks(_titles(index, vectors[test], t_q, title_of), t_g)}
            ranker = fit_kb_ranker(index, linked)
            assert ranker is not None
            index.reranker = ranker
            row["learned"] = ranks(_titles(index, vectors[test], t_q, title_of), t_g)
            row["ranker"] = ranker.report
            shown = [h for hs in index.search(vectors[test], t_q, k=3, floor=True) for h in hs]
            row["shown_per_ticket"] = round(len(shown) / len(test), 3)
            if args.contrastive:
                row.update(_contrastive(Path(tmp) / f"kb-{name}", articles, embedder, queries, gold_id, gold,
                                        train, test, title_of))
            per_split.append(row)
            print(name, {k: row[k] for k in MODELS if k in row}, ranker.report["model"], flush=True)
    models = [m for m in MODELS if m in per_split[0]]
    summary = {m: {k: {"mean": round(float(np.mean([r[m][k] for r in per_split])), 3),  # type: ignore[index]
                       "sd": round(float(np.std([r[m][k] for r in per_split])), 3)}  # type: ignore[index]
                   for k in ("recall_at_1", "recall_at_5", "mrr")} for m in models}
    out = {"embedder": embedder.model_id, "protocol": "train on half of the cases, test on the other half",
           "summary": summary, "splits": per_split, "cpu": "2 shared cores",
           "command": "python bench/kb_quality.py --learned" + (f" --contrastive --splits {args.splits}"
                                                                if args.contrastive else "")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(summary, indent=2))


MODELS = ("tfidf", "hybrid", "learned", "contrastive", "both")


def _contrastive(root: Path, articles: list[Article], base: object, queries: list[str], gold_id: list[str],
                 gold: list[str], train: np.ndarray, test: np.ndarray, title_of: dict[str, str]) -> dict[str, object]:
    """Tune on the training half as `triage train --kb-source` would, embed the KB with the result, rank the
    test half by it alone and with the learned ranker fitted on top (its neighbours in the tuned space)."""
    import resource

    from training.kb_tuning import discard, tune_for_retrieval
    from triage._links import LinkedTickets
    from triage._retrieval import fit_kb_ranker

    shared = getattr(base, "inner", base)  # the product tunes the embedder itself, not its disk cache
    df = pd.DataFrame({"text": [queries[i] for i in train], "kb_article": [gold_id[i] for i in train]})
    t0 = time.perf_counter()
    tuning, facts = tune_for_retrieval(shared, df, articles, Settings(), seed=0)  # type: ignore[arg-type]
    minutes = (time.perf_counter() - t0) / 60
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tuned = tuning.embedder if tuning is not None else shared
    build_index(root, articles, tuned, BuildOptions())  # type: ignore[arg-type]
    index = KBIndex.open(root, encoder_id=tuned.model_id)  # type: ignore[attr-defined]
    vectors = tuned.encode(queries, kind="query")  # type: ignore[attr-defined]
    t_q, t_g = [queries[i] for i in test], [gold[i] for i in test]
    out: dict[str, object] = {"contrastive": ranks(_titles(index, vectors[test], t_q, title_of), t_g)}
    linked = LinkedTickets([f"c{i}" for i in train], [queries[i] for i in train], vectors[train],
                           train.astype(float), np.asarray([gold_id[i] for i in train], dtype=object))
    index.reranker = fit_kb_ranker(index, linked)
    out["both"] = ranks(_titles(index, vectors[test], t_q, title_of), t_g)
    out["tuning"] = {"used": tuning is not None, "minutes": round(minutes, 2), "process_peak_rss_mb": round(peak),
                     **{k: v for k, v in facts.items() if k in ("held_out", "run", "reason")}}
    discard(tuning)
    return out


def fit_scale(args: argparse.Namespace) -> None:
    """Seconds and peak traced memory of `fit_kb_ranker` at 400 and 5,000 tickets naming their article."""
    import tracemalloc

    from triage._links import LinkedTickets
    from triage._retrieval import fit_kb_ranker

    require_datasets("rutube-support-ru")
    kb = pd.read_csv(SHARED / "knowledge_base.csv").fillna("")
    cases = pd.read_csv(SHARED / "cases.csv").fillna("")
    titles, bodies = kb["Вопрос из БЗ"].tolist(), kb["Ответ из БЗ"].tolist()
    articles = [Article(f"kb-{i}", t, a) for i, (t, a) in enumerate(zip(titles, bodies, strict=True))]
    by_title = {t: f"kb-{i}" for i, t in reversed(list(enumerate(titles)))}
    settings = Settings()
    embedder = CachedEmbedder(load_embedder(args.embedder, cache_dir=settings.cache_dir,
                                            max_tokens=settings.max_tokens), settings.cache_dir / "embeddings.sqlite")
    queries = cases["Вопрос пользователя"].tolist()
    vectors = embedder.encode(queries, kind="query")
    gold = np.asarray([by_title[g] for g in cases["Вопрос из БЗ"]], dtype=object)
    rows = []
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        build_index(Path(tmp) / "kb", articles, embedder, BuildOptions())
        index = KBIndex.open(Path(tmp) / "kb", encoder_id=embedder.model_id)
        for n in (400, 5000):
            take = np.arange(n) % len(queries)
            jitter = rng.normal(0, 0.01, (n, vectors.shape[1])) * (take != np.arange(n))[:, None]
            vecs = vectors[take] + jitter.astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            linked = LinkedTickets([f"c{i}" for i in range(n)], [queries[i] for i in take], vecs.astype(np.float32),
                                   np.arange(n, dtype=float), gold[take])
            tracemalloc.start()
            t0 = time.perf_counter()
            ranker = fit_kb_ranker(index, linked)
            seconds = time.perf_counter() - t0
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            assert ranker is not None
            rows.append({"linked_tickets": n, "queries_used": ranker.report["queries"], "seconds": round(seconds, 1),
                         "peak_traced_mb": round(peak, 1), "model": ranker.report["model"]})
            print(rows[-1], flush=True)
    out = {"command": "python bench/kb_quality.py --fit-scale", "cpu": "2 shared cores", "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2), encoding="utf-8")


def _titles(index: KBIndex, vectors: np.ndarray, texts: list[str], title_of: dict[str, str]) -> list[list[str]]:
    return [[title_of[h.article_id] for h in hits] for hits in index.search(vectors, texts, k=30)]


if __name__ == "__main__":
    main()
