"""Lifecycle facts from rows: deprecation and model tables, and feed records.

A row added with a lifecycle state or a shutdown date is a retirement; a row added with an active
model that the old page never named is a launch. In a changed row, a state that advances
(active → deprecated → retired) or a shutdown date that appears or moves earlier is a retirement;
a date moved later or withdrawn is a `retirement_change` (labelled policy_text, per the corpus
conventions); a new replacement is `replacement_changed`. A row removed and added again under
another key (a table keyed by its date) is one changed row."""

from __future__ import annotations

from typing import Any

from monitor import patterns as p
from monitor.classify import facts as f
from monitor.classify.context import Context
from monitor.classify.names import cell_models, old_model_ids
from monitor.classify.records import record_changes
from monitor.classify.tables import RowChange, Table, table_changes
from monitor.classify.text import core
from monitor.models import Finding, TextDiff


def row_changes(ctx: Context) -> list[RowChange]:
    """Every row change of the page's tables and feed records, removed+added pairs merged."""
    if "row_changes" in ctx.memo:
        return ctx.memo["row_changes"]  # type: ignore[no-any-return]
    changes = [row for table in table_changes(ctx) for row in table.rows]
    records = record_changes(ctx)
    if records is not None:
        changes += records[0]
    ctx.memo["row_changes"] = merged = _merge(changes)
    return merged


def _models(cells: dict[str, str] | None, lifecycle: bool = True) -> list[str]:
    """The row's models; a name no recogniser knows counts in a row that carries a lifecycle
    state or date, or in a table of retiring models (else any two-column table would launch)."""
    if not cells:
        return []
    names = lifecycle or any(not f.blank(cells.get(k)) for k in ("status", "shutdown"))
    return cell_models(cells, names=names)


def _merge(changes: list[RowChange]) -> list[RowChange]:
    removed = {tuple(_models(c.old)): c for c in changes if c.kind == "removed" and _models(c.old)}
    out = []
    for change in changes:
        key = tuple(_models(change.new)) if change.kind == "added" else ()
        if key and key in removed:
            before = removed.pop(key)
            change = RowChange(
                "changed",
                before.old,
                change.new,
                before.old_line,
                change.new_line,
                change.table,
                change.deprecation_table,
                change.deprecation_table and not before.deprecation_table,
            )
        out.append(change)
    kept = {id(c) for c in removed.values()}
    return [c for c in out if c.kind != "removed" or id(c) in kept]


def _fragment(change: RowChange) -> str:
    line = change.new_line or change.old_line
    if line is not None:
        return line.text
    cells = change.new or change.old or {}
    return " | ".join(f"{k}: {v}" for k, v in cells.items() if v)[:300]


def _where(ctx: Context, cells: dict[str, str], table: Table | None = None) -> dict[str, Any]:
    """Provider and surface of a record's provider field, and the row's version: part of the
    model's identity (gpt-35-turbo 0613 and 0125 are two deployable models)."""
    maker, surface = f.platform(cells.get("provider"))
    if surface is None and table is not None and table.section:
        surface = f.surface_in(table.section)  # a table under "### Vertex AI" or "### Bedrock"
    version = None if f.blank(cells.get("version")) else core(cells.get("version", ""))
    return {"provider": maker, "surface": surface, "version": version}


