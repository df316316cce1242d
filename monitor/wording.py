"""Small wording helpers shared by every view: counts with the right noun form, and text cut
at a word boundary with an ellipsis (never mid-word). Pure."""

from __future__ import annotations

ELLIPSIS = "…"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 change`, `2 changes`; `many` for irregular nouns (`entry`, `entries`)."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters: cut at the last space that keeps at least half of
    it, trailing punctuation dropped, and an ellipsis added; a single long word is cut as is."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if not text[limit - 1].isspace():
        space = cut.rfind(" ")
        if space >= limit // 2:
            cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + ELLIPSIS
