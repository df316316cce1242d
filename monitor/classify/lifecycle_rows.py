"""Lifecycle facts from rows: deprecation and model tables, and feed records.

A row added with a lifecycle state or a shutdown date is a retirement; a row added with an active
model that the old page never named is a launch, and with a retirement date also a retirement. A
row removed and added again under another key (a table keyed by its date) is one changed row.
What a changed or removed row says is read in `changed_rows`; what a row's cells say, in
`row_cells`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Container
from functools import cached_property

from monitor import patterns as p
from monitor.classify import facts as f
from monitor.classify import said_before
from monitor.classify.changed_rows import changed_row_findings, removed_row_findings
from monitor.classify.context import Context
from monitor.classify.dates import DateHit
from monitor.classify.firmed import FLOORS
from monitor.classify.names import as_written, find_models, old_model_ids
from monitor.classify.records import TEXT, listed_models, record_changes
from monitor.classify.row_cells import (
    announces_release,
    only_the_replacement,
    retiring_heading,
    row_fragment,
    row_models,
    row_shutdown,
    row_state,
    row_version,
    row_where,
    served_undated,
    told_date,
)
from monitor.classify.table_diff import RowChange, into_retired_section, table_changes
from monitor.classify.tables import named, roles, tables_of
from monitor.classify.text import core
from monitor.models import Finding, TextDiff, model_key


def row_changes(ctx: Context) -> list[RowChange]:
    """Every row change of the page's tables and feed records, removed+added pairs merged."""
    if "row_changes" in ctx.memo:
        return ctx.memo["row_changes"]  # type: ignore[no-any-return]
    tables = table_changes(ctx)
    changes = [row for table in tables for row in table.rows]
    records = record_changes(ctx)
    if records is not None:
        changes += records[0]
    if not any(change.kind == "removed" for change in changes):
        ctx.memo["row_changes"] = changes  # no row removed: none to merge with one added
        return changes
    group = {id(row): index for index, table in enumerate(tables) for row in table.rows}
    ctx.memo["row_changes"] = merged = _merge(changes, group)
    return merged


def _told_before(
    ctx: Context, change: RowChange, model: str, status: str | None, shutdown: DateHit | None
) -> bool:
    """A deprecated row of a table new to the page (a status table added beside the history)
    for a model the old page already retires on the same date (its history table's row): the
    same announcement in a second table, nothing new."""
    return (
        status == "deprecated"
        and shutdown is not None
        and change.table is not None
        and id(change.table) in _new_tables(ctx)
        and said_before.dated_before(ctx, model, shutdown.iso)
    )


def _new_tables(ctx: Context) -> frozenset[int]:
    """The tables every row of which this change adds: tables new to the page."""
    if "new_tables" not in ctx.memo:
        added = Counter(id(c.table) for c in row_changes(ctx) if c.kind == "added" and c.table)
        tables = {id(c.table): c.table for c in row_changes(ctx) if c.table is not None}
        ctx.memo["new_tables"] = frozenset(
            key for key, count in added.items() if count == len(tables[key].rows)
        )
    return ctx.memo["new_tables"]  # type: ignore[no-any-return]


def _keys(cells: dict[str, str] | None) -> tuple[str, ...]:
    """The registry's keys of the models a row names: each id with the row's version."""
    version = row_version(cells or {})
    return tuple(model_key({"model": m, "version": version}) for m in row_models(cells))


def _merge(changes: list[RowChange], group: dict[int, int]) -> list[RowChange]:
    """A row removed and added again (moved to another table, or keyed by a cell that changed)
    is one changed row; `group` says which compared table each row change came from."""
    removed: dict[tuple[str, ...], list[RowChange]] = {}
    for c in changes:
        if c.kind == "removed" and row_models(c.old):
            removed.setdefault(tuple(row_models(c.old)), []).append(c)
    by_key = {_keys(left[0].old): key for key, left in removed.items() if len(left) == 1}
    out = []
    for change in changes:
        key = tuple(row_models(change.new)) if change.kind == "added" and removed else ()
        if key and not removed.get(key):  # the id's version moved into the Version cell
            key = by_key.get(_keys(change.new), key)
        if key and removed.get(key):
            before = removed[key].pop(0)
            tables = change.table is not None and before.table is not None
            change = RowChange(
                "changed",
                before.old,
                change.new,
                before.old_line,
                change.new_line,
                change.table,
                change.deprecation_table,
                tables and change.deprecation_table and not before.deprecation_table,
                tables and before.deprecation_table and not change.deprecation_table,
                tables and group.get(id(before)) != group.get(id(change)),
            )
        out.append(change)
    kept = {id(c) for left in removed.values() for c in left}
    return [c for c in out if c.kind != "removed" or id(c) in kept]


