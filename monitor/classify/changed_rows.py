"""Lifecycle facts from a row changed or removed. In a changed row, a state that advances
(active → deprecated → retired) or a shutdown date that appears or moves earlier is a retirement;
a date moved later or withdrawn is a `retirement_change` (labelled policy_text, per the corpus
conventions); a new replacement is `replacement_changed`. A row gone from its table, not moved to
another, is an entry removed."""

from __future__ import annotations

from typing import Any

from monitor import patterns as p
from monitor.classify import facts as f
from monitor.classify import still_listed
from monitor.classify.aliases import aliases, new_version, pinned_by
from monitor.classify.context import Context
from monitor.classify.dates import DateHit
from monitor.classify.records import deprecations_feed
from monitor.classify.row_cells import (
    cell_words,
    part_moved,
    row_fragment,
    row_models,
    row_shutdown,
    row_state,
    row_where,
    stage_moved,
)
from monitor.classify.table_diff import RowChange, into_retired_section
from monitor.classify.text import core
from monitor.models import Finding


def _entered_deprecation(change: RowChange) -> bool:
    """The row moved into a table of retiring models from one under another heading
    ("Current models" → "Deprecated models"), read by the heading right above each row."""
    if change.entered_deprecation:
        return True
    old, new = change.old_line, change.new_line
    if not change.deprecation_table or old is None or new is None:
        return False
    return bool(
        new.trail
        and p.RETIRE_WORDS.search(new.trail[-1])
        and old.trail
        and old.trail[-1] != new.trail[-1]
        and not p.RETIRE_WORDS.search(old.trail[-1])
    )


def _already_a_notice(ctx: Context, change: RowChange, old_date: DateHit | None) -> bool:
    """The record said it was retiring before its deprecation date appeared: it carried a
    shutdown date, or it is an item of a feed of deprecations (each item there is a notice), so
    the date filled in is the feed's bookkeeping, not a deprecation announced."""
    return old_date is not None or change.table is None and deprecations_feed(ctx)


