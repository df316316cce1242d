"""Tables as rows of named cells, and what changed between the old and new table: rows added,
removed or changed (matched by their first cell, so a reorder is no change) and columns added or
removed (a model added to a comparison table is a new column)."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from monitor import patterns as p
from monitor.classify import facts
from monitor.classify.context import Context, Line
from monitor.classify.lines import Doc
from monitor.classify.names import find_models
from monitor.classify.text import core, similarity

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


@dataclass(frozen=True)
class RowChange:
    """One row (or record) added, removed or changed, its cells named by column role."""

    kind: str  # added, removed, changed
    old: dict[str, str] | None
    new: dict[str, str] | None
    old_line: Line | None = None
    new_line: Line | None = None
    table: Table | None = None
    deprecation_table: bool = False  # the table lists models being retired
    entered_deprecation: bool = False  # the row moved into such a table from another one
    left_deprecation: bool = False  # the row moved out of such a table into another one
    moved: bool = False  # the row left one table for another


@dataclass
class TableChange:
    old: Table | None
    new: Table | None
    rows: list[RowChange] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)
    removed_columns: list[str] = field(default_factory=list)


def split_cells(text: str) -> list[str]:
    stripped = text.strip()
    if stripped.startswith("|"):
        stripped = stripped[1:]
    if stripped.endswith("|") and not stripped.endswith("\\|"):
        stripped = stripped[:-1]
    return [cell.strip() for cell in _CELL_SPLIT.split(stripped)]


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


@lru_cache(maxsize=4096)
def aligned(header: tuple[str, ...], raw: tuple[str, ...]) -> tuple[str, ...]:
    """A row with more cells than its header (an alias cell the header does not name), read with
    the surplus cells joined into the column where the rest then sit best under their roles;
    the row as written when no join fits better."""
    surplus = len(raw) - len(header)
    if surplus <= 0 or len(header) < 2:
        return raw
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
    out: dict[str, str] = {}
    by_index = roles(table.header)
    for index, cell in enumerate(aligned(table.header, row.raw)):
        name = by_index.get(index) or (table.header[index] if index < len(table.header) else "")
        out.setdefault(name or f"column {index + 1}", cell)
    if "version" in by_index.values() and "model" not in by_index.values():
        # "## GPT-4o" over "| Version | Lifecycle status | Retirement date |": the heading
        # names the model each row is a version of
        named_above = find_models(table.section or "")
        if len(named_above) == 1:
            out["model"] = named_above[0].id
    return out


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


def _numbers(table: Table) -> frozenset[int]:
    return table.numbers


def _signature(table: Table) -> tuple[str, ...]:
    return (table.head.text, *table.line_texts)  # as written: no parsing


def _matches(
    old_tables: list[Table], new_tables: list[Table], touched_old: set[int], touched_new: set[int]
) -> dict[int, Table]:
    """New table index → the old table it continues, for tables with a changed line: one to
    one, best first, by header, shared rows and section."""
    old_hit = [bool(_numbers(t) & touched_old) for t in old_tables]
    new_hit = [bool(_numbers(t) & touched_new) for t in new_tables]
    # A table that is the same on both sides continues itself: it is never matched to another
    # (a provider's table whose section was dropped must not pair with its unchanged neighbour).
    unchanged: dict[tuple[str, ...], list[int]] = {}
    for i, old in enumerate(old_tables):
        unchanged.setdefault(_signature(old), []).append(i)
    same: dict[int, int] = {}
    for j, new in enumerate(new_tables):
        candidates = unchanged.get(_signature(new))
        if candidates:
            same[j] = candidates.pop(0)
    same_old = set(same.values())
    alike = []
    for j, new in enumerate(new_tables):
        for i, old in enumerate(old_tables):
            if not (new_hit[j] or old_hit[i]) or j in same or i in same_old:
                continue
            score = similarity(" | ".join(old.header), " | ".join(new.header), 0.4)
            if score >= 0.4:
                alike.append((score, j, i))
    scored = []
    for score, j, i in alike:
        new, old = new_tables[j], old_tables[i]
        if len(alike) > 1:  # the rows they share rank the pairs; one pair needs no rank
            shared = len(new.first_cells & old.first_cells)
            score += 0.5 * shared / max(1, len(new.line_texts), len(old.line_texts))
        score += 0.25 if old.section == new.section else 0.0
        scored.append((score, j, i))
    taken_old: set[int] = set(same_old)
    out: dict[int, Table] = {j: old_tables[i] for j, i in same.items()}
    for _, j, i in sorted(scored, key=lambda item: (-item[0], item[1], item[2])):
        if j not in out and i not in taken_old:
            out[j] = old_tables[i]
            taken_old.add(i)
    return out


def _keyed(table: Table, rows: list[Row]) -> dict[str, Row]:
    """Rows by their model cell (or first cell), so a reorder or a new date is no new row."""
    by_index = roles(table.header)
    column = next((i for i, r in by_index.items() if r == "model"), 0)
    version = next((i for i, r in by_index.items() if r == "version"), None)
    seen: Counter[str] = Counter()
    out = {}
    for row in rows:
        key = row.cell(column) if column < len(row.raw) else row.key
        if version is not None and version < len(row.raw):
            key = f"{key} @ {row.cell(version)}"  # gpt-35-turbo 0613 and 0125 are two models
        seen[key] += 1
        out[key if seen[key] == 1 else f"{key}#{seen[key]}"] = row
    return out


def deprecation_table(table: Table) -> bool:
    """The table lists models on their way out (by its header or its section)."""
    by_index = roles(table.header)
    model_header = next((table.header[i] for i, r in by_index.items() if r == "model"), "")
    if p.RETIRE_WORDS.search(model_header):
        return True
    return any(p.RETIRE_WORDS.search(part) for part in table.head.trail[-2:])


# a heading over models already retired ("Retired models"), not over those on their way out
_RETIRED_SECTION = re.compile(r"\bretired\b", re.I)
_RETIRING_SECTION = re.compile(r"\b(?:upcoming|planned|scheduled|timelines?|to be|will)\b", re.I)


def _retired_section(line: Line | None) -> bool:
    return _retired_heads(line.trail[-2:]) if line is not None else False


@lru_cache(maxsize=1024)  # every row of a table asks of the same headings
def _retired_heads(heads: tuple[str, ...]) -> bool:
    return any(_RETIRED_SECTION.search(h) and not _RETIRING_SECTION.search(h) for h in heads)


def into_retired_section(old: Line | None, new: Line | None) -> bool:
    """The row left a section of models on their way out for one of models already retired."""
    return _retired_section(new) and not _retired_section(old)


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


def _compare(old: Table | None, new: Table | None) -> TableChange:
    old, new = (as_records(old) if old else None), (as_records(new) if new else None)
    change = TableChange(old, new)
    if old is None or new is None:
        table = new or old
        assert table is not None
        kind = "added" if new is not None else "removed"
        retiring = deprecation_table(table)
        for row in table.rows:
            cells = named(table, row)
            change.rows.append(
                RowChange(
                    kind,
                    None if kind == "added" else cells,
                    cells if kind == "added" else None,
                    row.line if kind == "removed" else None,
                    row.line if kind == "added" else None,
                    table,
                    retiring,
                )
            )
        return change
    old_header, new_header = Counter(old.header), Counter(new.header)
    change.added_columns = list((new_header - old_header).elements())
    change.removed_columns = list((old_header - new_header).elements())
    # a row written the same on both sides did not change: only the others are keyed and compared
    old_written, new_written = old.row_texts(), new.row_texts()
    old_texts, new_texts = set(old_written), set(new_written)
    old_rows = _keyed(old, [old.row(i) for i, t in enumerate(old_written) if t not in new_texts])
    new_rows = _keyed(new, [new.row(i) for i, t in enumerate(new_written) if t not in old_texts])
    retiring = deprecation_table(new)
    for key, row in new_rows.items():
        before = old_rows.get(key)
        if before is None:
            change.rows.append(
                RowChange("added", None, named(new, row), None, row.line, new, retiring)
            )
        elif before.raw != row.raw and before.cells != row.cells:
            old_cells, new_cells = named(old, before), named(new, row)
            if {k: core(v) for k, v in old_cells.items() if k in new_cells} != {
                k: core(v) for k, v in new_cells.items() if k in old_cells
            } or into_retired_section(before.line, row.line):
                change.rows.append(
                    RowChange("changed", old_cells, new_cells, before.line, row.line, new, retiring)
                )
    for key, row in old_rows.items():
        if key not in new_rows:
            change.rows.append(
                RowChange("removed", named(old, row), None, row.line, None, old, retiring)
            )
    return change


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


def table_changes(ctx: Context) -> list[TableChange]:
    """Tables whose lines changed, compared as tables. Computed once per context."""
    if "tables" in ctx.memo:
        return ctx.memo["tables"]  # type: ignore[no-any-return]
    touched_old = {line.number for line in ctx.removed} | {pair.old.number for pair in ctx.changed}
    touched_new = {line.number for line in ctx.added} | {pair.new.number for pair in ctx.changed}
    changes = []
    if touched_old or touched_new:
        old_tables, new_tables = tables_of(ctx, "old"), tables_of(ctx, "new")
        pairs = _matches(old_tables, new_tables, touched_old, touched_new)
        matched = {id(table) for table in pairs.values()}
        for index, table in enumerate(new_tables):
            before = pairs.get(index)
            if _numbers(table) & touched_new or (
                before is not None and _numbers(before) & touched_old
            ):
                changes.append(_compare(before, table))
        for table in old_tables:
            if id(table) not in matched and _numbers(table) & touched_old:
                changes.append(_compare(table, None))
    ctx.memo["tables"] = changes
    return changes
