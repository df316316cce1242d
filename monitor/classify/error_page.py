"""A version whose whole text is a site's error message ("This page isn't available … An
unexpected error has occurred") read in the page's place, by the same phrases the fetch uses on
raw HTML: the text a watch extracted from a source the fetch cannot judge (plain text,
Markdown, a rendered page), or one recorded before the fetch knew the message."""

from __future__ import annotations

import re

from monitor.fetch.problems import _ERROR_HEADING, _ERROR_TEXT_MAX

_UNDERLINE = re.compile(r"^\s*(?:=+|-+)\s*$")
_MARKUP = re.compile(r"^[#>*\s]+|[*_`]+")
_SPACE = re.compile(r"\s+")


def error_message(text: str) -> str | None:
    """The error message a short text opens with; None for a page (one that mentions an error
    further down, or opens with one among more text than an error message has, is a page)."""
    lines = [line for line in text.splitlines() if line.strip() and not _UNDERLINE.match(line)]
    if not lines:
        return None
    plain = _SPACE.sub(" ", " ".join(_MARKUP.sub("", line) for line in lines)).strip()
    if len(plain) > _ERROR_TEXT_MAX:
        return None
    heading = _SPACE.sub(" ", _MARKUP.sub("", lines[0])).strip()
    if _ERROR_HEADING.search(heading.lower().replace("\u2019", "'")):
        return heading[:80]
    return None
