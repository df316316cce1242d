"""What changed between the old and new tables: rows added, removed or changed (matched by their
model cell, else their first cell, so a reorder is no change) and columns added or removed (a
model added to a comparison table is a new column)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from monitor import patterns as p
from monitor.classify.context import Context, Line
from monitor.classify.tables import (
    Row,
    Table,
    as_records,
    line_of,
    named,
    namer,
    roles,
    tables_of,
)
from monitor.classify.text import core, similarity


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


_ROW_CHANGE_DEFAULTS = {"entered_deprecation": False, "left_deprecation": False, "moved": False}


def _row_change(
    kind: str,
    old: dict[str, str] | None,
    new: dict[str, str] | None,
    old_line: Line | None,
    new_line: Line | None,
    table: Table,
    deprecation: bool,
) -> RowChange:
    """`RowChange(...)` of a table's row without the frozen dataclass's `__init__` (which sets
    each field through `object.__setattr__`): a first version makes one per row of the page."""
    made = object.__new__(RowChange)
    made.__dict__.update(
        _ROW_CHANGE_DEFAULTS,
        kind=kind,
        old=old,
        new=new,
        old_line=old_line,
        new_line=new_line,
        table=table,
        deprecation_table=deprecation,
    )
    return made


@dataclass
class TableChange:
    old: Table | None
    new: Table | None
    rows: list[RowChange] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)
    removed_columns: list[str] = field(default_factory=list)


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


def _compare(old: Table | None, new: Table | None) -> TableChange:
    old, new = (as_records(old) if old else None), (as_records(new) if new else None)
    change = TableChange(old, new)
    if old is None or new is None:
        table = new or old
        assert table is not None
        kind = "added" if new is not None else "removed"
        retiring = deprecation_table(table)
        name_row = namer(table)
        added = kind == "added"
        for row in table.rows:
            cells, line = name_row(row), line_of(row)
            change.rows.append(
                _row_change(
                    kind,
                    None if added else cells,
                    cells if added else None,
                    None if added else line,
                    line if added else None,
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


def table_changes(ctx: Context) -> list[TableChange]:
    """Tables whose lines changed, compared as tables. Computed once per context."""
    if "tables" in ctx.memo:
        return ctx.memo["tables"]  # type: ignore[no-any-return]
    touched_old = {line.number for line in ctx.removed} | {pair.old.number for pair in ctx.changed}
    touched_new = {line.number for line in ctx.added} | {pair.new.number for pair in ctx.changed}
    changes = []
    if not ctx.old_text:  # a first version: every table is new, with no old one to pair
        changes = [_compare(None, table) for table in tables_of(ctx, "new")]
    elif touched_old or touched_new:
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
