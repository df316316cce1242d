"""Model aliases a models page pins ("- `x-latest`: currently points to `x-2507`"), and whether a
row's version change is a new model: the id the row pins moved, or the id pins no version."""

from __future__ import annotations

from monitor import patterns as p
from monitor.classify import facts as f
from monitor.classify.context import Context, Line
from monitor.classify.table_diff import RowChange
from monitor.classify.tables import tables_of
from monitor.classify.text import core, normalise


def new_version(ctx: Context, change: RowChange, model: str) -> bool:
    """A row of a current-models table whose version changed, and with it the model: the id
    the row pins moved (an alias repointed), or the id pins no version (gpt-35-turbo 0613 →
    0125). An id that carries the new version (mistral-medium-2505 with '07.05' corrected to
    '25.05') was only corrected."""
    old, new = (change.old or {}).get("version"), (change.new or {}).get("version")
    if (
        f.blank(old)
        or f.blank(new)
        or change.deprecation_table
        or core(old or "") == core(new or "")
    ):
        return False
    before = aliases(ctx, "old").get(model, model)
    after = aliases(ctx, "new").get(model, model)
    digits = "".join(ch for ch in core(new or "") if ch.isdigit())
    carried = bool(digits) and digits in "".join(ch for ch in after if ch.isalnum())
    return before != after or not carried


def aliases(ctx: Context, side: str) -> dict[str, str]:
    """Alias → the id it points to, from list items of the old or new text that name an alias
    and one pinned id ("- `x-latest`: currently points to `x-2507`")."""
    key = f"aliases_{side}"
    if key not in ctx.memo:
        found: dict[str, str] = {}
        for line in ctx.new_lines if side == "new" else ctx.old_lines:
            pointed = alias_line(line)
            if pointed:
                found.setdefault(*pointed)
        ctx.memo[key] = found
    return ctx.memo[key]  # type: ignore[no-any-return]


def alias_line(line: Line) -> tuple[str, str] | None:
    """(alias, pinned id) of a list item that names an alias and the one id it points to
    ("- `x-latest`: currently points to `x-2507`")."""
    if not line.list_item or "latest" not in line.text:
        return None
    ids = [m.group("id") for m in p.MODEL_ID.finditer(normalise(line.core))]
    if len(ids) == 2 and ids[0].endswith("-latest") and not ids[1].endswith("-latest"):
        return ids[0], ids[1]
    return None


def pinned_by(ctx: Context, side: str) -> dict[str, str]:
    """Pinned id → its alias, from the tables of the old or new text whose first column names
    aliases ("| Auto-updated alias | Stable version reference |" then "| `x` | `x-001` |")."""
    key = f"pinned_by_{side}"
    if key not in ctx.memo:
        found: dict[str, str] = {}
        for table in tables_of(ctx, side):
            if len(table.header) < 2 or "alias" not in table.header[0].lower():
                continue
            for row in table.rows:
                ids = [
                    [m.group("id") for m in p.MODEL_ID.finditer(normalise(row.cell(i)))]
                    for i in (0, 1)
                ]
                if len(ids[0]) == len(ids[1]) == 1 and ids[0][0] != ids[1][0]:
                    found.setdefault(ids[1][0], ids[0][0])
        ctx.memo[key] = found
    return ctx.memo[key]  # type: ignore[no-any-return]
