"""Features the heads read, as small composable pieces: TF-IDF blocks (shared between heads), the title.

Kept apart from the heads so a head file holds only its model; the TF-IDF block of a batch is computed
once however many heads use an identical vectorizer (`shared_transform`).
"""

from __future__ import annotations

import hashlib
import json
import weakref
from typing import Any, Literal

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from triage.heads.base import Features

FeatureKind = Literal["dense", "lexical", "hybrid"]


_FINGERPRINTS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _fingerprint(vectorizer: Any) -> str:
    """Identifies a fitted vectorizer by what it computes: heads trained on the same texts get the same one."""
    known = _FINGERPRINTS.get(vectorizer)
    if known is None:
        digest = hashlib.sha256()
        for name, part in getattr(vectorizer, "transformer_list", [("", vectorizer)]):
            params = {k: v for k, v in part.get_params().items() if k != "dtype"}
            digest.update(f"{name}{sorted(params.items(), key=str)}".encode())
            digest.update(json.dumps(sorted((t, int(i)) for t, i in part.vocabulary_.items())).encode())
            digest.update(np.ascontiguousarray(part.idf_).tobytes())
        known = _FINGERPRINTS[vectorizer] = digest.hexdigest()
    return known


def shared_transform(vectorizer: Any, X: Features) -> Any:
    """The TF-IDF block once per batch however many heads use an identical vectorizer (read-only)."""
    key = "tfidf:" + _fingerprint(vectorizer)
    if key not in X.memo:
        X.memo[key] = vectorizer.transform(X.texts)
    return X.memo[key]


def lexical_union(max_features: int) -> FeatureUnion:
    return FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True,
                                 max_features=max_features, token_pattern=r"(?u)\b\w[\w.\-]*\w\b|\b\w\b")),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                                 max_features=max_features)),
    ])




def title_of(text: str) -> str:
    """The subject is the first line of the text every head sees (`ticket_text`)."""
    return text.split("\n", 1)[0]


def title_vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
