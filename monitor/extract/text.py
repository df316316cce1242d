"""extract_html: choose the content, drop what is hidden, ignored or page furniture, write it
as text, then normalise it and apply the watch's ignore_text patterns."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from monitor.errors import ExtractError
from monitor.extract.css import css
from monitor.extract.decode import decode_html
from monitor.extract.writer import Options, Writer

# hidden="until-found" is collapsed content a reader can open; a closed <dialog> is not shown
HIDDEN = '[hidden]:not([hidden="until-found"]), [aria-hidden="true"], dialog:not([open])'
_LANDMARKS = "nav, aside, header, footer"
# header/footer inside these belong to the content, not to the page (ARIA banner/contentinfo)
_CONTENT_LANDMARKS = ", ".join(
    f"{outer} {inner}" for outer in ("article", "main", "section") for inner in ("header", "footer")
)
_EMPTIED_LINE = re.compile(r"(?:> ?)*\s*(?:#{1,6}|-|\d+\.)?[\s|]*")


def _select(tree: LexborHTMLParser, select: str | None, url: str) -> list[LexborNode]:
    if select is not None:
        nodes = css(tree, select)
        if not nodes:
            raise ExtractError(
                f"selector {select!r} matched nothing on {url}; "
                "check the page or the watch's select"
            )
    else:
        body = tree.body or tree.root
        nodes = tree.css("main") or tree.css("article") or ([body] if body is not None else [])
    chosen = {node.mem_id for node in nodes}
    return [node for node in nodes if not _has_ancestor_in(node, chosen)]


def _has_ancestor_in(node: LexborNode, ids: set[int]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id in ids:
            return True
        parent = parent.parent
    return False


def _skipped(tree: LexborHTMLParser, roots: list[LexborNode], ignore: Sequence[str]) -> set[int]:
    """Elements dropped with their subtree: hidden ones, ignored ones and page landmarks
    (nav, aside, page header and footer) unless the selection itself is one of them."""
    dropped = {node.mem_id for node in tree.css(HIDDEN)}
    for selector in ignore:
        dropped.update(node.mem_id for node in css(tree, selector))
    landmarks = {node.mem_id for node in tree.css(_LANDMARKS)}
    landmarks -= {node.mem_id for node in tree.css(_CONTENT_LANDMARKS)}
    landmarks -= {root.mem_id for root in roots}
    return dropped | landmarks


def _base_url(tree: LexborHTMLParser, url: str) -> str:
    base = tree.css_first("base[href]")
    href = base.attributes.get("href") if base is not None else None
    return urljoin(url, href.strip()) if href else url


def drop_text(lines: list[str], patterns: Sequence[str]) -> list[str]:
    """Remove the spans each pattern matches, line by line; drop lines left without content."""
    for pattern in patterns:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ExtractError(f"bad ignore_text regex {pattern!r}: {exc}") from None
        kept = []
        for line in lines:
            if regex.search(line):
                line = regex.sub("", line)
                indent = line[: len(line) - len(line.lstrip(" "))]
                line = indent + " ".join(line.split())
                if _EMPTIED_LINE.fullmatch(line):
                    continue
            kept.append(line)
        lines = kept
    return lines


def extract_html(
    body: bytes,
    *,
    charset: str | None,
    base_url: str,
    select: str | None = None,
    ignore: Sequence[str] = (),
    ignore_text: Sequence[str] = (),
    kind: str = "generic",
    min_length: int = 1,
) -> str:
    """The page's content as normalised text (see the monitor.extract docstring for its format).
    Raises ExtractError when a selector is bad or matches nothing, or the text is too short."""
    tree = LexborHTMLParser(decode_html(body, charset))
    roots = _select(tree, select, base_url)
    skip = _skipped(tree, roots, ignore)
    options = Options(kind == "index", _base_url(tree, base_url), frozenset(skip))
    writer = Writer(options)
    for root in roots:
        writer.walk(root)
    lines = unicodedata.normalize("NFC", "\n".join(writer.finish())).split("\n")
    if ignore_text:
        lines = drop_text(lines, ignore_text)
    text = "\n".join(lines)
    if len(text) < min_length:
        raise ExtractError(
            f"content empty or too short on {base_url}: {len(text)} characters, "
            f"min_length is {min_length}; check the page or the watch's select and ignore"
        )
    return text


def unmatched_selectors(body: bytes, charset: str | None, selectors: Sequence[str]) -> list[str]:
    """The selectors (a watch's ignore list) that match nothing on the page."""
    tree = LexborHTMLParser(decode_html(body, charset))
    return [selector for selector in selectors if not css(tree, selector)]
