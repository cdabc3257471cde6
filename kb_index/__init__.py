"""Knowledge-base index: articles and past answers, chunked, embedded and searched.

Public surface: build or update an index (`build_index`), open and search it
(`KBIndex`), the vector-store protocol with its FAISS, Qdrant and Qdrant Edge backends, and
the folder reader, and the dense + BM25 fusion (`fuse`, with its defaults `LEXICAL_WEIGHT` and
`LEXICAL_CLIP`) that the ticket history ranks by too. Durable writes (atomic file, fsync of a
directory, atomic directory swap) are the public module `kb_index.durable`. Embedding is the
caller's: the index takes any object with `model_id`, `dim` and `encode(texts, kind=...)`.
"""

from kb_index._articles import SOURCES, Article, Chunker, read_folder
from kb_index._build import BuildOptions, BuildReport, Encoder, build_index
from kb_index._edge import EdgeStore
from kb_index._fusion import LEXICAL_CLIP, LEXICAL_WEIGHT, fuse
from kb_index._html import article_text, html_to_markdown, message_text
from kb_index._index import Hit, KBHit, KBIndex, QdrantSettings
from kb_index._qdrant import QdrantStore
from kb_index._rerank import SIGNALS, Candidates, Reranker
from kb_index._stores import FaissStore, VectorStore
from kb_index._text import tokenize

__all__ = ["LEXICAL_CLIP", "LEXICAL_WEIGHT", "SIGNALS", "SOURCES", "Article", "BuildOptions", "BuildReport",
           "Candidates", "Chunker", "EdgeStore", "Encoder", "FaissStore", "Hit", "KBHit", "KBIndex", "QdrantSettings",
           "QdrantStore",
           "Reranker", "VectorStore", "article_text", "build_index", "fuse", "html_to_markdown", "message_text",
           "read_folder", "tokenize"]
