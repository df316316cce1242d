"""Tables as rows of named cells: a page's tables parsed (each row made only when a rule reads
it), each column's role read from its header, a row's cells named by those roles, and a
comparison table with a model in each column read as one record per model. What changed between
the old and new tables is in `table_diff`."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

from monitor import patterns as p
from monitor.classify import facts
from monitor.classify.context import Context, Line
from monitor.classify.lines import Doc
from monitor.classify.names import find_models
from monitor.classify.text import core

_CELL_SPLIT = re.compile(r"(?<!\\)\|")
# A cell of plain ASCII words, no markup, no list marker, no space before punctuation: its
# reading is the cell itself (most cells of a generated table), without the regex pipeline.
_PLAIN_CELL = re.compile(
    r"(?!\d{1,3}[.)]\s)[A-Za-z0-9](?:[A-Za-z0-9.,:;@/+()'-]| (?=[A-Za-z0-9(]))*"
)


def _cell_core(cell: str) -> str:
    text = cell.strip()
    return text if _PLAIN_CELL.fullmatch(text) else core(cell)


@dataclass(frozen=True)
class Row:
    line: Line
    written: tuple[str, ...] | None = None  # its cells, when they are not its line's

    @property
    def line_text(self) -> str:
        """Its line's text (a row of a page gives it without making the line)."""
        return self.line.text

    @property
    def line_number(self) -> int:
        return self.line.number

    @cached_property
    def raw(self) -> tuple[str, ...]:
        """Each cell as written (split when first read: most rows are never compared)."""
        return self.written if self.written is not None else tuple(split_cells(self.line_text))

    @property
    def text(self) -> str:
        """The row as written: its line, or its cells when they are not its line's."""
        return self.line_text if self.written is None else "|".join(self.written)

    @property
    def first_written(self) -> str:
        """The first cell as written, without splitting the row."""
        return self.line_text.strip().removeprefix("|").split("|", 1)[0].strip()

    @cached_property
    def cells(self) -> tuple[str, ...]:
        """The words of each cell (computed when first read: most rows are never compared)."""
        return tuple(core(cell) for cell in self.raw)

    @cached_property
    def key(self) -> str:
        return _cell_core(self.raw[0]) if self.raw else ""

    def cell(self, index: int) -> str:
        """The words of one cell (only the cells a comparison reads are computed)."""
        return _cell_core(self.raw[index]) if index < len(self.raw) else ""


class _PageRow(Row):
    """A row of a page's table, its line made when first read: a page may be one table of
    25,000 rows, of which a change reads a few. Made by `_page_row`."""

    _doc: Doc
    _number: int

    @cached_property
    def line(self) -> Line:  # type: ignore[override]
        line = self._doc.line(self._number)
        assert line is not None, "a table run holds only lines"
        return line

    @property
    def line_text(self) -> str:
        return self._doc.raw[self._number - 1]

    @property
    def line_number(self) -> int:
        return self._number


def _raw(row: Row) -> tuple[str, ...]:
    """`row.raw` read and kept as its `cached_property` would, without the lock that takes on
    each first read (a first version reads 25,000 rows once each)."""
    raw = row.written if row.written is not None else tuple(split_cells(row.line_text))
    row.__dict__["raw"] = raw
    return raw


def line_of(row: Row) -> Line:
    """`row.line`, a page's row's made and kept as its `cached_property` would, without the
    lock that takes on each first read."""
    line = row.__dict__.get("line")
    if line is None and isinstance(row, _PageRow):
        line = row._doc.line(row._number)
        assert line is not None, "a table run holds only lines"
        row.__dict__["line"] = line
    return line if line is not None else row.line


def _page_row(doc: Doc, number: int) -> Row:
    """Row `number` of `doc`, its line made when first read (without the frozen dataclass's
    `__init__`, which would make it)."""
    row = object.__new__(_PageRow)  # `written` is None: the class default of the field
    row.__dict__["_doc"], row.__dict__["_number"] = doc, number
    return row


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    head: Line

    @property
    def section(self) -> str | None:
        return self.head.section

    @cached_property
    def numbers(self) -> frozenset[int]:
        """The line numbers of its header and rows (read once: a table may have 25,000 rows)."""
        return frozenset((self.head.number, *(row.line_number for row in self.rows)))

    @cached_property
    def line_texts(self) -> tuple[str, ...]:
        """Each row's line as written, in order."""
        return tuple(row.line_text for row in self.rows)

    def row_texts(self) -> list[str]:
        """Each row as written (`Row.text`), in order."""
        return [row.text for row in self.rows]

    def row(self, index: int) -> Row:
        return self.rows[index]

    def row_at(self, number: int) -> Row | None:
        """Its row on line `number`, if it has one."""
        return next((row for row in self.rows if row.line_number == number), None)

    @cached_property
    def first_cells(self) -> frozenset[str]:
        """Each row's first cell as written (`Row.first_written`), for telling which old table
        a new one continues."""
        return frozenset(
            text.strip().removeprefix("|").split("|", 1)[0].strip() for text in self.line_texts
        )

    @property
    def model_columns(self) -> bool:
        """A comparison table whose columns are models ("| Feature | Claude Opus 4.1 | …")."""
        return sum(1 for cell in self.header[1:] if find_models(cell)) >= 1 and not any(
            role == "model" for role in roles(self.header).values()
        )


