"""ONNX Runtime path for the default embedder.

Eager PyTorch spends 25-35 ms per call on these two cores even for a 12-token ticket (per-op
overhead across 12 layers); the same graph in ONNX Runtime takes ~12 ms with cosine 1.0 to it.
The graph is exported once from the converted sentence-transformers folder, next to it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb_index.durable import fsync_tree, swap_dir

ONNX_FILE = "model.onnx"


def export_onnx(folder: Path) -> Path:
    """Write `<folder>/onnx/model.onnx` (transformer + mean pooling + normalize) once, atomically."""
    target = folder / "onnx" / ONNX_FILE
    if target.is_file():
        return target
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")
    transformer: Any = model[0].auto_model
    graph = _Pooled(transformer.eval())
    sample = model.tokenizer(["query: пример / example"], return_tensors="pt")
    tmp = folder / f".onnx.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        torch.onnx.export(graph, (sample["input_ids"], sample["attention_mask"]), str(tmp / ONNX_FILE),
                          input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}},
                          opset_version=17, dynamo=False)
        fsync_tree(tmp)
        swap_dir(tmp, folder / "onnx")  # a kill leaves no folder or a complete one, never half a graph
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class _Pooled:  # a torch.nn.Module built lazily so importing this file does not import torch
    def __new__(cls, transformer: Any) -> Any:
        import torch

        class Pooled(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.transformer = transformer

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, dim=1)

        return Pooled()


class OnnxEmbedder:
    """Same vectors as the sentence-transformers folder it was exported from, faster per call."""

    def __init__(self, folder: Path, *, model_id: str, prefixes: dict[str, str], max_tokens: int) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
        self._session = ort.InferenceSession(str(export_onnx(folder)), options, providers=["CPUExecutionProvider"])
        self._tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.source, self.model_id, self.prefixes, self.max_tokens = str(folder), model_id, prefixes, max_tokens
        self.dim = int(self._session.get_outputs()[0].shape[-1] or 384)

    def encode(self, texts: Sequence[str], *, kind: str = "query", batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        from tqdm.auto import tqdm

        prefix = self.prefixes.get(kind) or ""
        order = np.argsort([len(t) for t in texts])[::-1]  # similar lengths together: less padding
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in tqdm(range(0, len(texts), batch_size), desc="embedding", unit="batch", disable=not progress):
            idx = order[start:start + batch_size]
            tok = self._tokenizer([prefix + texts[i] for i in idx], padding=True, truncation=True,
                                  max_length=self.max_tokens, return_tensors="np")
            feeds = {"input_ids": tok["input_ids"].astype(np.int64),
                     "attention_mask": tok["attention_mask"].astype(np.int64)}
            out[idx] = self._session.run(None, feeds)[0]
        return out