def _added(ctx: Context, change: RowChange, old_models: set[str]) -> list[Finding]:
    cells = change.new or {}
    status = f.state(cells.get("status"))
    shutdown = f.date_of(cells.get("shutdown"))
    deprecated = f.date_of(cells.get("deprecated"))
    found = []
    told = cells.get("description", "")  # a feed item's text: "… has been shut down"
    notice = not status and not shutdown and bool(p.RETIRE_WORDS.search(told))
    if notice and p.RETIRED_NOW.search(told):
        status = "retired"
    for model in _models(cells, change.deprecation_table or notice):
        retiring = status in ("deprecated", "legacy", "retired") or notice
        if retiring or status is None and (shutdown or change.deprecation_table):
            event = "retired" if status == "retired" else "deprecation_announced"
            fact = f.retirement(
                ctx,
                model,
                event,
                shutdown=shutdown,
                announced=deprecated.iso if deprecated else None,
                replacement_of=f.replacement(cells.get("replacement")),
                status=status,
                **_where(ctx, cells, change.table),
            )
            found.append(
                Finding(
                    "lifecycle.row_added",
                    "model_retirement",
                    f"{model}: {event.replace('_', ' ')}",
                    _fragment(change),
                    None,
                    fact.get("shutdown_date"),
                    (fact,),
                )
            )
        elif status in (None, "active") and model not in old_models:
            released = f.date_of(cells.get("released"))
            fact = f.launch(
                ctx,
                model,
                status=status,
                released=released.iso if released else None,
                retire_not_before=shutdown.iso if shutdown else None,
                **_where(ctx, cells, change.table),
            )
            found.append(
                Finding(
                    "lifecycle.row_launch",
                    "model_launch",
                    f"{model}: newly listed",
                    _fragment(change),
                    None,
                    model,
                    (fact,),
                )
            )
    return found


def _changed(ctx: Context, change: RowChange) -> list[Finding]:
    old, new = change.old or {}, change.new or {}
    before, after = f.state(old.get("status")), f.state(new.get("status"))
    old_date, new_date = f.date_of(old.get("shutdown")), f.date_of(new.get("shutdown"))
    found = []
    for model in _models(new) or _models(old):
        where = _where(ctx, new, change.table)
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
        elif new_date and not old_date:
            fact = f.retirement(ctx, model, "retirement_date_set", shutdown=new_date, **where)
        elif new_date and old_date and new_date.iso < old_date.iso:
            fact = f.retirement(
                ctx,
                model,
                "retirement_date_moved_earlier",
                shutdown=new_date,
                previous=old_date.iso,
                **where,
            )
        elif change.entered_deprecation:
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
            label = "policy_text"
            fact = f.fact(
                "retirement_change",
                model=model,
                event=event,
                **{"from": old_date.iso},
                to=new_date.iso if new_date else None,
                **where,
            )
        if fact is not None:
            reason = f"{model}: {str(fact['event']).replace('_', ' ')}"
            found.append(
                Finding(
                    f"lifecycle.row_{fact['event']}",
                    label,
                    reason,
                    _fragment(change),
                    old_date.iso if old_date else before,
                    new_date.iso if new_date else after,
                    (fact,),
                )
            )
    old_repl, new_repl = (
        f.replacement(old.get("replacement")),
        f.replacement(new.get("replacement")),
    )
    models = _models(new) or _models(old)
    if new_repl and old_repl != new_repl and models:
        fact = f.fact(
            "replacement_changed", model=", ".join(models), **{"from": old_repl}, to=new_repl
        )
        found.append(
            Finding(
                "lifecycle.replacement",
                "policy_text",
                f"replacement for {', '.join(models)} now {new_repl}",
                _fragment(change),
                old_repl,
                new_repl,
                (fact,),
            )
        )
    return found


def rule_rows(diff: TextDiff, ctx: Context) -> list[Finding]:
    """Retirements, launches and replacements read from table rows and feed records."""
    changes = row_changes(ctx)
    if not changes:
        return []
    old_models = set(old_model_ids(ctx))
    found: list[Finding] = []
    for change in changes:
        if change.kind == "added":
            found += _added(ctx, change, old_models)
        elif change.kind == "changed":
            found += _changed(ctx, change)
        elif change.table is not None and ctx.kind != "index":
            found += _removed(ctx, change)
    return found


def _removed(ctx: Context, change: RowChange) -> list[Finding]:
    """A row gone from a lifecycle table (not moved to another one): an entry removed."""
    models = _models(change.old)
    if "new_cores" not in ctx.memo:
        ctx.memo["new_cores"] = {line.core for line in ctx.new_lines}
    moved = change.old_line is not None and change.old_line.core in ctx.memo["new_cores"]
    if not models or moved or any(model in ctx.new_text for model in models):
        return []
    item = ", ".join(models)
    fact = f.fact("entry_removed", item=item)
    return [
        Finding(
            "lifecycle.row_removed", "entry_removed", f"- {item}", _fragment(change), item, None,
            (fact,),
        )
    ]  # fmt: skip
