"""HTML page → normalised, deterministic text. The only package that imports selectolax; pure.

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
- text.py    extract_text: select, drop, write, normalise, ignore_text
- shell.py   looks_like_js_shell: does the page need a browser?
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from monitor.extract.css import selector_problem
from monitor.extract.decode import decode_html
from monitor.extract.shell import looks_like_js_shell
from monitor.extract.text import extract_text, unmatched_selectors
from monitor.extract.urls import clean_url

__all__ = [
    "EXTRACT_VERSION",
    "clean_url",
    "decode_html",
    "extract_text",
    "looks_like_js_shell",
    "rules_sha256",
    "selector_problem",
    "unmatched_selectors",
]

EXTRACT_VERSION = 2


def rules_sha256(
    select: str | None, ignore: Sequence[str], ignore_text: Sequence[str], kind: str
) -> str:
    """SHA-256 of the rules that shape a version's text, so a rule edit is told from a change."""
    rules = {
        "extract_version": EXTRACT_VERSION,
        "select": select,
        "ignore": sorted(set(ignore)),  # every ignore selector applies; order has no effect
        "ignore_text": list(ignore_text),  # applied in order
        "kind": kind,
    }
    canonical = json.dumps(rules, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
