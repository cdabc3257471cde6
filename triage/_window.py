"""Which texts are longer than the embedder's window, so a cut is reported instead of silent.

Embedders cut long texts (the transformer at `max_tokens` tokens, USE at `max_tokens * 5`
characters); the API marks those results `"truncated": true` so a caller knows the tail was not read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def over_window(embedder: Any, texts: Sequence[str], kind: str = "query") -> list[bool]:
    inner = getattr(embedder, "inner", embedder)  # CachedEmbedder wraps the real one
    limit = int(inner.max_tokens)
    tokenizer = getattr(inner, "_tokenizer", None) or getattr(getattr(inner, "_model", None), "tokenizer", None)
    if tokenizer is None or not callable(tokenizer):  # USE: a character window
        return [len(t) > limit * 5 for t in texts]
    prefix = (getattr(inner, "prefixes", None) or {}).get(kind) or ""
    flags = [False] * len(texts)
    # every token covers at least one character, so only texts longer than the window can overflow it
    todo = [i for i, t in enumerate(texts) if len(prefix) + len(t) + 2 > limit]
    if todo:
        ids = tokenizer([prefix + texts[i] for i in todo], add_special_tokens=True)["input_ids"]
        for i, seq in zip(todo, ids, strict=True):
            flags[i] = len(seq) > limit
    return flags
