"""Whether a row removed from a table is still listed: its line elsewhere in the new text (a
row moved), or its model named anywhere in the new text (in prose, as an id, in another row).
Linear in the page: the first removed rows are looked up by a string search; the rest against
every new line read once, and in the rows that hold the model's words (`_RowIndex`)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate

from monitor import patterns as p
from monitor.classify.context import Context, Line
from monitor.classify.names import cell_models, find_models, prose_ids
from monitor.classify.tables import Row, Table, named, roles, tables_of
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


def _scan(ctx: Context, key: str, budget: int = _SCANS) -> bool:
    """Whether one more removed row may be looked up by a search (linear in the page each
    time) rather than by reading every new line or row once."""
    done = ctx.memo.get(key, 0)
    ctx.memo[key] = done + 1  # type: ignore[operator]
    return done < budget  # type: ignore[operator]


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
        ctx.memo["new_cores"] = ctx.new_doc.cores()  # every line's reading
    return line.core in ctx.memo["new_cores"]  # type: ignore[operator]


def named_in_new(ctx: Context, model: str) -> bool:
    """The new text still names `model`: in prose, as an id of any shape, or in a table row.
    A row that names a model holds its words, written as an id or as a name: for the first
    removed rows only rows holding them are read, then `_RowIndex` answers as every row read
    once would."""
    if _written_as_id(ctx, model) or _read_in_new(ctx, model):
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
    if "row_models" not in ctx.memo and "row_index" not in ctx.memo:
        ctx.memo["row_index"] = _RowIndex(ctx, tables)
    index: _RowIndex | None = ctx.memo.get("row_index")  # type: ignore[assignment]
    if "row_models" not in ctx.memo and index is not None:
        listed = index.lists(model)
        if listed is not None:
            return listed
        ctx.memo["row_models"] = index.every_model()
    return model in ctx.memo["row_models"]  # type: ignore[operator]


# An id's words a table row that names it holds on its line: letters, and numbers of two digits
# or more (a name's version may be read with a digit it does not write: "Claude 2" → claude-2.0)
_LINE_WORDS = re.compile(r"[a-z]{2,}|\d{2,}")
_SWEEPS = 200  # searches of the whole text for a word, before every row is read once
_HITS_PER_ROW = 4  # lines holding a searched word, per row of the page, before the same


class _RowIndex:
    """Whether any row of the new text's tables names a model, as reading every row's models
    would say, with only the rows that could name it read: the rows whose line holds the
    model's words (every model `cell_models` reads from a row is written with them there), and
    the rows of tables with no model column (whose model may come from the heading above).
    Linear: past a fixed number of searches, or of lines looked at, every row is read once."""

    def __init__(self, ctx: Context, tables: list[Table]) -> None:
        self.ctx = ctx
        self.models: dict[int, list[str]] = {}  # line number → models of the row there
        self.rows: dict[int, Table] = {  # a row's line number → its table (no row is made)
            number: table
            for table in tables
            for number in table.numbers
            if number != table.head.number
        }
        self.sweeps, self.hits = 0, 0
        self.unread_tables = {  # the model may be read from above the row: always read
            found
            for table in tables
            if "model" not in roles(table.header).values()
            for row in table.rows
            for found in self._models(row.line_number)
        }

    def _models(self, number: int) -> list[str]:
        if number not in self.models:
            table = self.rows[number]
            row = table.row_at(number)
            assert row is not None, "a number of `rows` is a row's"
            self.models[number] = cell_models(named(table, row), names=True)
        return self.models[number]

    def lists(self, model: str) -> bool | None:
        """Whether a row names `model`; None once the searches' budget is spent."""
        if model in self.unread_tables:
            return True
        if not self.rows:
            return False
        words = _LINE_WORDS.findall(model)
        if not words or self.sweeps >= _SWEEPS:
            return None
        self.sweeps += 1
        _holding(self.ctx, "new_lines_blob", lambda: self.ctx.new_doc.raw, [])  # made once
        blob, starts, lowered = self.ctx.memo["new_lines_blob"]  # type: ignore[misc]
        longest = max(words, key=len)
        at = blob.find(longest)
        while at != -1:
            self.hits += 1
            if self.hits > _HITS_PER_ROW * len(self.rows):
                return None
            index = bisect_right(starts, at) - 1
            if (
                index + 1 in self.rows
                and all(word in lowered[index] for word in words)
                and model in self._models(index + 1)
            ):
                return True
            at = blob.find(longest, starts[index + 1] if index + 1 < len(starts) else len(blob))
        return False

    def every_model(self) -> set[str]:
        return {found for number in self.rows for found in self._models(number)}


def _read_in_new(ctx: Context, model: str) -> bool:
    """`model` is one of the models `find_models` reads in the new text. Each of those is
    written in the normalised text as it is, or read from a prose name (`prose_ids`): for the
    first `_SWEEPS` removed rows, a model that is neither is known not to be one without
    reading every id of the text; past them, the text's models are read once."""
    if "new_models" not in ctx.memo and _scan(ctx, "model_scans", _SWEEPS):
        if "new_prose_ids" not in ctx.memo:
            ctx.memo["new_prose_ids"] = prose_ids(_normalised(ctx))
        unwritten: set[str] = ctx.memo.get("unwritten", set())  # type: ignore[assignment]
        if model not in ctx.memo["new_prose_ids"] and (
            model in unwritten or model not in _normalised(ctx)
        ):
            return False
    if "new_models" not in ctx.memo:
        ctx.memo["new_models"] = {hit.id for hit in find_models(ctx.new_text)}
    return model in ctx.memo["new_models"]  # type: ignore[operator]


def _normalised(ctx: Context) -> str:
    if "new_normalised" not in ctx.memo:
        ctx.memo["new_normalised"] = normalise(ctx.new_text)
    return ctx.memo["new_normalised"]  # type: ignore[no-any-return]


def _written_as_id(ctx: Context, model: str) -> bool:
    """`model` is one of the ids `MODEL_ID` finds in the new text. Only where the text holds
    `model` is the pattern tried: a match there is one the pattern's scan of the whole text
    finds, since no id it finds can run into an id's first character (its look-behind). Past
    `_SWEEPS` removed rows (each a search of the whole text), the text's ids are read once."""
    if not model:
        return False
    text = _normalised(ctx)
    if "new_ids" in ctx.memo or not _scan(ctx, "id_scans", _SWEEPS):
        if "new_ids" not in ctx.memo:  # past the searches' budget: every id read once
            ctx.memo["new_ids"] = {m.group("id") for m in p.MODEL_ID.finditer(text)}
        return model in ctx.memo["new_ids"]  # type: ignore[operator]
    at = text.find(model)
    if at == -1:  # `_read_in_new` need not search again
        ctx.memo.setdefault("unwritten", set()).add(model)  # type: ignore[union-attr]
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
