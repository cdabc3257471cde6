"""Helpdesk messages as the text a person reads: HTML to text, quoted replies and signatures dropped.

Zammad, Jira and OTRS send article bodies as HTML, and a reply carries the whole thread below it. Read
as-is, markup becomes "evidence" and the quoted thread makes every reply look like its first message.
`message_text` is the one function that turns such a body into text; ticket text (`triage.ticket_text`)
and HTML KB articles both go through it, so training, serving and the KB see the same words.

Only what can be recognised safely is dropped: `<blockquote type="cite">` and Gmail/Outlook quote
containers, an "-----Original Message-----" / "-----Исходное сообщение-----" separator, an Outlook
"From: … Sent: …" header block, an "On … wrote:" / "… написал(а):" line with a date or address,
`>`-quoted lines, a "-- " signature separator and a short closing block after "С уважением," / "Best
regards,". If dropping would leave nothing, the text is kept whole: a forwarded message is still the
ticket.
"""

from __future__ import annotations

import re
import warnings
from html import unescape

_KNOWN_TAG = re.compile(r"</?(?:p|div|br|span|b|i|u|s|strong|em|ul|ol|li|table|tbody|thead|tr|td|th|a|img|"
                        r"blockquote|h[1-6]|pre|code|font|hr|html|body|head|meta|style|script|center|small|sup|"
                        r"sub|o:p)\b[^<>]*>", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{2,5});")
_SEPARATOR = re.compile(r"^\s*-{2,}\s*(original message|исходное сообщение|пересылаемое сообщение|"
                        r"forwarded message|переслан\w* сообщение)\s*-{2,}\s*$", re.IGNORECASE)
_WROTE = re.compile(r"^.{0,200}(\bwrote|написал\(а\)|написала?|пишет)\s*:\s*$", re.IGNORECASE)
_HEADER_FROM = re.compile(r"^\s*\*?(from|от|от кого)\s*:\*?\s+\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\*?(sent|date|to|subject|отправлено|дата|кому|тема)\s*:", re.IGNORECASE)
_CLOSING = re.compile(r"^\s*(с уважением|с наилучшими пожеланиями|всего доброго|best regards|kind regards|"
                      r"regards|best wishes|cheers|sincerely|thanks(?: and regards)?|thank you|спасибо)\s*[,.!]?\s*$",
                      re.IGNORECASE)
_QUOTE_CONTAINERS = ('blockquote[type="cite"]', "div.gmail_quote", "div.yahoo_quoted", "div#appendonsend",
                     "div#divRplyFwdMsg", "div.moz-cite-prefix")
_SIGNATURE_LINES = 6  # a closing block longer than this is more likely content than a signature
_SIGNATURE_WIDTH = 80


def looks_like_html(text: str) -> bool:
    """Markup, not a snippet: two known HTML tags, or a body that opens with one.

    A plain bug report may quote one tag ("does not allow <br>") or a placeholder (`<username>`): those
    stay as written. Cheap, so plain text (most tickets) never pays for a parser.
    """
    if "<" not in text:
        return False
    found = _KNOWN_TAG.findall(text[:20_000])
    return len(found) >= 2 or (len(found) == 1 and text.lstrip().lower().startswith(found[0].lower()))


def html_to_markdown(html: str, *, drop_quotes: bool = False) -> str:
    """Paragraphs, line breaks and lists survive; headings become Markdown so KB articles split by section."""
    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

    with warnings.catch_warnings():  # a pasted XML snippet in a ticket is read as text, which is what we want
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "footer", "head", "title"]):
        tag.decompose()
    if drop_quotes:
        for selector in _QUOTE_CONTAINERS:
            for tag in soup.select(selector):
                tag.decompose()
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            tag.replace_with(f"\n\n{'#' * level} {tag.get_text(' ', strip=True)}\n\n")
    for lst in soup.find_all(["ol", "ul"]):
        for n, item in enumerate(lst.find_all("li", recursive=False), 1):
            item.insert(0, f"{n}. " if lst.name == "ol" else "- ")
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for tag in soup.find_all(["p", "li", "tr", "div", "pre", "table", "ol", "ul", "blockquote"]):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = [" ".join(line.split()) for line in soup.get_text().splitlines()]
    return re.sub(r"\n\n(?=- |\d+\. )", "\n", _squeeze("\n".join(lines)))  # list items one per line


def article_text(body: str) -> str:
    """A KB article body: HTML becomes Markdown (headings kept for the section splitter); other text is as
    written (a Markdown `>` block in an article is content, not a quoted reply)."""
    return html_to_markdown(body) if looks_like_html(body) else body


def strip_replies(text: str) -> str:
    """The new part of a plain-text message: quoted thread and signature dropped (see the module docstring)."""
    lines = text.splitlines()
    cut = len(lines)
    for i, line in enumerate(lines):
        if _SEPARATOR.match(line) or line.rstrip() in ("--", "-- ") or _is_reply_header(lines, i):
            cut = i
            break
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    kept = _drop_closing(kept)
    result = _squeeze("\n".join(kept))
    return result if result else text.strip()


def message_text(text: str | None) -> str:
    """A helpdesk body (HTML or plain text) as the words a person reads; safe and fast on plain text."""
    if not text:
        return ""
    if looks_like_html(text):
        plain = html_to_markdown(text, drop_quotes=True)
        text = plain or html_to_markdown(text)
    elif "&" in text and _ENTITY.search(text):
        text = unescape(text)  # "R&amp;D": entities alone, no markup to parse
    if not _may_quote(text):
        return text.strip()
    return strip_replies(text)


def _may_quote(text: str) -> bool:
    lowered = text.lower()
    return (">" in text or "--" in text or ":" in text
            or any(word in lowered for word in ("уважением", "regards", "спасибо", "thank", "cheers", "sincerely",
                                                "пожеланиями", "доброго", "best wishes")))


def _is_reply_header(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _WROTE.match(line) and (re.search(r"\d", line) or "@" in line):
        return True
    if _HEADER_FROM.match(line):
        following = lines[i + 1:i + 5]
        return sum(bool(_HEADER_NEXT.match(f)) for f in following) >= 2
    return False


def _drop_closing(lines: list[str]) -> list[str]:
    """Cut a "Best regards, / name / phone" block at the end, if it is short and narrow."""
    for i in range(len(lines) - 1, max(-1, len(lines) - _SIGNATURE_LINES - 2), -1):
        if _CLOSING.match(lines[i]):
            tail = [t for t in lines[i + 1:] if t.strip()]
            if len(tail) <= _SIGNATURE_LINES and all(len(t) <= _SIGNATURE_WIDTH for t in tail) and i > 0:
                return lines[:i]
    return lines


def _squeeze(text: str) -> str:
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
