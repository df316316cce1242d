"""A version whose whole text is a site's error message ("This page isn't available … An
unexpected error has occurred") read in the page's place, by the same phrases the fetch uses on
raw HTML: the text a watch extracted from a source the fetch cannot judge (plain text,
Markdown, a rendered page), or one recorded before the fetch knew the message."""

from __future__ import annotations

import re

from monitor.error_pages import ERROR_HEADING, ERROR_TEXT_MAX

_UNDERLINE = re.compile(r"^\s*(?:=+|-+)\s*$")
_MARKUP = re.compile(r"^[#>*\s]+|[*_`]+")
_SPACE = re.compile(r"\s+")
# an error message's text with its markup and link targets is far shorter than this: a longer
# text is a page, known without reading it
_RAW_MAX = 8 * ERROR_TEXT_MAX


def error_message(text: str) -> str | None:
    """The error message a short text opens with; None for a page (one that mentions an error
    further down, or opens with one among more text than an error message has, is a page)."""
    if len(text) > _RAW_MAX:
        return None
    heading = None
    size = 0
    for line in text.splitlines():
        if not line.strip() or _UNDERLINE.match(line):
            continue
        plain = _SPACE.sub(" ", _MARKUP.sub("", line)).strip()
        heading = plain if heading is None else heading
        size += len(plain) + 1
        if size > ERROR_TEXT_MAX + 1:
            return None
    if heading and ERROR_HEADING.search(heading.lower().replace("\u2019", "'")):
        return heading[:80]
    return None
