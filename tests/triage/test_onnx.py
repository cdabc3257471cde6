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


def test_the_int8_graph_is_made_once_and_stays_close_to_fp32(cache_dir: Path, tmp_path: Path) -> None:
    """TRIAGE_INT8: the quantised graph beside the fp32 one, the same model to bundles, another to the cache."""
    from triage._embedding import CachedEmbedder, load_embedder
    from triage._onnx import INT8_FILE
    from triage.settings import Settings

    assert Settings(int8=True).onnx_graph == "int8" and Settings(int8=True, onnx=False).onnx_graph is False
    fp32 = load_embedder("e5-small", cache_dir=cache_dir, max_tokens=128)
    int8 = load_embedder("e5-small", cache_dir=cache_dir, max_tokens=128, onnx="int8")
    graph = cache_dir / "models" / "multilingual-e5-small-q4" / "onnx" / INT8_FILE
    assert graph.is_file() and graph.stat().st_size < 0.5 * graph.with_name("model.onnx").stat().st_size
    assert not list(graph.parent.glob(".*tmp-*"))  # written to a temporary name, then renamed
    assert int8.model_id == fp32.model_id  # bundles and KB indexes built with fp32 still load
    texts = ["Не работает VPN, AnyConnect пишет login failed", "Printer on floor 3 jams " * 80, "1С 8.3 НДС"]
    cos = (fp32.encode(texts) * int8.encode(texts)).sum(axis=1)
    assert cos.min() > 0.95 and cos.max() < 1 - 1e-6, cos  # close, and really another graph
    q, near, far = int8.encode([texts[0], "VPN не подключается", "Как поменять фото профиля"])
    assert q @ near > q @ far
    # the embedding cache never hands an fp32 vector to the int8 model, or back
    a, b = CachedEmbedder(fp32, tmp_path / "e.sqlite"), CachedEmbedder(int8, tmp_path / "e.sqlite")
    assert not np.allclose(a.encode(texts[:1]), b.encode(texts[:1]))
