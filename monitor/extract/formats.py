"""Which extractor reads a body: the watch's ``format``, else what the bytes are (a PDF's
``%PDF-``, a feed's ``<rss``, ``<feed`` or ``<rdf:RDF`` root, a JSON object or array), else the
response's Content-Type, else HTML. Bytes win over the header because servers mislabel
documents (a PDF sent as ``application/octet-stream``, JSON as ``text/html``); a header that
names a format the bytes do not show is believed, so its extractor names the mismatch. A plain
text or Markdown file (``text/plain``, ``text/markdown``: a raw ``.md`` URL) is read as its
lines, unless its bytes start with a tag."""

from __future__ import annotations

import re
from typing import Literal

Format = Literal["html", "pdf", "feed", "json", "text"]
FORMATS: tuple[Format, ...] = ("html", "pdf", "feed", "json", "text")

_SNIFF_BYTES = 1024
_XML_PREAMBLE = re.compile(
    rb"\s*(?:<\?xml[^>]{0,200}\?>\s*|<!--.{0,500}?-->\s*|<\?xml-stylesheet[^>]{0,300}\?>\s*"
    rb"|<!DOCTYPE[^\[>]{0,300}(?:\[.{0,1000}?\])?\s*>\s*)*",
    re.S,
)
_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)\b", re.I)
_BY_TYPE: dict[str, Format] = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/rss+xml": "feed",
    "application/atom+xml": "feed",
    "application/rdf+xml": "feed",
    "application/json": "json",
    "text/json": "json",
    "text/plain": "text",
    "text/markdown": "text",
    "text/x-markdown": "text",
}


def sniff(body: bytes) -> Format | None:
    """The format the first bytes show, or None when they show none clearly."""
    head = body[:_SNIFF_BYTES]
    if b"%PDF-" in head:
        return "pdf"
    head = head.removeprefix(b"\xef\xbb\xbf")
    preamble = _XML_PREAMBLE.match(head)
    after = head[preamble.end() if preamble else 0 :]
    if _FEED_ROOT.match(after):
        return "feed"
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        return "json"
    return None


def by_content_type(content_type: str | None) -> Format | None:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in _BY_TYPE:
        return _BY_TYPE[media]
    if media.endswith("+json"):
        return "json"
    return None


def choose_format(
    body: bytes, content_type: str | None, declared: Format | None
) -> tuple[Format, str]:
    """(format, how it was chosen) for one body."""
    served = f"served as {content_type}" if content_type else "served without a Content-Type"
    if declared is not None:
        return declared, f"set by the watch's format; {served}"
    sniffed = sniff(body)
    typed = by_content_type(content_type)
    if sniffed is not None:
        return sniffed, served if typed == sniffed else f"from its first bytes; {served}"
    if typed == "text" and body.lstrip()[:1] == b"<":
        return "html", f"its bytes start with a tag; {served}"
    if typed is not None:
        return typed, served
    return "html", served
