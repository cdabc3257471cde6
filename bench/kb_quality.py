"""KB retrieval quality on real data: RUTUBE user questions against the RUTUBE knowledge base.

A hit is a retrieved entry whose question text equals the gold `Вопрос из БЗ` (the KB repeats 39 question
texts, so ranks count distinct question texts). Compared on one index build:
TF-IDF word+char cosine (reproduces the baseline of ../shared/datasets/README.md: 0.36 / 0.66 / 0.49),
BM25 alone, dense alone (e5), and the product's fusion (`KBIndex.search` with the defaults `triage kb build` writes).

    python bench/kb_quality.py --out bench/results/kb_quality.json
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
from triage import Settings, load_embedder

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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
