"""BM25 over chunks, stored as raw term counts so an update only tokenizes new chunks.

Weights are derived at load time (idf and length normalisation depend on the
whole collection); the weighted matrix is kept column-major so a query touches
only the postings of its own terms.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from kb_index._text import tokenize


class TermCounts:
    """Chunk × term count matrix plus its growing vocabulary (new terms are appended)."""

    def __init__(self, vocab: dict[str, int] | None = None, counts: sp.csr_matrix | None = None) -> None:
        self.vocab = dict(vocab or {})
        self.counts = counts if counts is not None else sp.csr_matrix((0, len(self.vocab)), dtype=np.float32)

    def rows_for(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Count matrix of new texts, growing the vocabulary in place."""
        indptr: list[int] = [0]
        indices: list[int] = []
        data: list[int] = []
        for text in texts:
            row: dict[int, int] = {}
            for token in tokenize(text):
                col = self.vocab.setdefault(token, len(self.vocab))
                row[col] = row.get(col, 0) + 1
            indices.extend(row)
            data.extend(row.values())
            indptr.append(len(indices))
        return sp.csr_matrix((np.asarray(data, np.float32), np.asarray(indices, np.int64), indptr),
                             shape=(len(texts), len(self.vocab)))

    def rebuilt(self, keep_rows: np.ndarray, new_texts: Sequence[str]) -> TermCounts:
        """A new matrix: kept rows of this one (in the given order), then the new texts."""
        out = TermCounts(self.vocab)
        new = out.rows_for(new_texts)
        width = len(out.vocab)
        kept = self.counts[keep_rows] if len(keep_rows) else sp.csr_matrix((0, width), dtype=np.float32)
        kept = sp.csr_matrix((kept.data, kept.indices, kept.indptr), shape=(kept.shape[0], width))
        new = sp.csr_matrix((new.data, new.indices, new.indptr), shape=(new.shape[0], width))
        out.counts = sp.vstack([kept, new], format="csr").astype(np.float32)
        return out

    def save(self, directory: Path) -> None:
        sp.save_npz(directory / "term_counts.npz", self.counts)
        (directory / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> TermCounts:
        vocab = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
        return cls(vocab, sp.load_npz(directory / "term_counts.npz").tocsr())


class BM25:
    """Okapi BM25 scores of a query against every chunk (k1, b as in Lucene's defaults)."""

    def __init__(self, counts: TermCounts, k1: float = 1.2, b: float = 0.75) -> None:
        self.vocab = counts.vocab
        tf = counts.counts.tocsr()
        n_docs = tf.shape[0]
        doc_len = np.asarray(tf.sum(axis=1)).ravel()
        avg = float(doc_len.mean()) if n_docs else 1.0
        df = np.bincount(tf.indices, minlength=tf.shape[1])
        self.idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        rows = np.repeat(np.arange(n_docs), np.diff(tf.indptr))
        norm = k1 * (1 - b + b * doc_len[rows] / max(avg, 1e-9))
        weights = tf.data * (k1 + 1) / (tf.data + norm) * self.idf[tf.indices]
        self.weights = sp.csr_matrix((weights.astype(np.float32), tf.indices, tf.indptr), shape=tf.shape).tocsc()
        self.n_docs = n_docs

    def scores(self, text: str) -> np.ndarray:
        """Score of every chunk (0 where no query term occurs); repeated query terms count once."""
        cols = sorted({self.vocab[t] for t in tokenize(text) if t in self.vocab})
        if not cols or not self.n_docs:
            return np.zeros(self.n_docs, np.float32)
        return np.asarray(self.weights[:, cols].sum(axis=1)).ravel()