def split_cells(text: str) -> list[str]:
    stripped = text.strip()
    if stripped.startswith("|"):
        stripped = stripped[1:]
    if stripped.endswith("|") and not stripped.endswith("\\|"):
        stripped = stripped[:-1]
    # only a bar after a backslash does not split: without a backslash, a string split
    cells = _CELL_SPLIT.split(stripped) if "\\" in stripped else stripped.split("|")
    return [cell.strip() for cell in cells]


# A footnote mark a header cell carries: "<sup>1</sup>" (read as "Model Version 1"), "[^1]", "¹"
_FOOTNOTE_MARK = re.compile(r"(?<=[a-z)])\s\d{1,2}$|<sup>.*?</sup>|\[\^\w+\]|[¹²³⁴⁵⁶⁷⁸⁹]+", re.I)


def role(header_cell: str) -> str | None:
    header_cell = _FOOTNOTE_MARK.sub("", header_cell).strip()  # "Model Version<sup>1</sup>"
    if p.COLUMN_REPLACEMENT.search(header_cell):
        return "replacement"
    if p.COLUMN_PROVIDER.search(header_cell):
        return "provider"
    if p.COLUMN_ROLES["version"].search(header_cell):
        return "version"  # "Model Version": the model's version, not the model
    dated = p.COLUMN_DATE.search(header_cell)
    if not dated and p.COLUMN_MODEL.search(header_cell):
        return "model"
    for name, pattern in p.COLUMN_ROLES.items():
        if pattern.search(header_cell):
            if name == "shutdown" and p.COLUMN_TRAINING_ONLY.search(header_cell):
                return "deprecated"
            return name
    return None


@lru_cache(maxsize=1024)
def roles(header: tuple[str, ...]) -> dict[int, str]:
    """Column index → role; the first model column wins, the first column is the model column of
    a table that names no other."""
    found: dict[int, str] = {}
    for index, cell in enumerate(header):
        name = role(cell)
        if name == "model" and "model" in found.values():
            name = "model_id"  # "| Model | … | API Endpoints |": a name column and an id column
        if name and name not in found.values():
            found[index] = name
    return found


_DATE_ROLES = ("shutdown", "deprecated", "released")


@lru_cache(maxsize=8192)
def _kind_of(cell: str) -> str | None:
    """What a cell's content reads as on its own: a date or a lifecycle state."""
    if any(ch.isdigit() for ch in cell) and facts.date_of(cell):
        return "date"
    return "state" if facts.state(cell) else None


def _fit(by_index: dict[int, str], kinds: list[str | None]) -> int:
    """How well cells sit under their columns, given what each reads as: +1 for a date under a
    date column or a state under the status column, -1 for either under another role."""
    score = 0
    for index, name in by_index.items():
        kind = kinds[index] if index < len(kinds) else None
        if kind is not None:
            want = "date" if name in _DATE_ROLES else "state" if name == "status" else None
            score += 1 if kind == want else -1
    return score


def aligned(header: tuple[str, ...], raw: tuple[str, ...]) -> tuple[str, ...]:
    """A row with more cells than its header (an alias cell the header does not name), read with
    the surplus cells joined into the column where the rest then sit best under their roles;
    the row as written when no join fits better."""
    if len(raw) <= len(header) or len(header) < 2:
        return raw  # most rows: without hashing the row for the cache
    return _aligned(header, raw)


@lru_cache(maxsize=4096)
def _aligned(header: tuple[str, ...], raw: tuple[str, ...]) -> tuple[str, ...]:
    surplus = len(raw) - len(header)
    by_index = roles(header)
    # The first cell never moves: what it reads as cannot tell one join from another.
    kinds = [None, *(_kind_of(cell) if cell.strip() else None for cell in raw[1:])]
    best, best_score = list(raw), _fit(by_index, kinds)
    for start in range(1, len(header)):
        parts = [c for c in raw[start : start + surplus + 1] if c.strip()]
        joined = ", ".join(parts)
        kind = (
            kinds[raw.index(parts[0])] if len(parts) == 1 else _kind_of(joined) if parts else None
        )
        shifted = [*kinds[:start], kind, *kinds[start + surplus + 1 :]]
        score = _fit(by_index, shifted)
        if score > best_score:
            best, best_score = [*raw[:start], joined, *raw[start + surplus + 1 :]], score
    return tuple(best)


def named(table: Table, row: Row) -> dict[str, str]:
    """The row's cells by role, plus every other cell by its header."""
    name_row = table.__dict__.get("_namer")
    if name_row is None:  # kept on the table (a frozen dataclass, hashed by its rows)
        table.__dict__["_namer"] = name_row = namer(table)
    return name_row(row)  # type: ignore[no-any-return]


