"""A release date corrected in a table row ("June 30, 2026" → "June 23, 2026"): no lifecycle
rule reads it (it moves no retirement and lists no model), so it is wording a reader cares
about, also when the row moved to another table at the same time (the diff's changed lines
never pair the two rows)."""

from __future__ import annotations

from collections.abc import Callable

from monitor.classify import lifecycle_rows
from monitor.classify.context import Context, Line
from monitor.classify.dates import find_dates
from monitor.classify.text import core
from monitor.models import Finding


def date_corrected(old: str, new: str) -> bool:
    """A cell that is only a date, set to another day."""
    before, after = find_dates(core(old)), find_dates(core(new))
    return (
        len(before) == len(after) == 1
        and before[0].iso != after[0].iso
        and before[0].text == core(old)
        and after[0].text == core(new)
    )


def moved_rows_redated(ctx: Context, where: Callable[[Line], str]) -> list[Finding]:
    """A row that moved to another table with its release date corrected."""
    found = []
    for change in lifecycle_rows.row_changes(ctx):
        old, new = change.old or {}, change.new or {}
        if not change.moved or change.new_line is None or change.old_line is None:
            continue
        if (
            "released" in old
            and "released" in new
            and date_corrected(old["released"], new["released"])
        ):
            found.append(
                Finding(
                    "policy.row",
                    "policy_text",
                    f"released changed{where(change.new_line)}",
                    change.new_line.text,
                    change.old_line.text,
                    change.new_line.text,
                )
            )
    return found
