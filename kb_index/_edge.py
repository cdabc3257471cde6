"""Qdrant Edge behind the vector-store protocol: the Qdrant engine in-process (HNSW), no server.

Optional (`pip install 'triage[edge]'`, qdrant-edge-py, a beta API: pin its version). FAISS stays the
default; bench/vectors_edge.py and BENCHMARKS.md say where Edge wins: a payload range filter inside the
HNSW search (`search(..., before=t)`: only points with `created_at < t`), which FAISS can only emulate by
post-filtering ever larger result lists. Points carry the build tag (`v`) and `created_at` as payload.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kb_index.errors import BackendError

_BATCH = 1000


def _edge() -> Any:
    try:
        import qdrant_edge
    except ImportError as exc:
        raise BackendError("qdrant-edge-py is not installed: pip install 'triage[edge]'") from exc
    return qdrant_edge


class EdgeStore:
    """A shard in `path` (created, or loaded when it holds one); cosine = dot product on unit vectors.

    HNSW is built by `optimize()` (Qdrant's optimizers, run in-process); until then a segment is searched
    by brute force, which is exact. Searches run on one thread, as FAISS does per query here.
    """

    def __init__(self, dim: int, path: str | Path, *, m: int = 16, ef_construct: int = 100,
                 hnsw_ef: int | None = None) -> None:
        qe = _edge()
        self._qe, self.dim, self.path, self.hnsw_ef = qe, dim, Path(path), hnsw_ef
        config = qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=dim, distance=qe.Distance.Dot),
                               hnsw_config=qe.HnswIndexConfig(m=m, ef_construct=ef_construct,
                                                              full_scan_threshold=10_000),
                               max_search_threads=1)
        try:
            if (self.path / "edge_config.json").exists():
                self.shard_: Any = qe.EdgeShard.load(str(self.path), config)
            else:
                self.shard_ = qe.EdgeShard.create(str(self.path), config)
                self.shard_.update(qe.UpdateOperation.create_field_index("created_at", qe.PayloadSchemaType.Float))
        except Exception as exc:  # the bindings raise plain exceptions with Qdrant's message
            raise BackendError(f"cannot open a Qdrant Edge shard at {self.path}: {exc}") from exc

    def __len__(self) -> int:
        return int(self.shard_.info().points_count)

    def add(self, ids: np.ndarray, vectors: np.ndarray, *, tag: int = 0,
            created_at: np.ndarray | None = None) -> None:
        """Upsert; `created_at` (seconds, one per id) makes the points visible to `search(before=...)`."""
        qe = self._qe
        vectors = np.asarray(vectors, np.float32)
        for start in range(0, len(ids), _BATCH):
            part = range(start, min(len(ids), start + _BATCH))
            points = [qe.Point(int(ids[i]), vectors[i].tolist(),
                               {"v": int(tag)} if created_at is None else
                               {"v": int(tag), "created_at": float(created_at[i])}) for i in part]
            self.shard_.update(qe.UpdateOperation.upsert_points(points))

    def delete(self, ids: np.ndarray) -> None:
        if len(ids):
            self.shard_.update(self._qe.UpdateOperation.delete_points([int(i) for i in ids]))

    def get(self, ids: np.ndarray) -> np.ndarray:
        records = self.shard_.retrieve([int(i) for i in ids], False, True)
        by_id = {int(r.id): r.vector for r in records}
        missing = [int(i) for i in ids if int(i) not in by_id]
        if missing:
            raise BackendError(f"Qdrant Edge shard {self.path} lacks points {missing[:5]}")
        return np.asarray([_dense(by_id[int(i)]) for i in ids], np.float32).reshape(len(ids), self.dim)

    def search(self, queries: np.ndarray, k: int, *, before: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k), -1 ids in empty slots; `before`: only `created_at < before`."""
        qe = self._qe
        flt = (None if before is None else
               qe.Filter(must=[qe.FieldCondition("created_at", range=qe.RangeFloat(lt=float(before)))]))
        params = qe.SearchParams(hnsw_ef=self.hnsw_ef) if self.hnsw_ef else None
        queries = np.asarray(queries, np.float32).reshape(-1, self.dim)
        scores = np.full((len(queries), k), -np.inf, np.float32)
        ids = np.full((len(queries), k), -1, np.int64)
        for row, q in enumerate(queries):
            hits = self.shard_.query(qe.QueryRequest(limit=k, query=qe.Query.Nearest(q.tolist()), filter=flt,
                                                     params=params))
            for col, hit in enumerate(hits[:k]):
                scores[row, col], ids[row, col] = hit.score, int(hit.id)
        return scores, ids

    def optimize(self) -> None:
        """Build the HNSW index (and merge segments) now, blocking; searches are exact until then."""
        self.shard_.optimize()

    def describe(self) -> dict[str, Any]:
        info = self.shard_.info()
        return {"backend": "qdrant-edge", "path": str(self.path), "count": int(info.points_count),
                "indexed": int(info.indexed_vectors_count), "segments": int(info.segments_count)}

    def close(self) -> None:
        self.shard_.flush()
        self.shard_.close()


def _dense(vector: Any) -> list[float]:
    """A retrieved record's vector: a plain list, or {"": list} for the default (unnamed) vector."""
    return list(vector[""] if isinstance(vector, dict) else vector)
