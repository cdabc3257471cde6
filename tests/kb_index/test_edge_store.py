"""Qdrant Edge behind the vector-store protocol (optional extra `edge`), with its in-index time filter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb_index import EdgeStore, VectorStore

qdrant_edge = pytest.importorskip("qdrant_edge", reason="qdrant-edge-py is not installed (pip install 'triage[edge]')")


def test_edge_store_keeps_the_store_contract_and_filters_strictly_earlier(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(600, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(1000, 1600, dtype=np.int64)
    created = np.arange(600, dtype=np.float64)  # id 1000 + i was created at second i
    store = EdgeStore(32, tmp_path / "shard")
    assert isinstance(store, VectorStore)
    store.add(ids, vecs, tag=1, created_at=created)
    store.optimize()
    assert len(store) == 600
    scores, found = store.search(vecs[:5], 3)
    assert found[:, 0].tolist() == ids[:5].tolist()
    assert np.allclose(scores[:, 0], 1.0, atol=1e-4) and (np.diff(scores, axis=1) <= 1e-6).all()
    assert np.allclose(store.get(ids[[7, 3]]), vecs[[7, 3]], atol=1e-5)
    # "strictly earlier": the query's own point (created at 300) and everything later are never returned,
    # and the answer is the exact top-5 among the 300 earlier points
    _, earlier = store.search(vecs[300:301], 5, before=300.0)
    truth = ids[:300][np.argsort(-(vecs[:300] @ vecs[300]))[:5]]
    assert earlier[0].tolist() == truth.tolist()
    store.delete(ids[:2])
    assert len(store) == 598
    _, found = store.search(vecs[:2], 3)
    assert not set(found.ravel().tolist()) & set(ids[:2].tolist())
    store.close()
    reopened = EdgeStore(32, tmp_path / "shard")
    assert len(reopened) == 598 and reopened.describe()["backend"] == "qdrant-edge"