def namer(table: Table) -> Callable[[Row], dict[str, str]]:
    """`named` for every row of `table`, its columns' names read once: a table of 25,000 rows
    is named row after row with the same header."""
    header = table.header
    by_index = roles(header)
    names = [
        by_index.get(index) or header[index] or f"column {index + 1}"
        for index in range(len(header))
    ]
    model_above: str | None = None
    if "version" in by_index.values() and "model" not in by_index.values():
        # "## GPT-4o" over "| Version | Lifecycle status | Retirement date |": the heading
        # names the model each row is a version of
        named_above = find_models(table.section or "")
        if len(named_above) == 1:
            model_above = named_above[0].id
    width = len(header)
    wide = width >= 2

    def name_row(row: Row) -> dict[str, str]:
        raw = row.__dict__.get("raw") or _raw(row)
        if wide and len(raw) > width:
            raw = _aligned(header, raw)
        out: dict[str, str] = {}
        for index, cell in enumerate(raw):
            out.setdefault(names[index] if index < width else f"column {index + 1}", cell)
        if model_above is not None:
            out["model"] = model_above
        return out

    return name_row


def parse_tables(lines: tuple[Line, ...]) -> list[Table]:
    tables: list[Table] = []
    run: list[Line] = []
    for line in (*lines, None):
        if line is not None and line.table and (not run or line.number - run[-1].number <= 2):
            run.append(line)
            continue
        if len(run) >= 2:
            rows = tuple(Row(item) for item in run[1:])
            tables.append(Table(tuple(core(c) for c in split_cells(run[0].text)), rows, run[0]))
        run = [line] if line is not None and line.table else []
    return tables


class _PageTable(Table):
    """A table of a page, its rows made when first read: what tells tables apart (their line
    numbers and texts) is read from the page's lines. Made by `page_tables`."""

    _doc: Doc
    _run: tuple[int, ...]  # its rows' line numbers

    @cached_property
    def rows(self) -> tuple[Row, ...]:  # type: ignore[override]
        return tuple(_page_row(self._doc, number) for number in self._run)

    @cached_property
    def numbers(self) -> frozenset[int]:
        return frozenset((self.head.number, *self._run))

    @cached_property
    def line_texts(self) -> tuple[str, ...]:
        raw = self._doc.raw
        return tuple(raw[number - 1] for number in self._run)

    def row_texts(self) -> list[str]:
        return list(self.line_texts)  # a page's row is written as its line

    def row(self, index: int) -> Row:
        if "rows" in self.__dict__:
            return self.rows[index]
        return _page_row(self._doc, self._run[index])

    def row_at(self, number: int) -> Row | None:
        index = bisect_left(self._run, number)
        found = index < len(self._run) and self._run[index] == number
        return self.row(index) if found else None


def page_tables(doc: Doc) -> list[Table]:
    """`parse_tables(doc.table_lines())`, each row made only when a rule reads it."""
    tables: list[Table] = []
    for run in doc.table_runs():
        head = doc.line(run[0])
        assert head is not None, "a table run holds only lines"
        table = object.__new__(_PageTable)  # not the frozen dataclass's `__init__`: no rows
        values = table.__dict__
        values["header"] = tuple(core(c) for c in split_cells(head.text))
        values["head"], values["_doc"], values["_run"] = head, doc, tuple(run[1:])
        tables.append(table)
    return tables


def as_records(table: Table) -> Table:
    """A comparison table with a model in each column ("| Feature | Model A | Model B |", a row
    per attribute) read as one record per model, when its first column names what a record
    table's header would: the model's id and its status or a lifecycle date."""
    if not table.model_columns or not table.rows:
        return table
    attributes = tuple(row.cells[0] if row.cells else "" for row in table.rows)
    found = {role(cell) for cell in attributes}
    if "model" not in found or not found & {"shutdown", "deprecated", "status"}:
        return table
    id_row = next(row for row in table.rows if row.cells and role(row.cells[0]) == "model")
    records = tuple(
        Row(
            id_row.line,
            (table.header[column], *(_cell(row.raw, column) for row in table.rows)),
        )
        for column in range(1, len(table.header))
    )
    return Table((table.header[0], *attributes), records, table.head)


def _cell(cells: tuple[str, ...], index: int) -> str:
    return cells[index] if index < len(cells) else ""


def tables_of(ctx: Context, side: str) -> list[Table]:
    """The tables of the old or new text, parsed once per context."""
    key = f"tables_{side}"
    if key not in ctx.memo:
        ctx.memo[key] = page_tables(ctx.old_doc if side == "old" else ctx.new_doc)
    return ctx.memo[key]  # type: ignore[no-any-return]


def header_models(ctx: Context, side: str) -> dict[str, str]:
    """Model id → the header cell naming it, over every table of the old or new text."""
    key = f"header_models_{side}"
    if key not in ctx.memo:
        found: dict[str, str] = {}
        for table in tables_of(ctx, side):
            for cell in table.header:
                for hit in find_models(cell):
                    found.setdefault(hit.id, cell)
        ctx.memo[key] = found
    return ctx.memo[key]  # type: ignore[no-any-return]
