"""JavaScript shells: pages that show almost nothing until a browser runs their scripts."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

from monitor.extract.decode import decode_html
from monitor.extract.text import HIDDEN
from monitor.extract.writer import Options, Writer

_ENABLE_JS = re.compile(
    r"(?:enable|turn on|activate|allow)\s+javascript|javascript\s+(?:is\s+)?(?:required|disabled"
    r"|must be enabled|needs to be enabled)|requires?\s+javascript|javascript\s*を\s*有効",
    re.IGNORECASE,
)
_APP_ROOTS = "#root, #__next, #app, #__nuxt, #svelte, [data-reactroot]"
_SHELL_TEXT = 400  # visible characters below which a page may be an unrendered app


def looks_like_js_shell(body: bytes, charset: str | None) -> bool:
    """True when the page shows almost no text and either asks for JavaScript or has an empty
    framework root: a browser is needed to see its content."""
    tree = LexborHTMLParser(decode_html(body, charset))
    root = tree.body
    if root is None:
        return False
    writer = Writer(Options(False, "", frozenset(n.mem_id for n in tree.css(HIDDEN))))
    writer.walk(root)
    visible = " ".join(writer.finish())
    if len(visible) >= _SHELL_TEXT:
        return False
    if _ENABLE_JS.search(visible):
        return True
    if any(_ENABLE_JS.search(node.text(deep=True)) for node in tree.css("noscript")):
        return True
    return any(not node.text(deep=True).strip() for node in tree.css(_APP_ROOTS))
