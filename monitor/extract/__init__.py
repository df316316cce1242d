"""Page → normalised, deterministic text. The only package that imports selectolax; pure.

The body's format chooses the extractor (formats.py): HTML pages as below, PDFs (pdf.py reads,
pdftext.py writes ``# Page N`` sections), feeds (feed.py) and JSON (records.py) as records one
per line. A watch's ``ignore_text`` and ``min_length`` apply to every format; ``select`` and
``ignore`` to HTML.

The text has one block per line and no blank lines (blank lines inside ``<pre>`` are dropped
too), so that a line-level diff lines up with the page's blocks:

    # Responsible Scaling Policy
    Version 3.1 · Effective March 31, 2026
    ## 1. Capability thresholds
    - Thresholds are reviewed using chatgpt-4o-latest model outputs
      - nested items are indented by two spaces per level
    1. ordered items are numbered
    | Model | Shutdown date | Replacement |
    > quoted text

Headings are written as ``#`` × level, list items as ``- `` or ``N. ``, table rows as
``| cell | cell |`` (a rowspan repeats its cell in each row it covers, a colspan adds empty cells
after it, ``|`` inside a cell is written ``\\|``), blockquotes as ``> ``; ``<pre>`` keeps its lines
and their indentation. ``<sup>`` is written ``^1`` so a footnote mark never fuses with a model
id. Links are written ``[text](url)`` for index watches and as their text otherwise, with URLs
made absolute and stripped of tracking parameters. Whitespace is collapsed only where HTML
collapses it, so ``<b>GPT</b>-4o`` stays ``GPT-4o``. Same bytes in, same text out.

Dropped: scripts, styles, templates, embedded media, form fields, comments, hidden elements
(``hidden``, ``aria-hidden="true"``, closed dialogs; ``hidden="until-found"`` is kept), the
watch's ``ignore`` selectors, and nav, aside and page-level header and footer unless the
selection is one of them.

- decode.py  bytes → str, decoded as a browser decodes them
- css.py     CSS selectors: run one, or say in one line why it is bad
- urls.py    link URLs: absolute, without tracking parameters
- writer.py  the block writer: elements → one line per block
- tables.py  table rows → ``| cell |`` lines, rowspans and colspans
- text.py    extract_html: select, drop, write, normalise, ignore_text
- shell.py   looks_like_js_shell: does the page need a browser?
- formats.py choose_format: the watch's format, the first bytes, the Content-Type
- pdf.py, pdftext.py, feed.py, records.py: the other formats
- follow.py  follow_link: the document a page links to
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.errors import ExtractError
from monitor.extract.css import selector_problem
from monitor.extract.decode import decode_html
from monitor.extract.follow import follow_link, link_of, linked_text
from monitor.extract.formats import FORMATS, Format, choose_format
from monitor.extract.shell import looks_like_js_shell
from monitor.extract.text import drop_text, extract_html, unmatched_selectors
from monitor.extract.urls import clean_url

__all__ = [
    "EXTRACT_VERSION",
    "FORMATS",
    "Extracted",
    "Format",
    "clean_url",
    "decode_html",
    "drop_text",
    "choose_format",
    "extract_document",
    "extract_text",
    "follow_link",
    "link_of",
    "linked_text",
    "looks_like_js_shell",
    "rules_sha256",
    "selector_problem",
    "unmatched_selectors",
]

EXTRACT_VERSION = 2


@dataclass(frozen=True)
class Extracted:
    """A version's text, the format that read it and what the extractor saw, in one line."""

    text: str
    format: Format
    seen: str


def extract_document(
    body: bytes,
    *,
    charset: str | None,
    base_url: str,
    content_type: str | None = None,
    format: Format | None = None,
    id_fields: Sequence[str] = (),
    select: str | None = None,
    ignore: Sequence[str] = (),
    ignore_text: Sequence[str] = (),
    kind: str = "generic",
    min_length: int = 1,
) -> Extracted:
    """The body's text by the extractor its format chooses. Raises ExtractError naming the
    problem (a selector matching nothing, a damaged PDF, a feed that is an HTML page, …)."""
    chosen, how = choose_format(body, content_type, format)
    if chosen == "html":
        text = extract_html(
            body, charset=charset, base_url=base_url, select=select, ignore=ignore,
            ignore_text=ignore_text, kind=kind, min_length=min_length,
        )  # fmt: skip
        return Extracted(text, "html", how)
    if chosen == "pdf":
        from monitor.extract.pdf import read_pdf
        from monitor.extract.pdftext import pdf_text

        text, seen = pdf_text(read_pdf(body, base_url), base_url)
    elif chosen == "text":
        text = decode_html(body, charset).replace("\r\n", "\n").replace("\r", "\n")
        seen = "read as lines of text"
    elif chosen == "feed":
        from monitor.extract.feed import feed_text

        text, seen = feed_text(body, base_url, charset)
    else:
        from monitor.extract.records import json_text

        text, seen = json_text(body, base_url, id_fields)
    if ignore_text:
        text = "\n".join(drop_text(text.split("\n"), ignore_text))
    if len(text) < min_length:
        raise ExtractError(
            f"content empty or too short in the {chosen} at {base_url}: {len(text)} characters, "
            f"min_length is {min_length}"
        )
    return Extracted(text, chosen, f"{how}; {seen}")


def extract_text(
    body: bytes,
    *,
    charset: str | None,
    base_url: str,
    content_type: str | None = None,
    format: Format | None = None,
    id_fields: Sequence[str] = (),
    select: str | None = None,
    ignore: Sequence[str] = (),
    ignore_text: Sequence[str] = (),
    kind: str = "generic",
    min_length: int = 1,
) -> str:
    """The body's text: extract_document's, without the account of how it was read."""
    return extract_document(
        body, charset=charset, base_url=base_url, content_type=content_type, format=format,
        id_fields=id_fields, select=select, ignore=ignore, ignore_text=ignore_text, kind=kind,
        min_length=min_length,
    ).text  # fmt: skip


def rules_sha256(
    select: str | None,
    ignore: Sequence[str],
    ignore_text: Sequence[str],
    kind: str,
    *,
    format: str | None = None,
    id_fields: Sequence[str] = (),
    follow: str | None = None,
) -> str:
    """SHA-256 of the rules that shape a version's text, so a rule edit is told from a change."""
    rules: dict[str, object] = {
        "extract_version": EXTRACT_VERSION,
        "select": select,
        "ignore": sorted(set(ignore)),  # every ignore selector applies; order has no effect
        "ignore_text": list(ignore_text),  # applied in order
        "kind": kind,
    }
    # keys added later count only when set, so the rules of older watches keep their hash
    for name, value in (("format", format), ("id_fields", list(id_fields)), ("follow", follow)):
        if value:
            rules[name] = value
    canonical = json.dumps(rules, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
