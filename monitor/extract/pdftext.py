"""A PDF's lines → the version's text; pure.

    # Page 1
    ## Responsible Scaling Policy
    Version 3.1
    Effective date: March 31, 2026
    # Page 2
    ## 1. Capability thresholds
    We evaluate frontier models … (one paragraph per line)

Each page starts with a ``# Page N`` marker, so a diff names the page. Lines set in a font
clearly larger than the body's, or named by the document's outline, are headings (``##`` for the
largest size, then ``###``, ``####``). Running headers and footers (the same text at the same
height on most pages, page numbers masked) and bare page numbers are dropped. Lines of one
paragraph are joined, and a word hyphenated across a line end is joined again. Same lines in,
same text out.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Sequence

from monitor.errors import ExtractError
from monitor.extract.pdf import PdfLine, PdfPages

HEADING_RATIO = 1.15  # a heading's font is at least this much larger than the body's
HEADING_WORDS = 20
PARAGRAPH_GAP = 1.3  # a gap this many times the usual line spacing starts a new paragraph
EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be running furniture
_DIGITS = re.compile(r"\d+")
_PAGE_NUMBER = re.compile(
    r"(?:page\s+)?(?:\d{1,4}|[ivxlc]{1,6})(?:\s*(?:of|/)\s*\d{1,4})?|[-–—]\s*\d{1,4}\s*[-–—]", re.I
)
_ITEM_START = re.compile(r"(?:[•▪◦●·*–-]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s")
_DOT_LEADER = re.compile(r"(?:\s?\.){4,}\s?")  # a table of contents' dots
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st"})


def pdf_text(document: PdfPages, url: str) -> tuple[str, str]:
    """(text, what was seen) for the document; ExtractError when it has no text layer."""
    pages = [[_clean(line) for line in page] for page in document.pages]
    if not any(line.text for page in pages for line in page):
        raise ExtractError(
            f"PDF at {url} has no text layer ({len(pages)} pages of images: a scanned "
            "document?); monitor needs text it can read"
        )
    furniture = _furniture(pages)
    kept = [
        [line for index, line in enumerate(page) if (number, index) not in furniture]
        for number, page in enumerate(pages)
    ]
    body_size = _body_size(kept)
    levels = _heading_levels(kept, body_size)
    outline = {_key(title): depth for depth, title in document.outline}
    spacing = _line_spacing(kept, body_size)
    out: list[str] = []
    headings = 0
    for number, page in enumerate(kept, start=1):
        out.append(f"# Page {number}")
        blocks = _blocks(page, body_size, levels, outline, spacing)
        headings += sum(1 for block in blocks if block.startswith("#"))
        out += blocks
    text = unicodedata.normalize("NFC", "\n".join(out))
    removed = sum(len(p) for p in pages) - sum(len(p) for p in kept)
    seen = (
        f"{len(pages)} pages, {headings} headings, {removed} running header/footer lines "
        f"removed{', encrypted without a password' if document.encrypted else ''}"
    )
    return text, seen


def _clean(line: PdfLine) -> PdfLine:
    text = line.text.translate(_LIGATURES).replace("\u00ad", "-")
    text = _DOT_LEADER.sub(" … ", text)
    return PdfLine(" ".join(text.split()), line.size, line.y)


def _key(text: str) -> str:
    return " ".join(_DIGITS.sub("#", text).casefold().split())


def _edges(page: Sequence[PdfLine], depth: int = EDGE_LINES) -> set[int]:
    """Indexes of the `depth` lines nearest the top and the bottom of the page."""
    order = sorted(range(len(page)), key=lambda i: (-page[i].y, i))
    return set(order[:depth]) | set(order[-depth:])


def _furniture(pages: list[list[PdfLine]]) -> set[tuple[int, int]]:
    """(page, line) indexes of running headers and footers: lines at the edge of a page that
    recur at the same height on most pages (those with a number, such as a version or a date,
    are kept where they first appear); lines that recur there around a number following the
    page number ("Page 4 of 12", "Chapter 2: Scope 17"); bare page numbers."""
    edges = [_edges(page) for page in pages]
    texts: Counter[tuple[str, int]] = Counter()
    offsets: Counter[int] = Counter()
    numbered: Counter[tuple[str, int, int]] = Counter()
    for number, (page, edge) in enumerate(zip(pages, edges, strict=True), start=1):
        texts.update({(page[i].text, round(page[i].y)) for i in edge})
        # a page number sits on the outermost line
        found = {(i, n - number) for i in _edges(page, 1) for n in _end_numbers(page[i].text)}
        offsets.update({offset for _, offset in found})
        numbered.update({(_key(page[i].text), round(page[i].y), offset) for i, offset in found})
    needed = max(2, len(pages) // 2)
    many = len(pages) >= 3
    running = {key for key, count in texts.items() if count >= needed and many}
    paging = {offset for offset, count in offsets.items() if count >= needed and many}
    outermost = [_edges(page, 1) for page in pages]
    dropped = set()
    kept_once: set[str] = set()
    for number, (page, edge) in enumerate(zip(pages, edges, strict=True), start=1):
        for index in edge:
            line = page[index]
            key = (_key(line.text), round(line.y))
            if _PAGE_NUMBER.fullmatch(line.text) or any(
                n - number in paging and numbered[(*key, n - number)] >= 2
                for n in _end_numbers(line.text)
                if index in outermost[number - 1]
            ):
                dropped.add((number - 1, index))
            elif (line.text, round(line.y)) in running:
                if _DIGITS.search(line.text) and line.text not in kept_once:
                    kept_once.add(line.text)  # "RSP v2.1 · effective 15 Oct 2024": said once
                else:
                    dropped.add((number - 1, index))
    return dropped


def _end_numbers(text: str) -> set[int]:
    """The numbers standing alone at a line's start or end, where running lines put the page
    number ("17 | Policy", "Chapter 2: Scope 17"); never part of "v2.0" or "3.1"."""
    words = text.split()
    ends = {word.strip("-–—|·•()[]") for word in (words[:1] + words[-1:])}
    return {int(word) for word in ends if word.isdigit() and len(word) <= 4}


def _body_size(pages: list[list[PdfLine]]) -> float:
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page:
            sizes[line.size] += len(line.text)
    return max(sizes.items(), key=lambda item: (item[1], -item[0]))[0] if sizes else 0.0


def _is_heading_size(line: PdfLine, body_size: float) -> bool:
    return (
        body_size > 0
        and "…" not in line.text  # a table of contents' line
        and line.size >= body_size * HEADING_RATIO
        and len(line.text.split()) <= HEADING_WORDS
    )


def _heading_levels(pages: list[list[PdfLine]], body_size: float) -> dict[float, int]:
    sizes = sorted(
        {line.size for page in pages for line in page if _is_heading_size(line, body_size)},
        reverse=True,
    )
    return {size: min(index + 2, 4) for index, size in enumerate(sizes)}


def _line_spacing(pages: list[list[PdfLine]], body_size: float) -> float:
    gaps = [
        above.y - below.y
        for page in pages
        for above, below in zip(page, page[1:], strict=False)
        if above.size == below.size == body_size and above.y > below.y
    ]
    return statistics.median(gaps) if gaps else 0.0


def _blocks(
    page: list[PdfLine],
    body_size: float,
    levels: dict[float, int],
    outline: dict[str, int],
    spacing: float,
) -> list[str]:
    blocks: list[str] = []
    previous: PdfLine | None = None
    open_kind = ""  # "heading:<level>", "text" or ""
    for line in page:
        level = levels.get(line.size) if _is_heading_size(line, body_size) else None
        if _key(line.text) in outline:
            level = min(outline[_key(line.text)] + 2, 4)
        kind = f"heading:{level}" if level else "text"
        if (
            previous is not None
            and kind == open_kind
            and line.size == previous.size
            and _continues(previous, line, spacing, heading=level is not None)
        ):
            blocks[-1] = _join(blocks[-1], line.text)
        else:
            blocks.append(f"{'#' * level} {line.text}" if level else line.text)
        previous, open_kind = line, kind
    return blocks


def _continues(above: PdfLine, line: PdfLine, spacing: float, *, heading: bool) -> bool:
    """The line goes on the block above: close below it, and not a new list item."""
    if _ITEM_START.match(line.text) or spacing <= 0:
        return False
    gap = above.y - line.y
    limit = spacing * PARAGRAPH_GAP * (line.size / above.size if heading else 1.0)
    return 0 < gap <= (limit if not heading else max(limit, line.size * 1.5))


def _join(block: str, text: str) -> str:
    if len(block) >= 2 and block.endswith("-") and block[-2].isalpha() and text[:1].islower():
        return block[:-1] + text
    return f"{block} {text}"
