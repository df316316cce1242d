"""Tables → lines: ``| cell | cell |`` per row; a rowspan repeats its cell in each row it
covers, a colspan adds empty cells after it."""

from __future__ import annotations

from collections.abc import Callable

from selectolax.lexbor import LexborNode


def table_lines(
    table: LexborNode,
    children: Callable[[LexborNode], list[LexborNode]],
    cell_text: Callable[[LexborNode], str],
) -> list[str]:
    """The table's captions, then one line per row that has any text; captions may be empty."""
    lines: list[str] = []
    rows: list[LexborNode] = []
    for child in children(table):
        if child.tag == "caption":
            lines.append(cell_text(child))
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(row for row in children(child) if row.tag == "tr")
        elif child.tag == "tr":
            rows.append(child)
    for cells in _grid(rows, children, cell_text):
        if any(cells):
            lines.append("|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|")
    return lines


def _span(value: str | None, limit: int) -> int:
    try:
        span = int(value) if value else 1
    except ValueError:
        return 1
    return limit if span == 0 else max(1, min(span, limit))


def _grid(
    rows: list[LexborNode],
    children: Callable[[LexborNode], list[LexborNode]],
    cell_text: Callable[[LexborNode], str],
) -> list[list[str]]:
    """Rows of cell texts; a rowspan repeats its text below, a colspan pads with empty cells."""
    grid: list[list[str]] = []
    carried: dict[int, tuple[str, int]] = {}  # column → (text, rows still covered)

    def take(column: int, out: list[str]) -> None:
        text, left = carried.pop(column)
        out.append(text)
        if left > 1:
            carried[column] = (text, left - 1)

    for index, row in enumerate(rows):
        out: list[str] = []
        for cell in children(row):
            if cell.tag not in ("td", "th"):
                continue
            while len(out) in carried:
                take(len(out), out)
            text = cell_text(cell)
            attributes = cell.attributes
            if "rowspan" not in attributes and "colspan" not in attributes:
                out.append(text)  # most cells: no span to work out
                continue
            rowspan = _span(attributes.get("rowspan"), len(rows) - index)
            for offset in range(_span(attributes.get("colspan"), 1000)):
                if rowspan > 1:
                    carried[len(out)] = (text if offset == 0 else "", rowspan - 1)
                out.append(text if offset == 0 else "")
        for column in sorted(c for c in carried if c >= len(out)):
            out.extend([""] * (column - len(out)))
            take(column, out)
        grid.append(out)
    return grid
