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
INT8_FILE = "model.int8.onnx"


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


def quantize_int8(folder: Path) -> Path:
    """`<folder>/onnx/model.int8.onnx`: the fp32 graph with int8 weights (dynamic, per channel), made once.

    Dynamic quantisation stores each weight matrix as int8 with one scale per output channel and
    quantises activations on the fly, so no calibration data is needed (TRIAGE_INT8; BENCHMARKS.md has
    the speed gain and what it costs in quality). Written to a temporary file, then renamed.
    """
    target = folder / "onnx" / INT8_FILE
    if target.is_file():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = export_onnx(folder)
    tmp = target.with_name(f".{INT8_FILE}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        quantize_dynamic(str(source), str(tmp), per_channel=True, weight_type=QuantType.QInt8)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)  # a kill leaves no file or a complete one
    finally:
        tmp.unlink(missing_ok=True)
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

    def __init__(self, folder: Path, *, model_id: str, prefixes: dict[str, str], max_tokens: int,
                 int8: bool = False) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
        graph = quantize_int8(folder) if int8 else export_onnx(folder)
        self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        # the same model to bundles and KB indexes (their vectors stay comparable), another to the embedding cache
        self.cache_id = f"{model_id}+int8" if int8 else model_id
        self.int8 = int8
        self._tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.source, self.model_id, self.prefixes, self.max_tokens = str(folder), model_id, prefixes, max_tokens
        self.dim = int(self._session.get_outputs()[0].shape[-1] or 384)

    def encode(self, texts: Sequence[str], *, kind: str = "query", batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        return self.encode_flagged(texts, kind=kind, batch_size=batch_size, progress=progress)[0]

    def encode_flagged(self, texts: Sequence[str], *, kind: str = "query", batch_size: int = 32,
                       progress: bool = False) -> tuple[np.ndarray, list[bool]]:
        """The vectors, and which texts were longer than the window, from one tokenisation.

        `triage._window.over_window` would tokenise a long ticket a second time just to say it was cut
        (~1 ms for 1,100 characters); here the full token ids are cut by hand exactly as the tokenizer's
        own truncation does (first tokens, then the closing special token).
        """
        from tqdm.auto import tqdm

        prefix = self.prefixes.get(kind) or ""
        order = np.argsort([len(t) for t in texts])[::-1]  # similar lengths together: less padding
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        cut = [False] * len(texts)
        for start in tqdm(range(0, len(texts), batch_size), desc="embedding", unit="batch", disable=not progress):
            idx = order[start:start + batch_size]
            ids, mask, over = self._tokens([prefix + texts[i] for i in idx])
            for i, flag in zip(idx, over, strict=True):
                cut[i] = flag
            out[idx] = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return out, cut

    def _tokens(self, batch: list[str]) -> tuple[np.ndarray, np.ndarray, list[bool]]:
        """Padded ids and mask cut to the window, and which rows were cut."""
        full = self._tokenizer(batch, add_special_tokens=True, verbose=False)["input_ids"]
        width = min(self.max_tokens, max(len(seq) for seq in full))
        ids = np.full((len(full), width), self._tokenizer.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(full), width), dtype=np.int64)
        over = [len(seq) > self.max_tokens for seq in full]
        for row, seq in enumerate(full):
            if over[row]:
                seq = [*seq[:self.max_tokens - 1], seq[-1]]  # keep the closing </s>, as truncation=True does
            ids[row, :len(seq)] = seq
            mask[row, :len(seq)] = 1
        return ids, mask, over
