"""kb_index.fuse: the one dense + BM25 fusion, and its two callers (the KB index and the ticket history).

Each caller is checked against the formula each used to carry inline (written out here as
`_old_formula`), on a small fixed example where every document is a candidate, so the expected
ranking can be computed from the documents alone.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import numpy as np
import pytest

from kb_index import LEXICAL_CLIP, LEXICAL_WEIGHT, Article, BuildOptions, KBIndex, build_index, fuse, tokenize
from triage._history import HistoryRecord, TicketHistory

DIM = 32
DOCS = [
    ("vpn", "VPN disconnects", "The VPN client drops the tunnel every ten minutes; raise the idle timeout."),
    ("printer", "Printer queue stuck", "Jobs wait in the print queue; restart the spooler service."),
    ("mail", "Mailbox full", "Outlook says the mailbox is over quota; archive old mail."),
    ("sip", "SIP 403 on the softphone", "Error 0x80070005 when the softphone registers; re-issue the SIP password."),
    ("laptop", "New laptop", "Prepare a laptop with the corporate image for a new employee."),
    ("wifi", "Wi-Fi drops", "The corporate Wi-Fi drops in meeting rooms; move to the 5 GHz band."),
]
QUERIES = ["laptop error 0x80070005", "softphone error 0x80070005", "vpn tunnel drops", "print queue",
           "new employee laptop image"]


class HashEncoder:
    """Deterministic bag-of-words vectors with a shared offset, so every cosine is clearly positive.

    Like a real embedder it is blind to error codes (tokens with digits), which BM25 sees.
    """

    model_id = "test-hash"
    dim = DIM

    def encode(self, texts, *, kind: str = "query", batch_size: int = 32, progress: bool = False) -> np.ndarray:  # type: ignore[no-untyped-def]
        out = np.zeros((len(texts), DIM), np.float32)
        for i, text in enumerate(texts):
            for token in (t for t in tokenize(text) if not any(c.isdigit() for c in t)):
                seed = int(hashlib.md5(token.encode()).hexdigest()[:8], 16)
                out[i] += np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
            out[i] /= max(float(np.linalg.norm(out[i])), 1e-9)
            out[i, 0] += 1.5  # a common component: cosines between 0.5 and 1, nothing clipped at 0
            out[i] /= np.linalg.norm(out[i])
        return out


def _old_formula(dense: np.ndarray, z: np.ndarray, q: np.ndarray, cov: np.ndarray, weight: float,
                 clip: float | None) -> np.ndarray:
    """What kb_index/_index.py and triage/_history.py computed inline before `fuse` existed."""
    d_sd = float(np.sqrt(max(q @ cov @ q, 1e-12)))
    if clip:
        z = np.minimum(z, clip)
    return dense + weight * d_sd * z


def test_fuse_is_the_old_formula_and_puts_bm25_on_the_cosine_scale() -> None:
    rng = np.random.default_rng(7)
    q = rng.standard_normal(DIM)
    q /= np.linalg.norm(q)
    vecs = rng.standard_normal((50, DIM))
    cov = np.cov(vecs.T, bias=True)
    dense, z = rng.uniform(-0.2, 0.9, 20), rng.normal(0, 3, 20)
    for weight, clip in ((0.3, 4.0), (0.3, None), (0.3, 0.0), (1.0, 2.0)):
        np.testing.assert_array_equal(fuse(dense, z, q, cov, weight=weight, clip=clip),
                                      _old_formula(dense, z, q, cov, weight, clip))
    # the lexical part is w·sd(cosine)·z: doubling the collection's spread doubles it
    base = fuse(dense, z, q, cov) - dense
    np.testing.assert_allclose(fuse(dense, z, q, 4 * cov) - dense, 2 * base)
    assert np.abs(base).max() > 0.01  # it does move scores


def test_fuse_edge_cases() -> None:
    q = np.ones(4) / 2
    cov = np.eye(4) * 0.01  # sd(cosine) = 0.1
    assert fuse(np.zeros(0), np.zeros(0), q, cov).shape == (0,)
    # a lone shared word (z = 50) counts as z = clip, and no more
    np.testing.assert_allclose(fuse(np.array([0.5]), np.array([50.0]), q, cov), [0.5 + LEXICAL_WEIGHT * 0.1 * 4.0])
    np.testing.assert_allclose(fuse(np.array([0.5]), np.array([50.0]), q, cov, clip=None), [0.5 + 0.3 * 0.1 * 50])
    # negative z-scores (below-average BM25) are never clipped: they push down
    assert fuse(np.array([0.5]), np.array([-6.0]), q, cov)[0] == pytest.approx(0.5 - 0.3 * 0.1 * 6)
    # weight 0 is dense alone; a collection of identical vectors (no spread) leaves the cosine as it is
    np.testing.assert_array_equal(fuse(np.array([0.2, 0.7]), np.array([3.0, -1.0]), q, cov, weight=0.0), [0.2, 0.7])
    out = fuse(np.array([0.2, 0.7]), np.array([3.0, -1.0]), q, np.zeros((4, 4)))
    np.testing.assert_allclose(out, [0.2, 0.7], atol=1e-6)
    assert (LEXICAL_WEIGHT, LEXICAL_CLIP) == (0.3, 4.0)


def test_both_callers_default_to_the_same_fusion() -> None:
    opts = BuildOptions()
    assert (opts.lexical_weight, opts.lexical_clip) == (LEXICAL_WEIGHT, LEXICAL_CLIP)
    assert inspect.signature(TicketHistory.search).parameters["lexical_weight"].default == LEXICAL_WEIGHT


@pytest.mark.parametrize("clip", [LEXICAL_CLIP, 0.0])
def test_kb_search_ranks_by_the_old_formula(tmp_path: Path, clip: float) -> None:
    enc = HashEncoder()
    articles = [Article(id=i, title=t, body=b) for i, t, b in DOCS]
    # one chunk per article and no title chunk: every chunk is a candidate and is its article's score
    build_index(tmp_path / "kb", articles, enc, BuildOptions(title_chunk=False, lexical_clip=clip))
    index = KBIndex.open(tmp_path / "kb")
    assert len(index) == len(DOCS)
    chunk_vecs = index.store.get(index.chunks["chunk_id"].to_numpy(np.int64))
    qv = enc.encode(QUERIES)
    got = index.search(qv, QUERIES, k=len(DOCS))
    moved = 0
    for q, hits, text in zip(qv, got, QUERIES, strict=True):
        lex = index.bm25.scores(text)
        z = (lex - lex.mean()) / lex.std() if lex.std() > 0 else np.zeros(len(lex))
        dense = chunk_vecs @ q
        want = _old_formula(dense.astype(np.float64), z, q, index.cov_, LEXICAL_WEIGHT, clip)
        order = np.argsort(-want)
        assert [h.article_id for h in hits] == [str(index.chunks["article_id"][r]) for r in order]
        np.testing.assert_allclose([h.score for h in hits], want[order], atol=1e-5)
        moved += int(not np.array_equal(order, np.argsort(-dense)))
    assert moved, "on this example BM25 should change at least one ranking, or the test shows nothing"


def test_history_search_ranks_by_the_old_formula(tmp_path: Path) -> None:
    enc = HashEncoder()
    texts = [f"{t}\n{b}" for _, t, b in DOCS] + [f"{t} (again)\n{b} Ticket {i}." for i, (_, t, b) in enumerate(DOCS)]
    vecs = enc.encode(texts)
    hist = TicketHistory(tmp_path / "h.sqlite", DIM)
    hist.append([HistoryRecord(ticket_id=f"T-{i}", created_at=1000.0 + i, subject=texts[i].split("\n")[0],
                               text=texts[i], embedding=vecs[i]) for i in range(len(texts))])
    moved = 0
    try:
        for text, q in zip(QUERIES, enc.encode(QUERIES), strict=True):
            before = 1000.0 + 9  # tickets 0..8 are earlier; 8 is excluded
            got = hist.search(q, text, before=before, exclude="T-8", k=20)
            rows = np.array([hist.row_of(f"T-{i}") for i in range(8)])
            scores = hist._term_scores(text)  # the history's own BM25 (common terms left out)
            pos = np.searchsorted(hist._lex_rows, rows)
            valid = hist.valid_mask(hist._lex_rows, before, hist.row_of("T-8"))
            sd = scores[valid].std()
            z = (scores[pos] - scores[valid].mean()) / sd if sd > 0 else np.zeros(len(rows))
            dense = vecs[:8] @ q
            want = _old_formula(dense.astype(np.float64), z, q, hist.covariance(), LEXICAL_WEIGHT, LEXICAL_CLIP)
            order = np.argsort(-want)
            assert [m.row for m in got] == rows[order].tolist()
            np.testing.assert_allclose([m.score for m in got], want[order], atol=1e-5)
            np.testing.assert_allclose([m.cosine for m in got], dense[order], atol=1e-5)
            moved += int(not np.array_equal(order, np.argsort(-dense)))
    finally:
        hist.close()
    assert moved, "on this example BM25 should change at least one ranking, or the test shows nothing"
