"""Whether the old page already gave a model a date: a row listed anew (a status table added
beside the history table that announced the retirement) tells nothing new when a line of the
old text naming the model holds the same date, in any form the page writes it. The old text's
id-shaped words are collected once; only the lines naming a model among them are read."""

from __future__ import annotations

import re

from monitor.classify.context import Context
from monitor.classify.dates import find_dates

_ID_WORD = re.compile(r"[a-z0-9][\w.:@/+-]*[a-z0-9+]")
_MAX_MENTIONS = 50  # a model named more often than this is read at its first mentions only


def _old_text(ctx: Context) -> tuple[str, frozenset[str]]:
    if "said_before" not in ctx.memo:
        lowered = ctx.old_text.lower()
        ctx.memo["said_before"] = (lowered, frozenset(_ID_WORD.findall(lowered)))
    return ctx.memo["said_before"]  # type: ignore[no-any-return]


def dated_before(ctx: Context, model: str, iso: str) -> bool:
    """A line of the old text names `model` (as an id, any case) and holds the date `iso`."""
    text, words = _old_text(ctx)
    if model.lower() not in words:
        return False
    named = re.compile(rf"(?<![\w.-]){re.escape(model.lower())}(?![\w-]|\.\w)")
    for count, match in enumerate(named.finditer(text)):
        if count == _MAX_MENTIONS:
            break
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        line = text[start : end if end != -1 else len(text)]
        if any(iso in (hit.iso, hit.day_first) for hit in find_dates(line)):
            return True
    return False
