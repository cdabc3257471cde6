"""Hybrid scoring: one dense cosine and one BM25 z-score per candidate, fused in cosine units.

The KB index and the ticket history both rank by this one formula, so a change to the fusion (or to
its defaults) changes both, and the benchmarks of one speak for the other:

    fused = cosine + weight · sd(cosine) · min(z(BM25), clip)

`z(BM25)` is the candidate's BM25 score standardised against the collection the caller searches (the
whole index, or the tickets earlier than the query), and `sd(cosine)` is the spread of the query's
cosine over that collection, read from the covariance of its vectors: √(qᵀΣq), an O(d²) product and
no pass over the vectors. So the lexical signal is put on the dense scale, the score stays readable as
a cosine, and the same weight means the same thing for every query. The clip keeps a lone shared word
(a z-score of 10 on a short query) from outvoting the meaning.
"""

from __future__ import annotations

import numpy as np

LEXICAL_WEIGHT = 0.3  # z(dense) + 0.3·z(BM25): the replay in BENCHMARKS.md (KB quality and duplicates)
LEXICAL_CLIP = 4.0  # a lone lexical match (one shared word) must not outvote the meaning


def fuse(cosine: np.ndarray, lexical_z: np.ndarray, query: np.ndarray, covariance: np.ndarray, *,
         weight: float = LEXICAL_WEIGHT, clip: float | None = LEXICAL_CLIP) -> np.ndarray:
    """Fused scores of the candidates, in cosine units.

    cosine: each candidate's cosine with `query`; lexical_z: each candidate's BM25 z-score (0 for
    none); covariance: of the searched collection's vectors. `clip=None` (or 0) leaves the z-scores
    unclipped, as indexes built before the clip existed were searched.
    """
    spread = float(np.sqrt(max(query @ covariance @ query, 1e-12)))
    if clip:
        lexical_z = np.minimum(lexical_z, clip)
    return cosine + weight * spread * lexical_z
