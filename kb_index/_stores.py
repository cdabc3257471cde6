"""The vector-store protocol and its embedded default, FAISS.

A store maps stable integer ids to unit vectors and answers inner-product
top-k queries. The index (and later the ticket history) talk only to this
protocol, so FAISS on one machine and a Qdrant cluster are interchangeable.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kb_index.errors import BackendError, IndexFormatError


@runtime_checkable
class VectorStore(Protocol):
    """Ids are int64 and never reused; scores are cosine similarities (vectors are unit length)."""

    def add(self, ids: np.ndarray, vectors: np.ndarray, *, tag: int = 0) -> None: ...

    def delete(self, ids: np.ndarray) -> None: ...

    def get(self, ids: np.ndarray) -> np.ndarray: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k); missing slots have id -1."""
        ...

    def __len__(self) -> int: ...

    def describe(self) -> dict[str, Any]: ...


def _faiss() -> Any:
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one query at a time: threads only add overhead
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - faiss is in the lock
        raise BackendError("faiss-cpu is not installed: pip install 'triage[kb]'") from exc
    return faiss


FEW_QUERIES = 20  # FAISS itself parallelises flat search over queries only from about this many


NPROBE = 128


class FaissStore:
    """Exact inner-product search up to `exact_max` vectors, an IVF index beyond.

    Exact search stays under ~15 ms to 100k vectors on 2 cores; past that an
    inverted-file index with `nprobe` lists keeps latency flat (see BENCHMARKS.md). `NPROBE` is 128,
    not FAISS's usual handful: on real e5 embeddings (which do not cluster the way synthetic vectors do)
    32 of 4·√n lists returned 0.89 of the exact top-10 at 100k, 128 returns 0.98 at a quarter of exact's
    time (bench/ivf_nprobe.py).
    """

    FILE = "faiss.index"

    def __init__(self, dim: int, *, exact_max: int = 200_000, nprobe: int = NPROBE) -> None:
        self.dim = dim
        self.exact_max = exact_max
        self.nprobe = nprobe
        faiss = _faiss()
        self.index_: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @property
    def exact(self) -> bool:
        return not hasattr(self.index_, "nprobe")

    def __len__(self) -> int:
        return int(self.index_.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray, *, tag: int = 0) -> None:
        if len(ids):
            self.index_.add_with_ids(np.ascontiguousarray(vectors, np.float32), np.asarray(ids, np.int64))

    def delete(self, ids: np.ndarray) -> None:
        if len(ids):
            self.index_.remove_ids(np.asarray(ids, np.int64))

    def get(self, ids: np.ndarray) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.dim), np.float32)
        return np.asarray(self.index_.reconstruct_batch(np.asarray(ids, np.int64)), np.float32)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = max(1, min(k, len(self))) if len(self) else 1
        queries = np.ascontiguousarray(queries, np.float32)
        if len(queries) >= FEW_QUERIES:
            return self.index_.search(queries, k)  # type: ignore[no-any-return]
        # A few queries gain nothing from OpenMP threads, and on a busy box waking them costs: one query
        # over 700 vectors took 10 ms with OMP_NUM_THREADS=2 against 0.2 ms with one (issue 19). The
        # setting is per calling thread, so other threads' batch searches keep theirs.
        faiss = _faiss()
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return self.index_.search(queries, k)  # type: ignore[no-any-return]
        finally:
            faiss.omp_set_num_threads(threads)

    def optimize(self) -> None:
        """Switch to an approximate index once exact search would be too slow (and back, after deletions)."""
        n = len(self)
        if self.exact and n > self.exact_max:
            self._to_ivf()
        elif not self.exact and n <= self.exact_max // 2:
            ids, vectors = self._all()
            faiss = _faiss()
            self.index_ = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
            self.add(ids, vectors)

    def _all(self) -> tuple[np.ndarray, np.ndarray]:
        faiss = _faiss()
        if self.exact:
            ids = faiss.vector_to_array(self.index_.id_map).astype(np.int64)
            return ids, self.index_.index.reconstruct_n(0, len(self))
        inv = self.index_.invlists
        ids_parts, vec_parts = [], []
        for lst in range(self.index_.nlist):
            size = inv.list_size(lst)
            if size:
                ids_parts.append(faiss.rev_swig_ptr(inv.get_ids(lst), size).copy())
                codes = faiss.rev_swig_ptr(inv.get_codes(lst), size * self.dim * 4).copy()
                vec_parts.append(codes.view(np.float32).reshape(size, self.dim))
        return np.concatenate(ids_parts), np.concatenate(vec_parts)

    def _to_ivf(self) -> None:
        faiss = _faiss()
        ids, vectors = self._all()
        nlist = int(4 * math.sqrt(len(ids)))
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vectors[rng.choice(len(vectors), size=min(len(vectors), nlist * 40), replace=False)]
        index.train(sample)
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        index.add_with_ids(vectors, ids)
        index.nprobe = self.nprobe
        self.index_ = index

    def describe(self) -> dict[str, Any]:
        return {"backend": "faiss", "exact": self.exact, "exact_max": self.exact_max, "nprobe": self.nprobe,
                "count": len(self)}

    def save(self, directory: Path) -> None:
        _faiss().write_index(self.index_, str(directory / self.FILE))

    @classmethod
    def load(cls, directory: Path, dim: int, *, exact_max: int = 200_000, nprobe: int = NPROBE) -> FaissStore:
        path = directory / cls.FILE
        if not path.exists():
            raise IndexFormatError(f"{path} is missing: rebuild the index with `triage kb build`")
        store = cls(dim, exact_max=exact_max, nprobe=nprobe)
        store.index_ = _faiss().read_index(str(path))
        if store.index_.d != dim:
            raise IndexFormatError(f"{path} holds {store.index_.d}-d vectors, the manifest says {dim}")
        if not store.exact:
            store.index_.nprobe = nprobe
        return store
