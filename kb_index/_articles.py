"""Articles and the chunks they are cut into.

Chunks respect headings (LangChain's Markdown splitter) and are cut further by
size only inside a section, so a snippet never straddles two topics. Each chunk
remembers its article, title, heading path and position.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from kb_index._html import html_to_markdown
from kb_index.errors import SourceError

SOURCES = ("kb", "answer")  # a KB article, or a past ticket's developer answer
_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]
FOLDER_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html"}


@dataclass(frozen=True)
class Article:
    """One retrievable unit; `source="answer"` marks a past ticket whose answer is the snippet."""

    id: str
    title: str
    body: str
    url: str | None = None
    category: str | None = None
    source: str = "kb"
    answer: str | None = None  # for source="answer": shown instead of the matched text
    format: str = "markdown"

    def content_hash(self, params: dict[str, object]) -> str:
        """Changes when the article or the chunking does, so an update re-embeds only what changed."""
        payload = json.dumps([asdict(self), params], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


@dataclass
class Chunk:
    article_id: str
    position: int
    text: str  # what is embedded and matched lexically (title + heading path + section text)
    snippet: str  # what a person sees
    meta: dict[str, str] = field(default_factory=dict)


def read_folder(folder: Path) -> list[Article]:
    """Markdown, text and HTML files under `folder`; id = relative path, title = first heading or file name."""
    articles = []
    for path in sorted(folder.rglob("*")):
        kind = FOLDER_SUFFIXES.get(path.suffix.lower())
        if kind is None or not path.is_file():
            continue
        try:
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise SourceError(f"not UTF-8 text ({exc.reason}); convert it or remove it from the folder",
                              file=str(path)) from exc
        meta: dict[str, str] = {}
        if kind == "html":
            body, meta = html_to_markdown(raw), _html_meta(raw)
        else:
            body, meta = _front_matter(raw)
        title = meta.get("title") or _first_heading(body) or path.stem.replace("_", " ").replace("-", " ")
        articles.append(Article(id=path.relative_to(folder).as_posix(), title=title, body=body,
                                url=meta.get("url") or None, category=meta.get("category") or None,
                                format="text" if kind == "text" else "markdown"))
    return articles


URL_KEYS = ("url", "link", "href", "source_url", "permalink")  # where an article says where it lives


def _front_matter(raw: str) -> tuple[str, dict[str, str]]:
    """(body, metadata) of a Markdown file with a YAML front matter block (`---` ... `---`): title, url, category."""
    if not raw.startswith("---"):
        return raw, {}
    end = raw.find("\n---", 3)
    if end < 0:
        return raw, {}
    import yaml

    try:
        data = yaml.safe_load(raw[3:end])
    except yaml.YAMLError:
        return raw, {}  # not front matter after all: index the file as written
    if not isinstance(data, dict):
        return raw, {}
    meta = {str(k).lower(): str(v).strip() for k, v in data.items() if v is not None and not isinstance(v, dict | list)}
    url = next((meta[k] for k in URL_KEYS if meta.get(k)), None)
    out = {k: v for k, v in (("title", meta.get("title")), ("url", url), ("category", meta.get("category"))) if v}
    return raw[end + 4:].lstrip("\n"), out


def _html_meta(raw: str) -> dict[str, str]:
    """Title and address of an HTML page: <title>, then <link rel=canonical> or <meta property=og:url>."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    out: dict[str, str] = {}
    if not _first_heading(html_to_markdown(raw)) and soup.title and soup.title.get_text(strip=True):
        out["title"] = soup.title.get_text(strip=True)
    canonical = soup.find("link", rel="canonical")
    og = soup.find("meta", attrs={"property": "og:url"})
    href = (canonical.get("href") if canonical else None) or (og.get("content") if og else None)
    if isinstance(href, str) and href.strip():
        out["url"] = href.strip()
    return out


def _first_heading(markdown: str) -> str | None:
    for line in markdown.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip() or None
    return None


class Chunker:
    """Cuts articles into chunks; parameters are part of the index manifest."""

    def __init__(self, chunk_chars: int = 800, overlap: int = 100, title_chunk: bool = True) -> None:
        self.chunk_chars = chunk_chars
        self.overlap = overlap
        self.title_chunk = title_chunk

    @property
    def params(self) -> dict[str, object]:
        return {"chunk_chars": self.chunk_chars, "overlap": self.overlap, "title_chunk": self.title_chunk}

    def split(self, article: Article) -> list[Chunk]:
        if article.source == "answer":  # match on the question, show the answer
            snippet = _clip(article.answer or "", 500)
            return [Chunk(article.id, 0, _clip(f"{article.title}\n{article.body}", self.chunk_chars * 2), snippet)]
        sections = self._sections(article)
        chunks: list[Chunk] = []
        if self.title_chunk and article.title.strip():
            first = sections[0][1] if sections else ""
            chunks.append(Chunk(article.id, 0, article.title.strip(), _clip(first or article.title, 300)))
        for path, text in sections:
            context = " / ".join([article.title.strip(), *path])
            chunks.append(Chunk(article.id, len(chunks), f"{context}\n{text}", _clip(text, 300),
                                {"section": " / ".join(path)}))
        return chunks

    def _sections(self, article: Article) -> list[tuple[list[str], str]]:
        body = article.body.strip()
        if not body:
            return []
        sizer = RecursiveCharacterTextSplitter(chunk_size=self.chunk_chars, chunk_overlap=self.overlap)
        if article.format == "text":
            return [([], part) for part in sizer.split_text(body)]
        docs = MarkdownHeaderTextSplitter(_HEADERS, strip_headers=True).split_text(body)
        out: list[tuple[list[str], str]] = []
        for doc in docs:
            path = [str(doc.metadata[k]) for _, k in _HEADERS if k in doc.metadata]
            if path and path[0] == article.title.strip():
                path = path[1:]
            out.extend((path, part) for part in sizer.split_text(doc.page_content) if part.strip())
        return out


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