def _added(
    ctx: Context,
    change: RowChange,
    old_models: Container[str],
    relisted: frozenset[str] = frozenset(),
) -> list[Finding]:
    cells = change.new or {}
    status = row_state(cells)
    if status is None and into_retired_section(None, change.new_line):
        status = "retired"  # a row listed under "Retired models": retired, not only announced
    shutdown = row_shutdown(cells)
    deprecated = f.date_of(cells.get("deprecated"))
    found = []
    # a feed item's own words ("… has been shut down"), or its title when it has no text
    told = cells.get(TEXT) or (
        cells.get("title", "") if TEXT not in cells and change.table is None else ""
    )
    notice = not status and not shutdown and bool(p.RETIRE_WORDS.search(told))
    if notice and TEXT in cells and announces_release(told):
        notice = False  # "Released X, our updated model" under a stray "Deprecation Date:" field
    if notice and p.RETIRED_NOW.search(told):
        status = "retired"
    if notice:
        shutdown = told_date(told)
    models = row_models(cells, change.deprecation_table or notice)
    if notice:  # "GPT-4 (0613) shutdown on …" linking to …#gpt-4-0613: the id as written
        models = as_written(models, [v for k, v in cells.items() if k != "model"])
        models = [m for m in models if not only_the_replacement(m, told)]
    models = [_told_apart(ctx, change, model) for model in models]
    served = served_undated(status, cells)
    for model in models:
        retiring = status in ("deprecated", "legacy", "retired") and not served or notice
        listed = (
            change.new_line is not None
            and change.new_line.trail[-1:]
            and not retiring_heading(change.new_line.trail[-1])
        )  # among current models, not under a heading about retirement
        moved = _split_out(ctx, model, cells, shutdown) if listed and not retiring else None
        if moved is not None:
            found += moved
            continue
        # an active row with a retirement date says two things: the model is listed, and when
        # it retires; the registry needs the date for a model that is new to the page too
        scheduled = (
            (status == "active" or status is None and listed and _served_until(cells, shutdown))
            and shutdown is not None
            and model not in relisted
        )
        if _told_before(ctx, change, model, status, shutdown):
            continue
        if retiring or scheduled or status is None and (shutdown or change.deprecation_table):
            event = (
                "retired"
                if status == "retired"
                else "retirement_date_set"
                if scheduled
                else "deprecation_announced"
            )
            fact = f.retirement(
                ctx,
                model,
                event,
                shutdown=shutdown,
                announced=deprecated.iso if deprecated else None,
                replacement_of=f.replacement(cells.get("replacement")),
                status=status,
                **row_where(ctx, cells, change.table),
            )
            found.append(
                Finding(
                    "lifecycle.row_added",
                    "model_retirement",
                    f"{model}: {event.replace('_', ' ')}",
                    row_fragment(change),
                    None,
                    fact.get("shutdown_date"),
                    (fact,),
                )
            )
        if (
            (scheduled or not retiring and (status in (None, "active") or served) and not shutdown)
            and not (status is None and change.deprecation_table)
            and model not in old_models
            and model not in relisted
            # the old row's id spelled with its version: the same model, moved into the Version cell
            and model_key({"model": model, "version": cells.get("version")}) not in old_models
        ):
            released = f.date_of(cells.get("released"))
            fact = f.launch(
                ctx,
                model,
                status=status,
                released=released.iso if released else None,
                retire_not_before=shutdown.iso if shutdown else None,
                **row_where(ctx, cells, change.table),
            )
            found.append(
                Finding(
                    "lifecycle.row_launch",
                    "model_launch",
                    f"{model}: newly listed",
                    row_fragment(change),
                    None,
                    model,
                    (fact,),
                )
            )
    return found


def _served_until(cells: dict[str, str], shutdown: DateHit | None) -> bool:
    """A row with no state that gives the model's release date and a retirement date no earlier
    than a day ("May 19, 2027 or later"): a model released and served at least that long, as a
    row whose state says active (a schedule of retirements gives no release date)."""
    released = f.date_of(cells.get("released"))
    return released is not None and shutdown is not None and shutdown.qualifier in FLOORS


_WORD = re.compile(r"[a-z0-9.]+")


