"""The ONNX Runtime path must give the vectors of the sentence-transformers model it was exported from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_onnx_matches_sentence_transformers(cache_dir: Path) -> None:
    from triage._embedding import E5_PREFIXES, SentenceTransformerEmbedder, load_embedder
    from triage._onnx import OnnxEmbedder

    fast = load_embedder("e5-small", cache_dir=cache_dir, max_tokens=128)
    assert isinstance(fast, OnnxEmbedder)
    folder = cache_dir / "models" / "multilingual-e5-small-q4"
    assert (folder / "onnx" / "model.onnx").is_file()
    slow = SentenceTransformerEmbedder(str(folder), model_id=fast.model_id, prefixes=E5_PREFIXES, max_tokens=128)
    texts = ["Не работает VPN, AnyConnect пишет login failed", "Printer on floor 3 jams " * 80, "1С 8.3 НДС", "x"]
    for kind in ("query", "passage"):
        a = fast.encode(texts, kind=kind, batch_size=3)  # type: ignore[arg-type]
        b = slow.encode(texts, kind=kind, batch_size=3)  # type: ignore[arg-type]
        assert a.shape == (4, 384)
        np.testing.assert_allclose((a * b).sum(axis=1), 1.0, atol=1e-4)
    q, near, far = fast.encode([texts[0], "VPN не подключается", "Как поменять фото профиля"])
    assert q @ near > q @ far
