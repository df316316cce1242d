"""Whether a row removed from a table is still listed: its line elsewhere in the new text (a
row moved), or its model named anywhere in the new text (in prose, as an id, in another row).
Linear in the page: the first removed rows are looked up by a string search, the rest against
every new line or row read once."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate

from monitor import patterns as p
from monitor.classify.context import Context, Line
from monitor.classify.names import cell_models, find_models
from monitor.classify.tables import Row, Table, named, tables_of
from monitor.classify.text import normalise

_ID_PARTS = re.compile(r"[a-z]{2,}|\d+")
_SCANS = 20  # removed rows looked up by a search before every new line or row is read once


def _holding(ctx: Context, key: str, texts: Callable[[], list[str]], words: list[str]) -> list[int]:
    """Indexes of the `texts` that hold every one of `words` (lower case): the longest word is
    found in one joined text by the string search, the others checked on those texts only."""
    if key not in ctx.memo:
        lowered = [text.lower() for text in texts()]
        starts = list(accumulate((len(text) + 1 for text in lowered), initial=0))
        ctx.memo[key] = ("\n".join(lowered), starts, lowered)
    blob, starts, lowered = ctx.memo[key]  # type: ignore[misc]
    if not words:
        return []
    longest = max(words, key=len)
    found: list[int] = []
    at = blob.find(longest)
    while at != -1:
        index = bisect_right(starts, at) - 1
        if all(word in lowered[index] for word in words):
            found.append(index)
        at = blob.find(longest, starts[index + 1] if index + 1 < len(starts) else len(blob))
    return found


def _scan(ctx: Context, key: str) -> bool:
    """Whether one more removed row may be looked up by a search (linear in the page each
    time) rather than by reading every new line or row once."""
    done = ctx.memo.get(key, 0)
    ctx.memo[key] = done + 1  # type: ignore[operator]
    return done < _SCANS  # type: ignore[operator]


def moved(ctx: Context, line: Line) -> bool:
    """The removed row's line is in the new text, as written or as read."""
    if "new_raw" not in ctx.memo:
        ctx.memo["new_raw"] = {text.strip() for text in ctx.new_doc.raw}
    if line.text.strip() in ctx.memo["new_raw"]:  # type: ignore[operator]
        return True
    if "new_cores" not in ctx.memo and _scan(ctx, "moved_scans"):
        doc = ctx.new_doc  # only the lines holding the words are made
        hits = _holding(ctx, "new_lines_blob", lambda: doc.raw, line.core.lower().split())
        return any(
            (other := doc.line(index + 1)) is not None and other.core == line.core for index in hits
        )
    if "new_cores" not in ctx.memo:
        ctx.memo["new_cores"] = {item.core for item in ctx.new_lines}
    return line.core in ctx.memo["new_cores"]  # type: ignore[operator]


def named_in_new(ctx: Context, model: str) -> bool:
    """The new text still names `model`: in prose, as an id of any shape, or in a table row.
    A row that names a model holds its words, written as an id or as a name: for the first
    removed rows only rows holding them are read, then every row once."""
    if "new_models" not in ctx.memo:
        ctx.memo["new_models"] = {hit.id for hit in find_models(ctx.new_text)}
    if model in ctx.memo["new_models"] or _written_as_id(ctx, model):  # type: ignore[operator]
        return True
    tables = tables_of(ctx, "new")
    if "row_models" not in ctx.memo and _scan(ctx, "named_scans"):
        if "new_heads" not in ctx.memo:  # each table's header's line number
            ctx.memo["new_heads"] = [table.head.number for table in tables]
        heads: list[int] = ctx.memo["new_heads"]  # type: ignore[assignment]
        words = _ID_PARTS.findall(model)
        hits = _holding(ctx, "new_lines_blob", lambda: ctx.new_doc.raw, words)  # the lines'
        return any(
            model in cell_models(named(*found), names=True)
            for found in (_row_at(tables, heads, index + 1) for index in hits)
            if found is not None
        )
    if "row_models" not in ctx.memo:
        ctx.memo["row_models"] = {
            found
            for table in tables
            for row in table.rows
            for found in cell_models(named(table, row), names=True)
        }
    return model in ctx.memo["row_models"]  # type: ignore[operator]


def _written_as_id(ctx: Context, model: str) -> bool:
    """`model` is one of the ids `MODEL_ID` finds in the new text. Only where the text holds
    `model` is the pattern tried: a match there is one the pattern's scan of the whole text
    finds, since no id it finds can run into an id's first character (its look-behind)."""
    if not model:
        return False
    if "new_normalised" not in ctx.memo:
        ctx.memo["new_normalised"] = normalise(ctx.new_text)
    text: str = ctx.memo["new_normalised"]
    at = text.find(model)
    while at != -1:
        match = p.MODEL_ID.match(text, at)
        if match and match.group("id") == model:
            return True
        at = text.find(model, at + 1)
    return False


def _row_at(tables: list[Table], heads: list[int], number: int) -> tuple[Table, Row] | None:
    """The table row on line `number`, with its table (`heads`: each table's header's line
    number, in order), if a row is there."""
    index = bisect_right(heads, number) - 1
    row = tables[index].row_at(number) if index >= 0 else None
    return None if row is None else (tables[index], row)