def _told_apart(ctx: Context, change: RowChange, model: str) -> str:
    """Two rows of one table that read as one model are two models ("Claude Sonnet 3.7" and
    "Claude Sonnet 3.7 Thinking", "Claude Opus 4.6" and "Claude Opus 4.6 (fast mode)
    (preview)"): the words a row's name cell adds after the name read are part of its id."""
    cell, table = core((change.new or {}).get("model", "")), change.table  # offsets kept
    hits = find_models(cell)
    added = _WORD.findall(cell[hits[-1].end :].lower()) if hits else []
    if table is None or not added:
        return model
    key = f"models_per_row:{id(table)}"
    if key not in ctx.memo:  # once per table: how many of its rows read as each model
        ctx.memo[key] = Counter(m for row in table.rows for m in row_models(named(table, row)))
    return "-".join([model, *added]) if ctx.memo[key][model] > 1 else model


def _old_versioned_dates(ctx: Context) -> dict[tuple[str, str], DateHit]:
    """(model, version) → the shutdown date an old table's row gave it, over the old tables
    with a Version column (computed once per context)."""
    if "old_versioned_dates" not in ctx.memo:
        out: dict[tuple[str, str], DateHit] = {}
        for table in tables_of(ctx, "old"):
            if "version" not in roles(table.header).values():
                continue
            for row in table.rows:
                cells = named(table, row)
                date, version = row_shutdown(cells), row_where(ctx, cells)["version"]
                if date is not None and version:
                    for model in row_models(cells):
                        out.setdefault((model, version), date)
        ctx.memo["old_versioned_dates"] = out
    return ctx.memo["old_versioned_dates"]  # type: ignore[no-any-return]


def _split_out(
    ctx: Context, model: str, cells: dict[str, str], shutdown: DateHit | None
) -> list[Finding] | None:
    """A row added for a model and version an old row listed with a date (a model split out of
    a two-model row onto a row of its own): the date moved, or nothing when it did not; None
    when no old row gave that model and version a date."""
    version = row_where(ctx, cells)["version"]
    if shutdown is None or not version or (model, version) not in _old_versioned_dates(ctx):
        return None
    before = _old_versioned_dates(ctx)[(model, version)]
    if shutdown.iso <= before.iso:
        return None if shutdown.iso < before.iso else []
    fact = f.retirement_change(
        ctx, model, "retirement_date_postponed", before.iso, shutdown.iso, **row_where(ctx, cells)
    )
    reason = f"{model}: retirement date postponed"
    return [Finding("lifecycle.row_split_out", "policy_text", reason, model, before.iso,
                    shutdown.iso, (fact,))]  # fmt: skip


def rule_rows(diff: TextDiff, ctx: Context) -> list[Finding]:
    """Retirements, launches and replacements read from table rows and feed records."""
    return list(row_findings(ctx))


def row_findings(ctx: Context) -> tuple[Finding, ...]:
    """What `rule_rows` finds, computed once per context (other rules ask which models it
    covers)."""
    if "row_findings" in ctx.memo:
        return ctx.memo["row_findings"]  # type: ignore[no-any-return]
    changes = row_changes(ctx)
    listed = listed_models(ctx) if changes else None  # a feed: the models its old records list
    found: list[Finding] = []
    old_models = _OldModels(ctx, listed)
    relisted = _relisted(changes)
    for change in changes:
        if change.kind == "added":
            found += _added(ctx, change, old_models, relisted)
        elif change.kind == "changed":
            found += changed_row_findings(ctx, change)
        elif change.table is not None and ctx.kind != "index":
            found += removed_row_findings(ctx, change)
    ctx.memo["row_findings"] = result = tuple(found)
    return result


class _OldModels:
    """The models the old text names (a feed: its records list), read when a row first asks:
    only an added row that is not retiring does."""

    def __init__(self, ctx: Context, listed: set[str] | None) -> None:
        self.ctx, self.listed = ctx, listed

    @cached_property
    def models(self) -> Container[str]:
        return old_model_ids(self.ctx) if self.listed is None else self.listed

    def __contains__(self, model: object) -> bool:
        return model in self.models


def _relisted(changes: list[RowChange]) -> frozenset[str]:
    """The models of active records added in the same update as already-retired records of the
    same provider: that provider's list published (again), not launches. A model a record that
    stays newly names as its replacement is still new."""
    added = [c.new for c in changes if c.kind == "added" and c.new and c.new.get("provider")]
    providers = {cells["provider"] for cells in added if row_state(cells) == "retired"}
    if not providers:
        return frozenset()
    pointed_to = {
        f.replacement(c.new.get("replacement"))
        for c in changes
        if c.kind == "changed"
        and c.new
        and c.old
        and c.new.get("replacement") != c.old.get("replacement")
    }
    return frozenset(
        model
        for cells in added
        if cells["provider"] in providers and row_state(cells) in (None, "active")
        for model in row_models(cells)
        if model not in pointed_to
    )