def changed_row_findings(ctx: Context, change: RowChange) -> list[Finding]:
    old, new = change.old or {}, change.new or {}
    before, after = row_state(old), row_state(new)
    old_date, new_date = row_shutdown(old), row_shutdown(new)
    new_date = part_moved(old_date, new) or new_date
    found = []
    for model in row_models(new) or row_models(old):
        where = row_where(ctx, new, change.table)
        advanced = after in ("deprecated", "legacy", "retired") and p.STATE_RANK.get(
            after, 0
        ) > p.STATE_RANK.get(before or "active", 0)
        fact: dict[str, Any] | None = None
        label = "model_retirement"
        if advanced:
            event = "retired" if after == "retired" else "deprecation_announced"
            fact = f.retirement(
                ctx,
                model,
                event,
                shutdown=new_date,
                replacement_of=f.replacement(new.get("replacement")),
                status_change=f"{before or 'active'} -> {after}",
                **where,
            )
        elif (
            before is None
            and after is None
            and into_retired_section(change.old_line, change.new_line)
        ):
            fact = f.retirement(  # the row moved under a heading of retired models: retired
                ctx,
                model,
                "retired",
                shutdown=new_date,
                replacement_of=f.replacement(new.get("replacement")),
                **where,
            )
        elif new_date and not old_date and after != "active":
            # an active record's date is the earliest it may retire (not before), not a shutdown
            fact = f.retirement(ctx, model, "retirement_date_set", shutdown=new_date, **where)
        elif new_date and old_date and old_date.qualifier and not new_date.qualifier:
            # "No earlier than D1" → "D2": the earliest date made a date the model retires on
            fact = f.retirement(
                ctx, model, "retirement_date_set", shutdown=new_date, previous=old_date.iso, **where
            )
        elif new_date and old_date and new_date.iso < old_date.iso:
            fact = f.retirement(
                ctx,
                model,
                "retirement_date_moved_earlier",
                shutdown=new_date,
                previous=old_date.iso,
                **where,
            )
        elif (
            f.date_of(new.get("deprecated"))
            and not f.date_of(old.get("deprecated"))
            and not _already_a_notice(ctx, change, old_date)
        ):
            deprecated_on = f.date_of(new.get("deprecated"))
            fact = f.retirement(  # a deprecation date set where there was none: deprecated
                ctx,
                model,
                "deprecation_announced",
                shutdown=None,
                announced=deprecated_on.iso if deprecated_on else None,
                replacement_of=f.replacement(new.get("replacement")),
                **where,
            )
        elif _entered_deprecation(change):
            fact = f.retirement(
                ctx,
                model,
                "deprecation_announced",
                shutdown=new_date,
                replacement_of=f.replacement(new.get("replacement")),
                **where,
            )
        elif old_date and (not new_date or new_date.iso > old_date.iso):
            event = "retirement_date_postponed" if new_date else "retirement_date_withdrawn"
            label = "new_entry" if change.left_deprecation else "policy_text"
            fact = f.retirement_change(
                ctx,
                model,
                event,
                old_date.iso,
                new_date.iso if new_date else None,
                qualifier=new_date.qualifier if new_date else None,
                **where,
            )
        elif new_version(ctx, change, model):
            label = "model_launch"
            pinned = aliases(ctx, "new").get(model, model)
            fact = f.launch(ctx, pinned, event="new_version", **where)
        if fact is not None:
            reason = f"{fact['model']}: {str(fact['event']).replace('_', ' ')}"
            was, now = before, after
            if old_date or new_date:  # the date cell as it read on each side ("TBD" → …)
                was = old_date.iso if old_date else cell_words(old.get("shutdown"))
                now = new_date.iso if new_date else cell_words(new.get("shutdown"))
            found.append(
                Finding(
                    f"lifecycle.row_{fact['event']}",
                    label,
                    reason,
                    row_fragment(change),
                    was,
                    now,
                    (fact,),
                )
            )
            found += _left_behind(change, model, label)
    moved = stage_moved(old.get("status"), new.get("status"))
    if moved and not found and (row_models(new) or row_models(old)):
        names = ", ".join(row_models(new) or row_models(old))
        found.append(
            Finding("lifecycle.row_status", "policy_text", f"{names}: status {moved[0]} → "
                    f"{moved[1]}", row_fragment(change), moved[0], moved[1])
        )  # fmt: skip
    old_repl, new_repl = (
        f.replacement(old.get("replacement")),
        f.replacement(new.get("replacement")),
    )
    models = row_models(new) or row_models(old)
    retiring = any(x.label == "model_retirement" for x in found)
    if new_repl and old_repl != new_repl and models and (old_repl or not retiring):
        # one fact per model the row names (an id and its aliases), each matched on its own
        where = row_where(ctx, new or old, change.table)
        replaced = tuple(
            f.replacement_change(ctx, model, old_repl, new_repl, **where) for model in models
        )
        found.append(
            Finding(
                "lifecycle.replacement",
                "policy_text",
                f"replacement for {', '.join(models)} now {new_repl}",
                row_fragment(change),
                old_repl,
                new_repl,
                replaced,
            )
        )
    return found


def _left_behind(change: RowChange, model: str, label: str) -> list[Finding]:
    """The row it was is gone from its table: a deprecation withdrawn (the model listed again
    among current models), or a new version listed in another table than the old one."""
    if not (change.left_deprecation and label == "new_entry") and not (
        change.moved and label == "model_launch"
    ):
        return []
    version = (change.old or {}).get("version")
    item = model if f.blank(version) else f"{model} {core(version or '')}"
    return [
        Finding(
            "lifecycle.row_left_table", "entry_removed", f"- {item}",
            change.old_line.text if change.old_line else row_fragment(change), item,
            None, (f.fact("entry_removed", item=item),),
        )
    ]  # fmt: skip


def removed_row_findings(ctx: Context, change: RowChange) -> list[Finding]:
    """A row gone from a lifecycle table (not moved to another one): an entry removed."""
    models = row_models(change.old)
    moved = change.old_line is not None and still_listed.moved(ctx, change.old_line)
    if not models or moved or any(still_listed.named_in_new(ctx, model) for model in models):
        return []
    pinned = pinned_by(ctx, "old")  # the row's id was an alias's pin: the alias lists it now
    if all(model in pinned and still_listed.named_in_new(ctx, pinned[model]) for model in models):
        return []
    item = ", ".join(models)
    fact = f.fact("entry_removed", item=item)
    return [
        Finding(
            "lifecycle.row_removed", "entry_removed", f"- {item}", row_fragment(change), item, None,
            (fact,),
        )
    ]  # fmt: skip
