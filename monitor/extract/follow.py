"""A watch that follows a link: the document's URL, found on the page by the watch's ``follow``
selector, and the version text, which names the link on its first line."""

from __future__ import annotations

from urllib.parse import urldefrag, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from monitor.errors import ExtractError
from monitor.extract.css import css
from monitor.extract.decode import decode_html


def follow_link(body: bytes, charset: str | None, page_url: str, selector: str) -> str:
    """The absolute URL of the first element `selector` matches that has an href (or src).
    ExtractError when none does, naming the page and the selector."""
    tree = LexborHTMLParser(decode_html(body, charset))
    base = tree.css_first("base[href]")
    base_href = base.attributes.get("href") if base is not None else None
    base_url = urljoin(page_url, base_href.strip()) if base_href else page_url
    for node in css(tree, selector):
        href = node.attributes.get("href") or node.attributes.get("src")
        if not href or not href.strip():
            continue
        url = urldefrag(urljoin(base_url, "".join(href.split())))[0]
        if urlsplit(url).scheme in ("http", "https"):
            return url
    raise ExtractError(
        f"follow selector {selector!r} matched no link on {page_url}; "
        "check the page or the watch's follow"
    )


def linked_text(link: str, text: str) -> str:
    """The followed document's text under a line naming the link it was found at."""
    return f"Document: {link}\n{text}"


def link_of(text: str) -> str | None:
    """The link a followed document's version text names on its first line, if any."""
    first = text.split("\n", 1)[0]
    return first.removeprefix("Document: ") if first.startswith("Document: ") else None
