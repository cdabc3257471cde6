"""Qdrant behind the vector-store protocol, for KBs that outgrow one machine.

A server URL selects it; `path=` or ":memory:" use qdrant-client's local mode,
which speaks the same API (brute force, for tests and small KBs). Points carry
the index version that wrote them in the payload, so points left by a crashed
build can be found and removed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kb_index.errors import BackendError

_BATCH = 512


class QdrantStore:
    def __init__(self, dim: int, *, collection: str = "triage-kb", url: str | None = None,
                 api_key: str | None = None, path: str | None = None, timeout: float = 30.0) -> None:
        self.dim = dim
        self.collection = collection
        self.url = url
        self.path = path
        try:
            from qdrant_client import QdrantClient, models
        except ImportError as exc:
            raise BackendError("qdrant-client is not installed: pip install 'triage[qdrant]'") from exc
        self._models = models
        try:
            if url:
                self.client_ = QdrantClient(url=url, api_key=api_key, timeout=int(timeout))
            else:
                self.client_ = QdrantClient(path=path) if path and path != ":memory:" else QdrantClient(":memory:")
            if not self.client_.collection_exists(collection):
                self.client_.create_collection(
                    collection, vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE))
        except BackendError:
            raise
        except Exception as exc:
            where = url or path or ":memory:"
            raise BackendError(f"cannot open Qdrant collection '{collection}' at {where}: {exc}. "
                               "Check TRIAGE_QDRANT_URL / TRIAGE_QDRANT_API_KEY, or that no other process "
                               "holds a local-mode path") from exc

    def __len__(self) -> int:
        return int(self.client_.count(self.collection, exact=True).count)

    def add(self, ids: np.ndarray, vectors: np.ndarray, *, tag: int = 0) -> None:
        models = self._models
        for start in range(0, len(ids), _BATCH):
            part = slice(start, start + _BATCH)
            self.client_.upsert(self.collection, points=models.Batch(
                ids=[int(i) for i in ids[part]], vectors=np.asarray(vectors[part], np.float32).tolist(),
                payloads=[{"v": int(tag)}] * len(ids[part])), wait=True)

    def delete(self, ids: np.ndarray) -> None:
        models = self._models
        for start in range(0, len(ids), _BATCH):
            self.client_.delete(self.collection, points_selector=models.PointIdsList(
                points=[int(i) for i in ids[start:start + _BATCH]]), wait=True)

    def delete_tagged_above(self, tag: int) -> None:
        """Remove points written by builds that never became current (a crash mid-build)."""
        models = self._models
        flt = models.Filter(must=[models.FieldCondition(key="v", range=models.Range(gt=tag))])
        self.client_.delete(self.collection, points_selector=models.FilterSelector(filter=flt), wait=True)

    def get(self, ids: np.ndarray) -> np.ndarray:
        points = self.client_.retrieve(self.collection, [int(i) for i in ids], with_vectors=True)
        by_id = {int(p.id): p.vector for p in points}
        missing = [int(i) for i in ids if int(i) not in by_id]
        if missing:
            raise BackendError(f"Qdrant collection '{self.collection}' lacks points {missing[:5]}: "
                               "rebuild the index with `triage kb build`")
        return np.asarray([by_id[int(i)] for i in ids], np.float32).reshape(len(ids), self.dim)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        models = self._models
        requests = [models.QueryRequest(query=q.tolist(), limit=k) for q in np.asarray(queries, np.float32)]
        responses = self.client_.query_batch_points(self.collection, requests=requests)
        scores = np.full((len(requests), k), -np.inf, np.float32)
        ids = np.full((len(requests), k), -1, np.int64)
        for row, response in enumerate(responses):
            for col, point in enumerate(response.points[:k]):
                scores[row, col], ids[row, col] = point.score, int(point.id)
        return scores, ids

    def describe(self) -> dict[str, Any]:
        return {"backend": "qdrant", "collection": self.collection, "url": self.url,
                "local_path": None if self.url else self.path}

    def close(self) -> None:
        self.client_.close()
